// `tunnel verify -c FILE`: check a config without starting anything (exit 0 or 2).
import type { CommandModule } from 'yargs'
import { runVerify } from './verify.js'

interface Args {
  config: string
  strict: boolean
}

export const verifyCommand: CommandModule<object, Args> = {
  command: 'verify',
  describe: 'Check a frps.yml or frpc.yml (kind detected from its keys) and exit 0 or 2',
  builder: (y) => y
    .option('config', { alias: 'c', type: 'string', demandOption: 'name the file to check with -c FILE', describe: 'The config file to check' })
    .option('strict', { type: 'boolean', default: false, describe: 'Treat warnings as errors' })
    .example('$0 verify -c frpc.yml', 'prints "frpc.yml is valid" or file:line:col errors'),
  handler: async (args) => {
    process.exitCode = await runVerify(args.config, {
      stdout: (s) => process.stdout.write(s.endsWith('\n') ? s : s + '\n'),
      stderr: (s) => process.stderr.write(s.endsWith('\n') ? s : s + '\n'),
    }, { strict: args.strict })
  },
}
