// `tunnel reload -c frpc.yml | --admin URL`: asks a running client to re-read its config file
// (POST /api/reload) and prints what it added, removed and changed, or why it refused.
// Exit 0 applied; 1 not reachable; 2 refused (invalid file, or no reload in that process);
// 3 applied in part (a proxy the relay refused or did not answer).
import type { CommandModule } from 'yargs'
import { postReload } from '../../shared/admin/queries.js'
import { formatReloadOutcome, isPartial } from '../../shared/admin/reload.js'

/** The new proxy list is in force, but some proxy in it failed. */
export const PARTIAL_EXIT_CODE = 3
import { ADMIN_OPTIONS, reportAdminFailure, resolveAdminTarget, type AdminArgs } from '../admin-target.js'

interface Args extends AdminArgs {
  json: boolean
}

export async function runReload (args: Args): Promise<number> {
  try {
    const outcome = await postReload(await resolveAdminTarget(args))
    if (args.json) process.stdout.write(JSON.stringify(outcome, null, 2) + '\n')
    else if (outcome.ok) process.stdout.write(formatReloadOutcome(outcome))
    else process.stderr.write(formatReloadOutcome(outcome))
    if (outcome.ok) return 0
    if (isPartial(outcome)) {
      process.stderr.write('tunnel reload: applied, but not every proxy (see above)\n')
      return PARTIAL_EXIT_CODE
    }
    process.stderr.write('tunnel reload: refused (TUN_RELOAD_REFUSED)\n')
    return 2
  } catch (err) {
    return reportAdminFailure('reload', err)
  }
}

export const reloadCommand: CommandModule<object, Args> = {
  command: 'reload',
  describe: 'Make a running client re-read its config file (through its admin API) and apply the changes',
  builder: (y) => y
    .option('config', { alias: 'c', type: 'string', describe: 'frpc.yml of the running client (its webServer block says where the admin API is)' })
    .option('admin', ADMIN_OPTIONS.admin)
    .option('admin-token', ADMIN_OPTIONS['admin-token'])
    .option('json', { type: 'boolean', default: false, describe: 'Print the outcome as JSON: {ok, added, removed, changed, errors}' })
    .example('$0 reload -c frpc.yml', 'apply the edited frpc.yml without restarting the client')
    .epilogue('The client reads the file it was started with; an invalid file is refused with its errors and the running config stays.\nExit codes: 0 applied, 1 not reachable, 2 refused, bad usage or config, or no reload in that process, 3 applied except some proxy (the relay refused it or did not answer).'),
  handler: async (args) => { process.exitCode = await runReload(args) },
}
