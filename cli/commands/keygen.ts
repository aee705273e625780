// `tunnel keygen`: a new X25519 key pair for the relay, printed as the lines to paste into
// frps.yml (private key) and every frpc.yml (public key, which pins the relay). With
// --private-key-file the private key goes to a new file with mode 0600 instead of stdout.
// With --token it also prints a random auth.token (32 bytes, base64url).
// `tunnel keygen --client`: a client key pair instead (the client's identity): the frpc.yml line
// and the frps.yml auth.clientKeys entry. `--client --show -c frpc.yml`: the public key of the
// key that client uses (created now if it has none yet), as the auth.clientKeys entry.
import { ExitCode, exitCodesHelp } from '../exit-codes.js'
import { randomBytes } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { resolve } from 'node:path'
import type { CommandModule } from 'yargs'
import { loadOrCreateClientKey, type ClientKey } from '../../client/index.js'
import { loadClientConfig, type ClientConfig } from '../../shared/config/index.js'
import { ConfigError } from '../../shared/errors.js'
import { clientKeyId, encodeKey, formatKeyId, newKeyPair } from '../../shared/transport/index.js'

interface Args {
  privateKeyFile: string | undefined
  token: boolean
  client: boolean
  show: boolean
  config: string | undefined
}

export interface KeygenOutput {
  stdout: (s: string) => void
  stderr: (s: string) => void
}

/** Writes a private key to a new file readable by the owner only; its absolute path, or undefined (reported) when it cannot. */
function writePrivateKey (file: string, privateKey: string, out: KeygenOutput): string | undefined {
  const path = resolve(file)
  try {
    // 'wx': never overwrite an existing key; mode 0600: readable by the owner only.
    writeFileSync(path, `${privateKey}\n`, { mode: 0o600, flag: 'wx' })
    return path
  } catch (err) {
    out.stderr(`tunnel keygen: cannot create ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)} (it must not exist yet)`)
    return undefined
  }
}

/** The frps.yml auth.clientKeys entry for a client public key. */
function clientKeysEntry (publicKey: string, clientID: string | undefined): string[] {
  return [
    '# frps.yml (the relay): admit this client (only listed keys may log in once the list is not empty).',
    'auth:',
    '  clientKeys:',
    `    - publicKey: "${publicKey}"`,
    clientID === undefined ? '      # clientID: home      # optional: only as this clientID' : `      clientID: ${JSON.stringify(clientID)}`,
    '      # user: alice         # optional: only with this user',
  ]
}

async function showClientKey (args: Args, out: KeygenOutput): Promise<number> {
  if (args.config === undefined) { out.stderr('tunnel keygen --client --show: name the client\'s config with -c frpc.yml'); return ExitCode.REFUSED }
  let config: ClientConfig
  try {
    config = (await loadClientConfig(args.config)).config
  } catch (err) {
    if (err instanceof ConfigError) { out.stderr(`tunnel keygen: invalid config\n${err.message}`); return ExitCode.REFUSED }
    throw err
  }
  let key: ClientKey
  try {
    key = loadOrCreateClientKey(config)
  } catch (err) {
    if (err instanceof ConfigError) { out.stderr(`tunnel keygen: ${err.message}`); return ExitCode.REFUSED }
    throw err
  }
  const publicKey = encodeKey(key.keys.publicKey)
  const where = key.file === undefined ? 'auth.clientKey in the config' : `${key.file}${key.created ? ' (created now)' : ''}`
  out.stdout([`# the client key of ${args.config} (clientID ${config.clientID}), key id ${clientKeyId(key.keys.publicKey)}, from ${where}`, '', ...clientKeysEntry(publicKey, config.clientID)].join('\n') + '\n')
  return ExitCode.OK
}

function newClientKey (args: Args, out: KeygenOutput): number {
  const keys = newKeyPair()
  const lines: string[] = [`# tunnel keygen --client: a client key pair (X25519): this client's identity on the relay, key id ${clientKeyId(Buffer.from(keys.publicKey, 'base64'))}`, '']
  if (args.privateKeyFile !== undefined) {
    const path = writePrivateKey(args.privateKeyFile, keys.privateKey, out)
    if (path === undefined) return ExitCode.FAILED
    lines.push(`# frpc.yml (this client). The private key is in ${path} (mode 0600).`, 'auth:', `  clientKeyFile: ${JSON.stringify(path)}`)
  } else {
    lines.push('# frpc.yml (this client). Keep this line secret (or use clientKeyFile). Without either, the client', '# creates a key file of its own on first start: tunnel keygen --client --show -c frpc.yml prints it.', 'auth:', `  clientKey: "${keys.privateKey}"`)
  }
  lines.push('', ...clientKeysEntry(keys.publicKey, undefined))
  out.stdout(lines.join('\n') + '\n')
  return ExitCode.OK
}

export async function runKeygen (args: Args, out: KeygenOutput): Promise<number> {
  if (args.client) return args.show ? await showClientKey(args, out) : newClientKey(args, out)
  if (args.show) { out.stderr('tunnel keygen: --show needs --client (a relay\'s public key is in the serverKey line keygen printed)'); return ExitCode.REFUSED }
  const keys = newKeyPair()
  const token = args.token ? randomBytes(32).toString('base64url') : undefined
  const lines: string[] = [`# tunnel keygen: a relay key pair (X25519), key id ${formatKeyId(Buffer.from(keys.publicKey, 'base64'))}`, '']
  if (args.privateKeyFile !== undefined) {
    const path = writePrivateKey(args.privateKeyFile, keys.privateKey, out)
    if (path === undefined) return ExitCode.FAILED
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
    .option('client', { type: 'boolean', default: false, describe: 'A client key pair instead: the frpc.yml line (auth.clientKey or clientKeyFile) and the frps.yml auth.clientKeys entry' })
    .option('show', { type: 'boolean', default: false, describe: 'With --client and -c frpc.yml: print the public key that client uses (its key file is created now if missing)' })
    .option('config', { alias: 'c', type: 'string', describe: 'frpc.yml, for --client --show' })
    .example('$0 keygen', 'print both keys as config lines')
    .example('$0 keygen --private-key-file /etc/tunnel/relay.key', 'private key to a file, public key printed')
    .example('$0 keygen --client --show -c frpc.yml', 'the auth.clientKeys entry for this client (for a relay that admits listed keys only)')
    .epilogue(exitCodesHelp({ [ExitCode.OK]: true, [ExitCode.FAILED]: 'the key file could not be created', [ExitCode.REFUSED]: 'bad usage or config' })) as never,
  handler: async (args) => {
    process.exitCode = await runKeygen(args, {
      stdout: (s) => process.stdout.write(s),
      stderr: (s) => process.stderr.write(s.endsWith('\n') ? s : s + '\n'),
    })
  },
}
