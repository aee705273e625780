// The young generation's cap under load (cli/young-generation.ts, issue 21): after every GC the
// growth factor is set so that one more growth stays within the cap, and growth comes back when
// V8 has shrunk the young generation. V8 is modelled here: the heap statistics and the flag are
// injected, and a "GC" grows the young generation by whatever factor is in force, as V8 does
// after a scavenge that kept much of it.
import { describe, expect, it } from 'vitest'
import { capYoungGeneration, growthFactorFor, LATE_GROWTHS, NO_GROWTH_FACTOR, SEMI_SPACE_GROWTH_FACTOR, YOUNG_GENERATION_CAP_BYTES } from '../../cli/young-generation.js'

const MIB = 1024 * 1024
/** V8's young generation in this CLI at start-up: two 1 MiB semi-spaces. */
const START_BYTES = 2 * MIB
/** V8's own ceiling on 64-bit Node 20: two 16 MiB semi-spaces. */
const V8_MAX_BYTES = 32 * MIB
const GCS = 50

/** A young generation that grows by the flag's factor at every GC, up to V8's own maximum. */
function modelV8 (startBytes = START_BYTES): { size: number, factor: number, gc: () => void } {
  const model = {
    size: startBytes,
    factor: SEMI_SPACE_GROWTH_FACTOR,
    gc () { model.size = Math.min(V8_MAX_BYTES, model.size * model.factor) },
  }
  return model
}

describe('the growth factor after a GC', () => {
  it('lets the young generation grow while the next growth and a late one stay within the cap', () => {
    expect(LATE_GROWTHS).toBe(1)
    expect(growthFactorFor(2 * MIB, 8 * MIB)).toBe(SEMI_SPACE_GROWTH_FACTOR)
    expect(growthFactorFor(1 * MIB, 8 * MIB)).toBe(SEMI_SPACE_GROWTH_FACTOR)
  })

  it('stops growth when a growth, or a late second one, could pass the cap', () => {
    expect(growthFactorFor(4 * MIB, 8 * MIB)).toBe(NO_GROWTH_FACTOR)
    expect(growthFactorFor(8 * MIB, 8 * MIB)).toBe(NO_GROWTH_FACTOR)
    expect(growthFactorFor(3 * MIB, 8 * MIB)).toBe(NO_GROWTH_FACTOR)
    expect(growthFactorFor(16 * MIB, 8 * MIB)).toBe(NO_GROWTH_FACTOR)
  })

  it('stops growth when V8 reports no young generation size', () => {
    expect(growthFactorFor(Number.NaN, 8 * MIB)).toBe(NO_GROWTH_FACTOR)
    expect(growthFactorFor(0, 8 * MIB)).toBe(NO_GROWTH_FACTOR)
  })
})

describe('the young generation under load', () => {
  for (const capMiB of [2, 4, 8, 16]) {
    for (const gcsPerDecision of [1, 1 + LATE_GROWTHS]) {
      it(`never passes a cap of ${capMiB} MiB over ${GCS} growing GCs, with ${gcsPerDecision} GC(s) before each decision`, () => {
        const v8 = modelV8()
        const cap = capYoungGeneration({ capBytes: capMiB * MIB, readNewSpace: () => v8.size, setFactor: (f) => { v8.factor = f } }, false)
        let largest = v8.size
        for (let i = 0; i < GCS; i++) {
          for (let g = 0; g < gcsPerDecision; g++) v8.gc()
          cap.decide()
          largest = Math.max(largest, v8.size)
        }
        expect(largest).toBeLessThanOrEqual(capMiB * MIB)
        // It grows when the cap leaves room: to at least half of it.
        if (capMiB * MIB >= START_BYTES * SEMI_SPACE_GROWTH_FACTOR ** (1 + LATE_GROWTHS)) expect(largest).toBeGreaterThanOrEqual(capMiB * MIB / 2)
        else expect(largest).toBe(START_BYTES)
        expect(v8.factor).toBe(NO_GROWTH_FACTOR)
        // Set once to stop growth at the cap (and once before, to allow it, when there was room).
        expect(cap.changes).toBeLessThanOrEqual(2)
      })
    }
  }

  it('gives growth back when V8 has shrunk the young generation below the cap', () => {
    const v8 = modelV8()
    const cap = capYoungGeneration({ capBytes: 16 * MIB, readNewSpace: () => v8.size, setFactor: (f) => { v8.factor = f } }, false)
    for (let i = 0; i < 5; i++) { v8.gc(); cap.decide() }
    expect(v8.size).toBe(8 * MIB)
    expect(v8.factor).toBe(NO_GROWTH_FACTOR)
    // V8's memory reducer shrinks the idle young generation; the next GC under load may grow it again.
    v8.size = START_BYTES
    cap.decide()
    expect(v8.factor).toBe(SEMI_SPACE_GROWTH_FACTOR)
    for (let i = 0; i < 5; i++) { v8.gc(); cap.decide() }
    expect(v8.size).toBe(8 * MIB)
  })

  it('without the cap (the factor V8 starts with) the same load grows the young generation to V8\'s maximum', () => {
    // The control for the tests above: the model grows past every cap when nothing decides.
    const v8 = modelV8()
    for (let i = 0; i < GCS; i++) v8.gc()
    expect(v8.size).toBe(V8_MAX_BYTES)
  })

  it('by default holds the young generation at the size the CLI starts with', () => {
    const v8 = modelV8()
    const cap = capYoungGeneration({ readNewSpace: () => v8.size, setFactor: (f) => { v8.factor = f } }, false)
    for (let i = 0; i < GCS; i++) { v8.gc(); v8.gc(); cap.decide() }
    expect(YOUNG_GENERATION_CAP_BYTES).toBe(START_BYTES)
    expect(v8.size).toBe(START_BYTES)
  })

  it('watches the GCs only when the cap leaves the young generation room to grow from where it starts', () => {
    const v8 = modelV8()
    const held = capYoungGeneration({ readNewSpace: () => v8.size, setFactor: (f) => { v8.factor = f } })
    expect(held.watching).toBe(false)
    expect(held.factor).toBe(NO_GROWTH_FACTOR)
    held.stop()
    const roomy = capYoungGeneration({ capBytes: 64 * START_BYTES, readNewSpace: () => v8.size, setFactor: (f) => { v8.factor = f } })
    expect(roomy.watching).toBe(true)
    roomy.stop()
  })
})
