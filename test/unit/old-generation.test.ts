// The old generation's growth between full collections once a command has started
// (cli/old-generation.ts, issue 21 fifth round): V8's flag is set to a small fixed factor.
import { describe, expect, it } from 'vitest'
import { limitOldGenerationGrowth, OLD_GENERATION_GROWTH_PERCENT } from '../../cli/old-generation.js'

describe('the old generation growth limit', () => {
  it('sets V8 growing the old generation by a third at most between full collections', () => {
    const flags: string[] = []
    const flag = limitOldGenerationGrowth(undefined, (f) => { flags.push(f) })
    expect(OLD_GENERATION_GROWTH_PERCENT).toBe(30)
    expect(flags).toEqual(['--heap-growing-percent=30'])
    expect(flag).toBe('--heap-growing-percent=30')
  })

  it('sets the percentage it is given', () => {
    const flags: string[] = []
    limitOldGenerationGrowth(50, (f) => { flags.push(f) })
    expect(flags).toEqual(['--heap-growing-percent=50'])
  })
})
