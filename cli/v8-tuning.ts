// V8 settings for a byte-moving daemon, applied before anything else runs.
//
// Every socket read allocates a fresh 64 KiB ArrayBuffer. With V8's default concurrent
// ArrayBuffer sweeping, the freed backing stores are released late, external memory climbs
// and V8 answers with a full mark-compact every ~50 ms ("GC in old space requested"): about a
// third of the relay's CPU at full load. Sweeping them on the main thread during the scavenge
// releases them at once. Measured with iperf3 through relay + client on loopback: 50-60
// mark-compacts per 3 s down to 1, relay+client CPU 2.3 -> 1.3 ns/B, throughput 5 -> 8-9 Gbit/s.
import { setFlagsFromString } from 'node:v8'
import { capYoungGeneration } from './young-generation.js'
import { limitOldGenerationGrowth } from './old-generation.js'
import { interruptBudgetFlags } from './interrupt-budget.js'

setFlagsFromString('--no-concurrent-array-buffer-sweeping')

// The young generation (new space) grows by a factor after a scavenge that kept much of it (2 is
// V8's default). While the modules load, almost everything allocated survives, so by default the
// semi-spaces grew from 1 to 16 MiB during start-up and stayed so until V8's memory reducer ran,
// 10-20 s later if the process was idle (issue 21: an idle relay or client was 12 MiB larger from
// it). Start-up runs without growth; startedUp() lets it grow under load up to a cap
// (young-generation.ts: a larger young generation lets more dead read and cipher buffers pile up
// between scavenges).
setFlagsFromString('--semi-space-growth-factor=1')

// V8 sends a function to its optimizing compiler (TurboFan) once it has run its interrupt budget
// of bytecode a few times over, and the first optimization pulls the compiler's code (about 4 MiB
// of the node binary) and its memory into the process for good. Nothing is hot in an idle relay or
// client, but start-up is: zod runs its schema constructor some 10,000 times while the config's
// and the control messages' schemas are built, about four times what V8's default budget allows
// (issue 21, idle memory: docs/bench.md, "fifth round"). So start-up runs with a budget 16 times
// larger, and startedUp() gives V8 its default back: kept for the whole run, the large budget cost
// 10-30 % more CPU per round trip and per new connection under load (functions reached TurboFan,
// and came back to it after a deoptimization, that much later). The budget only paces when V8
// looks at a function's heat; the compiler itself is never switched (see the note at the end).
// Only `server` and `client` (they call startedUp()); a budget given on node's command line is left alone.

const budget = interruptBudgetFlags(process.argv.slice(2), [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)])
if (budget !== undefined) setFlagsFromString(budget.startUp)

/**
 * The command has started (modules loaded, config read, listening): the young generation may grow
 * again, up to its cap, and the old generation grows by a small factor between full collections.
 */
export function startedUp (): void {
  if (budget !== undefined) setFlagsFromString(budget.running)
  capYoungGeneration()
  limitOldGenerationGrowth()
}

// Not done here: holding TurboFan (V8's optimizing compiler) off until startedUp() saved an idle
// relay or client about 5 MiB (its first optimization pulls the compiler's code into the process),
// but switching the compiler off and on at run time is what node's docs call unpredictable, and
// with the young-generation cap a websocket client behind nginx failed to log in in one helper's
// runs (docs/bench.md, "Issue 21, fourth round: idle memory"). Compiler flags stay as node sets them.
