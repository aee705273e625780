// `tunnel keygen`: a new X25519 key pair for the relay, printed as the lines to paste into
// frps.yml (private key) and every frpc.yml (public key, which pins the relay). With
// --private-key-file the private key goes to a new file with mode 0600 instead of stdout.
// With --token it also prints a random auth.token (32 bytes, base64url).
import { ExitCode } from '../exit-codes.js'
import { randomBytes } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { resolve } from 'node:path'
import type { CommandModule } from 'yargs'
import { formatKeyId, newKeyPair } from '../../shared/transport/index.js'

interface Args {
  privateKeyFile: string | undefined
  token: boolean
}

export interface KeygenOutput {
  stdout: (s: string) => void
  stderr: (s: string) => void
}

export function runKeygen (args: Args, out: KeygenOutput): number {
  const keys = newKeyPair()
  const token = args.token ? randomBytes(32).toString('base64url') : undefined
  const lines: string[] = [`# tunnel keygen: a relay key pair (X25519), key id ${formatKeyId(Buffer.from(keys.publicKey, 'base64'))}`, '']
  if (args.privateKeyFile !== undefined) {
    const path = resolve(args.privateKeyFile)
    try {
      // 'wx': never overwrite an existing key; mode 0600: readable by the owner only.
      writeFileSync(path, `${keys.privateKey}\n`, { mode: 0o600, flag: 'wx' })
    } catch (err) {
      out.stderr(`tunnel keygen: cannot create ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)} (it must not exist yet)`)
      return ExitCode.FAILED
    }
    lines.push(`# frps.yml (the relay). The private key is in ${path} (mode 0600).`, 'auth:', `  privateKeyFile: ${JSON.stringify(path)}`)
  } else {
    lines.push('# frps.yml (the relay). Keep this line secret; or save the key in a file (chmod 600)', '# and write  privateKeyFile: /path/to/file  instead.', 'auth:', `  privateKey: "${keys.privateKey}"`)
  }
  if (token !== undefined) lines.push(`  token: "${token}"`)
  lines.push('', '# frpc.yml (every client): pins the relay, so a client talks only to the holder of the private key.', 'auth:', `  serverKey: "${keys.publicKey}"`)
  if (token !== undefined) lines.push(`  token: "${token}"`)
  out.stdout(lines.join('\n') + '\n')
  return ExitCode.OK
}

export const keygenCommand: CommandModule<object, Args> = {
  command: 'keygen',
  describe: 'Print a new relay key pair: the line for frps.yml (private key) and for frpc.yml (auth.serverKey)',
  builder: (y) => y
    .option('private-key-file', { type: 'string', describe: 'Write the private key to this new file (mode 0600) instead of printing it' })
    .option('token', { type: 'boolean', default: false, describe: 'Also print a random auth.token (32 bytes, base64url)' })
    .example('$0 keygen', 'print both keys as config lines')
    .example('$0 keygen --private-key-file /etc/tunnel/relay.key', 'private key to a file, public key printed') as never,
  handler: (args) => {
    process.exitCode = runKeygen(args, {
      stdout: (s) => process.stdout.write(s),
      stderr: (s) => process.stderr.write(s.endsWith('\n') ? s : s + '\n'),
    })
  },
}
