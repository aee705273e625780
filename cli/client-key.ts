// The client's key for the commands that run a client (client, diag nat-timeout), apart from
// common.ts so that `tunnel server` never loads the client's code (issue 21, idle memory).
import type { Logger } from 'pino'
import { loadOrCreateClientKey, logClientKey } from '../client/index.js'
import type { ClientConfig } from '../shared/config/index.js'
import { ConfigError } from '../shared/errors.js'
import type { KeyPair } from '../shared/transport/index.js'

/** The client's key (client/client-key.ts), created on first start; undefined after printing why it cannot be used. */
export function clientKeyOrReport (config: ClientConfig, log: Logger): KeyPair | undefined {
  try {
    const key = loadOrCreateClientKey(config)
    logClientKey(key, log)
    return key.keys
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`tunnel: invalid config\n${err.message}\n`)
      return undefined
    }
    throw err
  }
}
