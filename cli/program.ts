// The composition root: yargs commands; usage errors exit 2, crashes exit 1. Loaded by main.ts
// once the V8 settings are in place.
import './zod-jitless.js'
import { ExitCode, exitCodesHelp } from './exit-codes.js'
import yargs, { type CommandModule } from 'yargs'
import { hideBin } from 'yargs/helpers'
import { skipHelpCache } from './help-cache.js'

// Each command's module (and all it imports: the relay, the client, the load generator, the
// diagnostics, their libraries) is loaded only when that command runs: a relay or a client
// holds no code of the others (issue 21: the idle relay was 100 MiB RSS, a bare node 40).
// `tunnel --help` and an unknown command load them all, in this order (the help lists them so).
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each command has its own argument type; yargs takes any of them
type AnyCommand = CommandModule<any, any>
const COMMANDS: ReadonlyArray<readonly [string, () => Promise<AnyCommand>]> = [
  ['server', async () => (await import('./commands/server.js')).serverCommand],
  ['client', async () => (await import('./commands/client.js')).clientCommand],
  ['verify', async () => (await import('./commands/verify-command.js')).verifyCommand],
  ['keygen', async () => (await import('./commands/keygen.js')).keygenCommand],
  ['demo', async () => (await import('./commands/demo.js')).demoCommand],
  ['bench', async () => (await import('./commands/bench-command.js')).benchCommand],
  ['echo', async () => (await import('./commands/echo-command.js')).echoCommand],
  ['diag', async () => (await import('./commands/diag-command.js')).diagCommand],
  ['status', async () => (await import('./commands/status-command.js')).statusCommand],
  ['reload', async () => (await import('./commands/reload-command.js')).reloadCommand],
]
const named = COMMANDS.find(([name]) => name === process.argv[2])
const commands = await Promise.all((named === undefined ? COMMANDS : [named]).map(async ([, load]) => await load()))

process.on('uncaughtException', (err) => {
  process.stderr.write(`tunnel: internal error: ${err.stack ?? String(err)}\n`)
  process.exit(ExitCode.FAILED)
})

const cli = yargs(hideBin(process.argv))
// No help text laid out for a command that only runs (help-cache.ts: it woke V8's optimizing compiler at start).
skipHelpCache(cli)
await cli
  .scriptName('tunnel')
  .usage('$0 <command> [options]\n\nAn frp-style tunnel: a public relay and a client behind NAT share one\nmultiplexed control connection. Config files use frp v1 YAML key names.')
  // eslint-disable-next-line @typescript-eslint/no-unsafe-argument -- the commands' own argument types, checked in their modules
  .command(commands)
  .demandCommand(1, 'Name a command: server, client, verify, keygen, demo, bench, echo, diag, status or reload (see --help).')
  .recommendCommands()
  .strict()
  .example('$0 demo', 'try it: relay + client + demo service on loopback')
  .example('$0 server -c frps.yml', 'on the public host')
  .example('$0 client -c frpc.yml', 'on the machine behind NAT')
  .example('$0 keygen', 'a relay key pair: private key for frps.yml, public key for frpc.yml')
  .example('$0 status -c frpc.yml', 'a running client\'s proxies and traffic (needs webServer.port)')
  .epilogue(exitCodesHelp({ [ExitCode.OK]: true, [ExitCode.FAILED]: 'runtime failure', [ExitCode.REFUSED]: 'bad usage, bad config or a refusal (login, credentials, reload)', [ExitCode.ATTENTION]: 'finished, but needs attention: each command\'s --help says what', [ExitCode.INTERRUPTED]: true }) + '\nDocs: README.md and docs/ in the package.')
  .fail((msg, err) => {
    if (err !== undefined && err !== null) throw err
    process.stderr.write(`tunnel: ${msg}\nRun 'tunnel --help' for usage.\n`)
    process.exit(ExitCode.REFUSED)
  })
  .help()
  .alias('h', 'help')
  .version()
  .wrap(Math.min(100, process.stdout.columns ?? 100))
  .parseAsync()

// The command has finished its own graceful shutdown: exit now rather than wait on any
// handle a peer keeps half-open (Node would otherwise linger in its exit clean-up).
process.exit(process.exitCode ?? 0)
