// `tunnel reload -c frpc.yml | --admin URL`: asks a running client to re-read its config file
// (POST /api/reload) and prints what it added, removed and changed, or why it refused.
import type { CommandModule } from 'yargs'
import { postReload, formatReloadOutcome } from '../../shared/admin/index.js'
import { ADMIN_OPTIONS, reportAdminFailure, resolveAdminTarget, type AdminArgs } from '../admin-target.js'
import { ExitCode, exitCodesHelp } from '../exit-codes.js'

interface Args extends AdminArgs {
  json: boolean
}

export async function runReload (args: Args): Promise<ExitCode> {
  try {
    const outcome = await postReload(await resolveAdminTarget(args))
    if (args.json) process.stdout.write(JSON.stringify(outcome, null, 2) + '\n')
    else if (outcome.status === 'applied') process.stdout.write(formatReloadOutcome(outcome))
    else process.stderr.write(formatReloadOutcome(outcome))
    switch (outcome.status) {
      case 'applied':
        return ExitCode.OK
      case 'partial':
        if (!args.json) process.stderr.write('tunnel reload: applied, but not every proxy (see above)\n')
        return ExitCode.ATTENTION
      case 'refused':
        if (!args.json) process.stderr.write('tunnel reload: refused (TUN_RELOAD_REFUSED)\n')
        return ExitCode.REFUSED
    }
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
    .option('json', { type: 'boolean', default: false, describe: 'Print the outcome as JSON: {status: applied|partial|refused, added, removed, changed, errors: [{proxy, code, message}]}' })
    .example('$0 reload -c frpc.yml', 'apply the edited frpc.yml without restarting the client')
    .epilogue('The client reads the file it was started with; an invalid file is refused with its errors and the running config stays.\n' + exitCodesHelp({
      [ExitCode.OK]: 'applied',
      [ExitCode.FAILED]: 'the admin API is not reachable',
      [ExitCode.REFUSED]: 'refused (an invalid file, a setting that needs a restart), bad usage or config, or no reload in that process',
      [ExitCode.ATTENTION]: 'applied except some proxy (the relay refused it or did not answer)',
    })),
  handler: async (args) => { process.exitCode = await runReload(args) },
}
