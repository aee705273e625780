// `tunnel status -c FILE | --admin URL [--json]`: asks a running relay or client through its
// admin API and prints its sessions, proxies (public address, state, traffic) and errors; with
// --fleet, a fleet relay's view of the fleet (its relays and their attached clients).
// Exit 0; 1 when it cannot be reached; 2 bad usage, bad config, no admin API or refused credentials.
import { ExitCode, exitCodesHelp } from '../exit-codes.js'
import type { CommandModule } from 'yargs'
import { fetchStatus, renderFleet, renderStatus } from '../../shared/admin/index.js'
import { ADMIN_OPTIONS, reportAdminFailure, resolveAdminTarget, type AdminArgs } from '../admin-target.js'

interface Args extends AdminArgs {
  json: boolean
  fleet: boolean
}

export async function runStatus (args: Args): Promise<number> {
  try {
    const report = await fetchStatus(await resolveAdminTarget(args))
    if (args.fleet) process.stdout.write(args.json ? JSON.stringify(report.fleet ?? null, null, 2) + '\n' : renderFleet(report))
    else process.stdout.write(args.json ? JSON.stringify(report, null, 2) + '\n' : renderStatus(report))
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
    .option('fleet', { type: 'boolean', default: false, describe: 'A fleet relay: print the fleet\'s relays (name, address, uptime, attached clients) as its store sees them, its store counters and its inter-relay links (up, streams, forwarded in and out)' })
    .example('$0 status -c frpc.yml', 'the client\'s proxies: state, public address, traffic')
    .example('$0 status -c frps.yml --json', 'the relay\'s sessions and proxies as JSON')
    .example('$0 status --admin http://127.0.0.1:7500', 'ask an admin API directly')
    .example('$0 status -c frps.yml --fleet', 'the relays of this relay\'s fleet and their clients')
    .epilogue('The process needs webServer.port in its config (the admin API is off otherwise).\n' + exitCodesHelp({ [ExitCode.OK]: true, [ExitCode.FAILED]: 'not reachable', [ExitCode.REFUSED]: 'bad usage or config, no admin API, or credentials refused' })),
  handler: async (args) => { process.exitCode = await runStatus(args) },
}
