// A cap on V8's young generation (new space) for the load (issue 21, memory under load).
//
// Node allocates every socket read and every cipher output as a fresh ArrayBuffer outside the JS
// heap; a dead one is freed only by the next scavenge, and a scavenge comes when the young
// generation is full of small JS objects, of which a tunnelled 64 KiB carries a few KiB. So the
// larger the young generation, the more dead 64 KiB buffers pile up between scavenges, and glibc
// keeps the pages of that peak (for the process's life, or until the top of its heap is free). V8 grows the semi-spaces from 1 to
// 16 MiB under load by default (--semi-space-growth-factor=2), and reads --max-semi-space-size only
// when the isolate starts, but it reads the growth factor at every growth: so after each GC the
// cap below sets the factor to 1 once a growth could pass the cap, and back to 2 when V8 has shrunk
// the young generation well below it. Measured in docs/bench.md ("Issue 21, fourth round").
import { setFlagsFromString, getHeapSpaceStatistics } from 'node:v8'
import type { PerformanceObserver } from 'node:perf_hooks'
import { nodePerfHooks } from '../shared/lazy-builtins.js'

/**
 * The young generation (both semi-spaces, as V8's new_space space_size counts it) may grow up to
 * this many bytes under load. 2 MiB is the size the CLI starts with (two 1 MiB semi-spaces), so
 * under load it does not grow at all: measured against 4, 8 and V8's own growth, the smallest
 * young generation gave the lowest peak (relay 100-104 MiB against 111-114, client 88-90 against
 * 110-111) at the same throughput and CPU per byte within the machine's noise (docs/bench.md).
 */
export const YOUNG_GENERATION_CAP_BYTES = 2 * 1024 * 1024
/** V8's default growth factor of the young generation, given back while under the cap. */
export const SEMI_SPACE_GROWTH_FACTOR = 2
/** The factor that stops growth. */
export const NO_GROWTH_FACTOR = 1

/**
 * Growths the cap leaves room for beyond the next one: the GC observer runs after the task in which
 * the GC came, and a long task may see one more scavenge (and growth) before the factor is set.
 */
export const LATE_GROWTHS = 1

/**
 * The growth factor to set after a GC that left the young generation at `newSpaceBytes`: growth only
 * while the next growth, and one more before the observer runs again, stay within `capBytes`.
 */
export function growthFactorFor (newSpaceBytes: number, capBytes: number): number {
  if (!Number.isFinite(newSpaceBytes) || newSpaceBytes <= 0) return NO_GROWTH_FACTOR
  return newSpaceBytes * SEMI_SPACE_GROWTH_FACTOR ** (1 + LATE_GROWTHS) <= capBytes ? SEMI_SPACE_GROWTH_FACTOR : NO_GROWTH_FACTOR
}

/** Bytes V8 has committed to the young generation (space_size of new_space); NaN if not reported. */
export function readNewSpaceBytes (): number {
  for (const s of getHeapSpaceStatistics()) {
    if (s.space_name === 'new_space') return s.space_size
  }
  return NaN
}

export interface YoungGenerationCapOptions {
  capBytes?: number
  /** Injected in tests: the young generation's committed size now. */
  readNewSpace?: () => number
  /** Injected in tests: applies a growth factor (default: the V8 flag). */
  setFactor?: (factor: number) => void
}

/** A running cap: decide() is what runs after every GC; stop() ends the watching. */
export interface YoungGenerationCap {
  /** Reads the young generation and sets the factor if it changes; returns the factor in force. */
  decide: () => number
  /** The factor in force now. */
  readonly factor: number
  /** How many times the factor was changed (for tests and diagnostics). */
  readonly changes: number
  /** Whether GCs are watched: not when the cap leaves no room to grow from where it started. */
  readonly watching: boolean
  stop: () => void
}

/** Applies the cap now and after every GC. Without `watch`, only decide() applies it (tests). */
export function capYoungGeneration (options: YoungGenerationCapOptions = {}, watch = true): YoungGenerationCap {
  const capBytes = options.capBytes ?? YOUNG_GENERATION_CAP_BYTES
  const readNewSpace = options.readNewSpace ?? readNewSpaceBytes
  const setFactor = options.setFactor ?? ((f: number) => { setFlagsFromString(`--semi-space-growth-factor=${f}`) })
  let factor = 0
  let changes = 0
  const decide = (): number => {
    const next = growthFactorFor(readNewSpace(), capBytes)
    if (next !== factor) {
      factor = next
      changes++
      setFactor(next)
    }
    return factor
  }
  decide()
  // Growth is held off from the start (v8-tuning.ts), so the young generation is now at the size
  // V8 started it with, the least it ever shrinks to. When the cap leaves no room to grow even from
  // there (the default cap is that size), no GC can change the decision: nothing watches the GCs,
  // and node's performance hooks are not loaded for it (issue 21, idle memory).
  const mayGrow = factor !== NO_GROWTH_FACTOR
  let observer: PerformanceObserver | undefined
  if (watch && mayGrow) {
    observer = new (nodePerfHooks().PerformanceObserver)(() => { decide() })
    observer.observe({ entryTypes: ['gc'] })
  }
  return {
    decide,
    get factor () { return factor },
    get changes () { return changes },
    watching: observer !== undefined,
    stop: () => { observer?.disconnect() },
  }
}
