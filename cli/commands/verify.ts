// `tunnel verify -c FILE`: detect server or client (or take --kind), load, report. Exit 0 when valid (warnings
// go to stderr), 2 on any config error, or on warnings with --strict. Writes one line per call.
import { ExitCode } from '../exit-codes.js'

import { ConfigError } from '../../shared/errors.js'
import { detectConfigKind, formatConfigWarning, isLegacyIni, legacyIniAsV1Yaml, parseClientConfig, parseServerConfig, readConfigFile, type ConfigKind, type ConfigWarning } from '../../shared/config/index.js'

export interface VerifyOutput {
  stdout: (s: string) => void
  stderr: (s: string) => void
}

export interface VerifyOptions {
  strict?: boolean
  /** Check as this kind instead of the one detected from the file's keys (`--kind`). */
  kind?: ConfigKind | undefined
  /**
   * `--print-v1`: a legacy INI file is also printed on stdout as the v1 YAML that means the same
   * (the verdict goes to stderr then, so stdout is the file alone).
   */
  printV1?: boolean
}

const VERIFY_LOAD = { missingFiles: 'warn' } as const

export async function runVerify (file: string, out: VerifyOutput, opts: VerifyOptions): Promise<number> {
  let warnings: ConfigWarning[]
  let kind: ConfigKind
  let included: number
  let text = ''
  const printing = opts.printV1 === true
  try {
    text = await readConfigFile(file)
    kind = opts.kind ?? detectConfigKind(text, file)
    // A file a key names (certificate, key, token file) that is not on this machine is a warning here:
    // verify may run elsewhere than where the file deploys; `tunnel server`/`client` refuse it.
    const loaded = kind === 'server' ? parseServerConfig(text, file, process.env, VERIFY_LOAD) : parseClientConfig(text, file, process.env, VERIFY_LOAD)
    warnings = loaded.warnings
    included = loaded.included?.length ?? 0
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    for (const line of err.message.split('\n')) out.stderr(line)
    // A refused file is still printed (when it converts): the v1 file is where to fix it.
    if (printing && text !== '') printV1(text, file, opts.kind ?? detectConfigKind(text, file), out)
    return ExitCode.REFUSED
  }
  for (const w of warnings) out.stderr(formatConfigWarning(w))
  if (printing) printV1(text, file, kind, out)
  if (opts.strict === true && warnings.length > 0) {
    out.stderr(`tunnel: ${file} has ${warnings.length} warning${warnings.length === 1 ? '' : 's'}, which --strict treats as errors`)
    return ExitCode.REFUSED
  }
  const withIncludes = included === 0 ? '' : `, with ${included} included file${included === 1 ? '' : 's'}`
  ;(printing ? out.stderr : out.stdout)(`tunnel: ${file} is valid (${kind} config${withIncludes})`)
  return ExitCode.OK
}

/** The v1 YAML of a legacy INI file on stdout; a v1 file is said to be one. */
function printV1 (text: string, file: string, kind: ConfigKind, out: VerifyOutput): void {
  if (!isLegacyIni(text, file)) {
    out.stderr(`tunnel: ${file} is already in frp's v1 format; --print-v1 prints legacy INI files only`)
    return
  }
  const r = legacyIniAsV1Yaml(text, file, kind)
  if ('yaml' in r) out.stdout(r.yaml)
}
