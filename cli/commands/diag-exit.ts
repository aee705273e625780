/** Exit code of `tunnel diag --strict` (and its subcommands) when a finding should be fixed. */
export const FINDINGS_EXIT_CODE = 3
