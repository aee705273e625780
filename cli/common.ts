// Pieces every long-running command shares: the logging flags and turning a config
// load into either a config or exit code 2 with the file:line:col lines on stderr.
import type { Argv } from 'yargs'
import { ConfigError } from '../shared/errors.js'
import { createLogger, type LogFormat, type Logger } from '../shared/log.js'
import type { ConfigWarning, Loaded, LogLevel } from '../shared/config/index.js'

export interface LogArgs {
  logLevel: string | undefined
  logFormat: string
}

export function withLogOptions<T> (y: Argv<T>): Argv<T & LogArgs> {
  return y
    .option('log-level', { type: 'string', choices: ['trace', 'debug', 'info', 'warn', 'error', 'silent'], describe: 'Log level (overrides log.level in the file)' })
    .option('log-format', { type: 'string', choices: ['auto', 'json', 'pretty'], default: 'auto', describe: 'Log format: JSON lines, or human-readable; auto = pretty on a TTY' }) as unknown as Argv<T & LogArgs>
}

export function makeLogger (args: LogArgs, fileLevel: LogLevel): Logger {
  const level = (args.logLevel ?? fileLevel) as LogLevel | 'silent'
  return createLogger({ level, format: args.logFormat as LogFormat })
}

/** Loads a config; on failure prints every issue to stderr and returns undefined. */
export async function loadOrReport<T> (load: () => Promise<Loaded<T>>): Promise<Loaded<T> | undefined> {
  try {
    return await load()
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`tunnel: invalid config\n${err.message}\n`)
      return undefined
    }
    throw err
  }
}

export function logWarnings (log: Logger, warnings: ConfigWarning[]): void {
  for (const w of warnings) {
    const { file, line, col, path } = w.location
    log.warn({ file, line, col, path }, w.message)
  }
}
