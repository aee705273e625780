#!/usr/bin/env node
// The composition root: yargs commands; usage errors exit 2, crashes exit 1.
import './v8-tuning.js'
import { ExitCode, exitCodesHelp } from './exit-codes.js'
import yargs from 'yargs'
import { hideBin } from 'yargs/helpers'
import { benchCommand } from './commands/bench-command.js'
import { clientCommand } from './commands/client.js'
import { demoCommand } from './commands/demo.js'
import { diagCommand } from './commands/diag-command.js'
import { echoCommand } from './commands/echo-command.js'
import { keygenCommand } from './commands/keygen.js'
import { reloadCommand } from './commands/reload-command.js'
import { serverCommand } from './commands/server.js'
import { statusCommand } from './commands/status-command.js'
import { verifyCommand } from './commands/verify-command.js'

process.on('uncaughtException', (err) => {
  process.stderr.write(`tunnel: internal error: ${err.stack ?? String(err)}\n`)
  process.exit(ExitCode.FAILED)
})

await yargs(hideBin(process.argv))
  .scriptName('tunnel')
  .usage('$0 <command> [options]\n\nAn frp-style tunnel: a public relay and a client behind NAT share one\nmultiplexed control connection. Config files use frp v1 YAML key names.')
  .command(serverCommand)
  .command(clientCommand)
  .command(verifyCommand)
  .command(keygenCommand)
  .command(demoCommand)
  .command(benchCommand)
  .command(echoCommand)
  .command(diagCommand)
  .command(statusCommand)
  .command(reloadCommand)
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
