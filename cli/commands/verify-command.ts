// `tunnel verify -c FILE`: check a config without starting anything (exit 0 or 2).
import type { CommandModule } from 'yargs'
import { runVerify } from './verify.js'

interface Args {
  config: string
  strict: boolean
  kind: 'server' | 'client' | undefined
  'print-v1': boolean
}

export const verifyCommand: CommandModule<object, Args> = {
  command: 'verify',
  describe: 'Check a frps.yml or frpc.yml (YAML, TOML, JSON or frp\u2019s legacy INI; kind decided by its top-level keys, or --kind) and exit 0 or 2',
  builder: (y) => y
    .option('config', { alias: 'c', type: 'string', demandOption: 'name the file to check with -c FILE', describe: 'The config file to check' })
    .option('strict', { type: 'boolean', default: false, describe: 'Treat warnings as errors (a certificate, key or token file the file names that is not on this machine is a warning here: tunnel server/client refuse to start without it)' })
    .option('kind', { choices: ['server', 'client'] as const, describe: 'Check the file as a relay (server, frps) or client (frpc) config instead of deciding from its top-level keys' })
    .option('print-v1', { type: 'boolean', default: false, describe: 'For frp\u2019s legacy INI files (frpc.ini, frps.ini): also print the same config as a v1 YAML file on stdout (the verdict goes to stderr), to migrate; templates stay templates, comments are not kept' })
    .example('$0 verify -c frpc.yml', 'prints "frpc.yml is valid" or file:line:col errors')
    .example('$0 verify -c frpc.ini --print-v1 > frpc.yml', 'checks an frp legacy INI file and writes its v1 YAML twin')
    .example('$0 verify -c relay.json --kind server', 'checks relay.json as a relay config, whatever keys it has'),
  handler: async (args) => {
    process.exitCode = await runVerify(args.config, {
      stdout: (s) => process.stdout.write(s.endsWith('\n') ? s : s + '\n'),
      stderr: (s) => process.stderr.write(s.endsWith('\n') ? s : s + '\n'),
    }, { strict: args.strict, kind: args.kind, printV1: args['print-v1'] })
  },
}
