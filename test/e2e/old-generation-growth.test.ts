// Issue 21, fifth round (memory under load): once a command has started, dead objects promoted to
// the old generation (a connection's objects outlive the 2 MiB young generation) are collected
// when the old generation has grown by a small step over what is live, where V8 by itself lets it
// grow to up to four times the live heap. Run in a fresh node with the built V8 settings: a live
// heap of small objects, then a churn of short-lived objects that survive a few scavenges, bounded
// in rounds.
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { E2E_TEST_TIMEOUT_MS } from '../helpers/cli.js'

const run = promisify(execFile)
const dist = (rel: string): string => fileURLToPath(new URL(`../../dist/${rel}`, import.meta.url))

/** Small objects kept for the whole run: a live heap of about 20 MiB, like a relay's under load. */
const RETAINED_OBJECTS = 150_000
/** Rounds of the churn, each one task making OBJECTS_PER_ROUND objects that live for WINDOW_ROUNDS rounds. */
const ROUNDS = 3000
const OBJECTS_PER_ROUND = 200
const WINDOW_ROUNDS = 20
const MIB = 1024 * 1024
/** Between what the limit allows (live heap + V8's 8 MiB step, about 35 MiB here) and V8's own factor of up to 4 (over 100 MiB). */
const BOUND_BYTES = 64 * MIB

/** The largest old space (bytes) seen in a fresh node under the churn after startedUp(); `limited: false` puts V8's own growth back. */
async function largestOldSpace (limited: boolean): Promise<number> {
  const script = [
    "import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8'",
    `const { startedUp } = await import(${JSON.stringify(dist('cli/v8-tuning.js'))})`,
    'startedUp()',
    limited ? '' : "setFlagsFromString('--heap-growing-percent=0')",
    "const size = () => getHeapSpaceStatistics().find((s) => s.space_name === 'old_space').space_size",
    'const retained = []',
    `for (let i = 0; i < ${RETAINED_OBJECTS}; i++) retained.push({ i, s: 'r' + i, a: [i] })`,
    'let largest = size()',
    'const window = []',
    `for (let round = 0; round < ${ROUNDS}; round++) {`,
    '  const batch = []',
    `  for (let i = 0; i < ${OBJECTS_PER_ROUND}; i++) batch.push({ round, i, a: [i, i + 1, i + 2], s: 'x' + i, m: new Map([[i, { round }]]) })`,
    '  window.push(batch)',
    `  if (window.length > ${WINDOW_ROUNDS}) window.shift()`,
    '  await new Promise((resolve) => setImmediate(resolve))',
    '  largest = Math.max(largest, size())',
    '}',
    'console.log(JSON.stringify({ largest, kept: retained.length }))',
  ].join('\n')
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { timeout: E2E_TEST_TIMEOUT_MS })
  const out = JSON.parse(stdout) as { largest: number, kept: number }
  expect(out.kept).toBe(RETAINED_OBJECTS)
  return out.largest
}

describe('the old generation of a started command', { timeout: E2E_TEST_TIMEOUT_MS }, () => {
  it('is collected before dead promoted objects grow it far past the live heap', async () => {
    expect(await largestOldSpace(true)).toBeLessThan(BOUND_BYTES)
  })

  it('grows to several times the live heap under the same churn with V8 growing it by itself (the control)', async () => {
    expect(await largestOldSpace(false)).toBeGreaterThan(BOUND_BYTES)
  })
})
