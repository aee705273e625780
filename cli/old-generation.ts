// How far V8 lets the old generation grow between full collections, once a command has started
// (issue 21, memory under load, fifth round).
//
// With the young generation held at 2 MiB (young-generation.ts), the objects of a connection (its
// socket, handle, mux stream, timers, closures) outlive two scavenges and are promoted to the old
// generation, where they stay, dead, until the next mark-compact. V8 schedules that by a growing
// factor of the live heap it found at the last one, up to 4 on a machine with much memory: with
// a live heap of 11-13 MiB, the next full collection came at 45-52 MiB of old space. In a bench run
// where the same relay and client go through connection churn (httpclose, wrkclose), the vhost
// and 2,000 idle visitors one after another, that dead old space was 30-35 MiB of each process's
// RSS maximum. A fixed factor of 1.3 brings the next full collection to the live heap plus V8's
// minimum step (8 MiB) and the young generation, about 10 MiB above what is live; measured in
// docs/bench.md ("Issue 21, fifth round").
import { setFlagsFromString } from 'node:v8'

/**
 * The old generation may grow by this percentage of the live heap (found by the last full
 * collection) before the next full collection: V8's factor 1 + percent / 100, in place of its own
 * factor of up to 4. Below about 27 MiB live, V8's minimum step of 8 MiB is larger, and wins.
 */
export const OLD_GENERATION_GROWTH_PERCENT = 30

/**
 * Sets the old generation's growth; returns the flag set. V8 reads it each time it sets the limit
 * of the next full collection, so it holds from then on without a restart.
 */
export function limitOldGenerationGrowth (
  percent: number = OLD_GENERATION_GROWTH_PERCENT,
  setFlag: (flag: string) => void = setFlagsFromString,
): string {
  const flag = `--heap-growing-percent=${percent}`
  setFlag(flag)
  return flag
}
