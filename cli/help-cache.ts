// yargs lays out the running command's whole help text right after it calls the command's handler
// and keeps it (yargs' command runner calls its usage object's cacheHelpMessage), so that a help
// screen the handler asks for later shows that command's help. The CLI never asks: usage errors
// are found before the handler runs and print one line (program.ts's fail handler, which never
// prints help), `--help` is answered before any handler, and no command calls showHelp. But laying
// the help out measures every word of the descriptions and epilogues with string-width, enough
// calls that V8's optimizing compiler wakes for string-width's functions while a relay or client
// starts and pulls its code into the process for good (issue 21: about 4 MiB of an idle process's
// RSS). So the CLI turns that caching off. Nothing else in yargs reads the cache unless it is set.

/** The part of a yargs instance this reaches: internal methods yargs keeps on every instance. */
interface WithUsage {
  getInternalMethods?: () => { getUsageInstance?: () => { cacheHelpMessage?: () => void } }
}

/**
 * Stops yargs from laying out a command's help when it runs the command. Returns whether it could
 * (false when a yargs version no longer has the method: everything still works, the help is just
 * laid out as before).
 */
export function skipHelpCache (cli: object): boolean {
  const internal = (cli as WithUsage).getInternalMethods
  if (typeof internal !== 'function') return false
  const usage = internal.call(cli).getUsageInstance?.()
  if (usage === undefined || typeof usage.cacheHelpMessage !== 'function') return false
  usage.cacheHelpMessage = () => {}
  return true
}
