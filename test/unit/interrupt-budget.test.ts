// The interrupt budget the relay and the client start with (cli/v8-tuning.ts, issue 21): larger
// than V8's while they start, V8's own once started, and never for other commands or when node's
// arguments set one.
import { spawnSync } from 'node:child_process'
import { describe, expect, it } from 'vitest'
import { interruptBudgetFlags, START_UP_INTERRUPT_BUDGET_BYTES, V8_DEFAULT_INTERRUPT_BUDGET_BYTES } from '../../cli/interrupt-budget.js'

describe('the start-up interrupt budget', () => {
  it('is V8\'s own default once started, as this node reports it', () => {
    const options = spawnSync(process.execPath, ['--v8-options'], { encoding: 'utf8' }).stdout
    expect(/--interrupt-budget \(.*\)\n\s+type: int\s+default: --interrupt-budget=(\d+)/.exec(options)?.[1]).toBe(String(V8_DEFAULT_INTERRUPT_BUDGET_BYTES))
    expect(START_UP_INTERRUPT_BUDGET_BYTES).toBeGreaterThan(V8_DEFAULT_INTERRUPT_BUDGET_BYTES)
  })

  it('applies to `server` and `client` only (the first word that is not an option)', () => {
    const flags = { startUp: `--interrupt-budget=${START_UP_INTERRUPT_BUDGET_BYTES}`, running: `--interrupt-budget=${V8_DEFAULT_INTERRUPT_BUDGET_BYTES}` }
    expect(interruptBudgetFlags(['server', '-c', 'frps.yml'], [])).toEqual(flags)
    expect(interruptBudgetFlags(['client', '--log-level', 'info', '-c', 'frpc.yml'], ['--max-old-space-size=100'])).toEqual(flags)
    expect(interruptBudgetFlags(['verify', '-c', 'server'], [])).toBeUndefined()
    for (const args of [['bench', 'tcp'], ['verify', '-c', 'x.yml'], ['demo'], ['--help'], []]) expect(interruptBudgetFlags(args, [])).toBeUndefined()
  })

  it('leaves a budget given in node\'s own arguments or NODE_OPTIONS alone', () => {
    expect(interruptBudgetFlags(['server'], ['--interrupt-budget=1000'])).toBeUndefined()
    expect(interruptBudgetFlags(['client'], ['--interrupt_budget=1000'])).toBeUndefined()
  })
})
