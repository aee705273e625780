// `tunnel status -c FILE | --admin URL [--json]`: asks a running relay or client through its
// admin API and prints its sessions, proxies (public address, state, traffic) and errors.
// Exit 0; 1 when it cannot be reached; 2 bad usage, bad config, no admin API or refused credentials.
import { ExitCode, exitCodesHelp } from '../exit-codes.js'
import type { CommandModule } from 'yargs'
import { fetchStatus, renderStatus } from '../../shared/admin/index.js'
import { ADMIN_OPTIONS, reportAdminFailure, resolveAdminTarget, type AdminArgs } from '../admin-target.js'

interface Args extends AdminArgs {
  json: boolean
}

export async function runStatus (args: Args): Promise<number> {
  try {
    const report = await fetchStatus(await resolveAdminTarget(args))
    process.stdout.write(args.json ? JSON.stringify(report, null, 2) + '\n' : renderStatus(report))
    return ExitCode.OK
  } catch (err) {
    return reportAdminFailure('status', err)
  }
}

export const statusCommand: CommandModule<object, Args> = {
  command: 'status',
  describe: 'Show a running relay\'s or client\'s sessions, proxies, traffic and errors (through its admin API)',
  builder: (y) => y
    .option('config', { alias: 'c', type: 'string', describe: 'frps.yml or frpc.yml of the running process: its webServer block says where the admin API is' })
    .option('admin', ADMIN_OPTIONS.admin)
    .option('admin-token', ADMIN_OPTIONS['admin-token'])
    .option('json', { type: 'boolean', default: false, describe: 'Print the status as JSON (shape in docs/operations.md)' })
    .example('$0 status -c frpc.yml', 'the client\'s proxies: state, public address, traffic')
    .example('$0 status -c frps.yml --json', 'the relay\'s sessions and proxies as JSON')
    .example('$0 status --admin http://127.0.0.1:7500', 'ask an admin API directly')
    .epilogue('The process needs webServer.port in its config (the admin API is off otherwise).\n' + exitCodesHelp({ [ExitCode.OK]: true, [ExitCode.FAILED]: 'not reachable', [ExitCode.REFUSED]: 'bad usage or config, no admin API, or credentials refused' })),
  handler: async (args) => { process.exitCode = await runStatus(args) },
}
