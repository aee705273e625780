// The client's static key: its identity on the relay (proven in every handshake). A relay lets a
// session replace another of the same clientID only when it holds the same key, and may admit
// only listed keys (auth.clientKeys). The key comes from auth.clientKey, or from a file: the
// configured auth.clientKeyFile, else a per-clientID file in the state directory. A missing file
// is created with a new key on first start (0600, in a 0700 directory), as ssh-keygen would; a
// file readable by others is refused.
import { mkdirSync, writeFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { dirname, join } from 'node:path'
import type { Logger } from 'pino'
import { readKeyFile } from '../shared/config/index.js'
import type { ClientConfig } from '../shared/config/index.js'
import { ConfigError } from '../shared/errors.js'
import { clientKeyId, decodeKey, encodeKey, generateKeyPair, keyPairFromSecret, type KeyPair } from '../shared/transport/index.js'

/** Where the key of `clientID` lives when auth.clientKeyFile is not set. */
export function defaultClientKeyFile (clientID: string, env: NodeJS.ProcessEnv = process.env): string {
  const name = `${clientID.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 100)}.key`
  // systemd's StateDirectory= (the units in configs/systemd set it).
  const systemd = env.STATE_DIRECTORY?.split(':')[0]
  if (systemd !== undefined && systemd !== '') return join(systemd, name)
  const xdg = env.XDG_STATE_HOME
  const base = xdg !== undefined && xdg !== '' ? xdg : join(env.HOME ?? homedir(), '.local', 'state')
  return join(base, 'tunnel', name)
}

export interface ClientKey {
  keys: KeyPair
  /** The file it came from (or was written to); undefined when given inline. */
  file: string | undefined
  /** True when this start created it. */
  created: boolean
}

/** The client's key pair, creating its file when missing; throws ConfigError when the file cannot be used. */
export function loadOrCreateClientKey (config: ClientConfig, env: NodeJS.ProcessEnv = process.env): ClientKey {
  const inline = config.auth.clientKey
  if (inline !== null) return { keys: keyPairFromSecret(inline.reveal()), file: undefined, created: false }
  const file = config.auth.clientKeyFile ?? defaultClientKeyFile(config.clientID, env)
  const read = readKeyFile(file)
  if ('text' in read) {
    const key = decodeKey(read.text)
    if (typeof key === 'string') throw problem(config, `the key in ${file} ${key}`)
    return { keys: keyPairFromSecret(key), file, created: false }
  }
  if (!read.problem.endsWith('does not exist')) throw problem(config, read.problem)
  const keys = generateKeyPair()
  try {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 })
    writeFileSync(file, `# tunnel client key (private: keep it 0600). Public key: ${encodeKey(keys.publicKey)}\n${encodeKey(keys.secretKey)}\n`, { mode: 0o600, flag: 'wx' })
  } catch (err) {
    throw problem(config, `cannot create the client key file ${file} (${(err as NodeJS.ErrnoException).code ?? String(err)}): set auth.clientKeyFile to a writable place, or auth.clientKey`)
  }
  return { keys, file, created: true }
}

/** Logs where the key is and its id (never the key). */
export function logClientKey (key: ClientKey, log: Logger): void {
  const fields = { keyId: clientKeyId(key.keys.publicKey), publicKey: encodeKey(key.keys.publicKey), ...(key.file === undefined ? {} : { file: key.file }) }
  if (key.created) log.info(fields, 'created a new client key: it is this client\'s identity on the relay (a relay with auth.clientKeys must list its public key)')
  else log.debug(fields, 'client key loaded')
}

function problem (config: ClientConfig, message: string): ConfigError {
  return new ConfigError([{ code: 'TUN_CONFIG_INVALID', message, location: { file: config.source, line: 0, col: 0, path: 'auth.clientKeyFile' } }])
}
