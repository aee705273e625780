// The interrupt budget the CLI starts with and the one it runs with (v8-tuning.ts explains why).

/** V8's own --interrupt-budget in node 20 (V8 11.3), bytes of bytecode; a test checks it against `node --v8-options`. */
export const V8_DEFAULT_INTERRUPT_BUDGET_BYTES = 67_584
/** The budget while the modules load and the config is read: 16 times V8's. */
export const START_UP_INTERRUPT_BUDGET_BYTES = 16 * V8_DEFAULT_INTERRUPT_BUDGET_BYTES

/** The commands that run as daemons and call startedUp(): only they start with the larger budget. */
const DAEMONS: ReadonlySet<string> = new Set(['server', 'client'])

/**
 * The two flags to set (at start, and once started), or undefined when the command is not a relay
 * or a client (`args`: the CLI's own arguments; its first word is the command), or when node's own
 * arguments (`execArgv`, NODE_OPTIONS) already set the budget: then the user's choice stands.
 */
export function interruptBudgetFlags (args: readonly string[], nodeArgs: readonly string[]): { startUp: string, running: string } | undefined {
  const command = args.find((a) => !a.startsWith('-'))
  if (command === undefined || !DAEMONS.has(command)) return undefined
  if (nodeArgs.some((a) => /^--interrupt[-_]budget(=|$)/.test(a))) return undefined
  return { startUp: `--interrupt-budget=${START_UP_INTERRUPT_BUDGET_BYTES}`, running: `--interrupt-budget=${V8_DEFAULT_INTERRUPT_BUDGET_BYTES}` }
}
