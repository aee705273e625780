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

setFlagsFromString('--no-concurrent-array-buffer-sweeping')

// The young generation (new space) grows by a factor after a scavenge that kept much of it (2 is
// V8's default). While the modules load, almost everything allocated survives, so by default the
// semi-spaces grew from 1 to 16 MiB during start-up and stayed so until V8's memory reducer ran,
// 10-20 s later if the process was idle (issue 21: an idle relay or client was 12 MiB larger from
// it). Start-up runs without growth; startedUp() lets it grow under load up to a cap
// (young-generation.ts: a larger young generation lets more dead read and cipher buffers pile up
// between scavenges).
setFlagsFromString('--semi-space-growth-factor=1')

/** The command has started (modules loaded, config read, listening): the young generation may grow again, up to its cap. */
export function startedUp (): void {
  capYoungGeneration()
  if (optimizerHeld) setFlagsFromString('--turbofan')
}

// TurboFan, V8's optimizing compiler, is off while a relay or a client starts. Loading the modules
// and checking the config run a few functions hot enough for V8 to optimize them, and the first
// optimization pulls the compiler's own code (pages of the node binary, about 4 MiB) and its output
// into the process for good: an idle relay or client that never runs anything hot again kept them
// (issue 21). startedUp() turns it back on, so under load code is optimized as before; start-up
// runs in V8's interpreter and baseline compiler (Sparkplug). Only `tunnel server` and `tunnel
// client` call startedUp(); every other command keeps TurboFan from its first line.
// Not held for now: merged with the young-generation cap (young-generation.ts), a websocket client
// behind nginx no longer logged in (test/e2e/transports-debian.test.ts, "after the relay behind
// nginx restarts"); each change alone passes it. Until that is understood the set is empty.
const COMMANDS_THAT_START_UP: ReadonlySet<string> = new Set([])
const optimizerHeld = COMMANDS_THAT_START_UP.has(process.argv[2] ?? '')
if (optimizerHeld) setFlagsFromString('--no-turbofan')
