// Pure parsers of the /proc files diag reads: /proc/net/netstat (and /proc/net/snmp, same
// shape: a line of names then a line of values per section), /proc/net/sockstat(6),
// /proc/PID/limits and one-number sysctl files. Odd input gives fewer values, never a throw.

export type Counters = Record<string, Record<string, number>>

export interface NetstatResult {
  sections: Counters
  /** What did not fit the expected shape (e.g. a names line without its values line). */
  problems: string[]
}

/** `TcpExt: SyncookiesSent ... ListenOverflows ...` + `TcpExt: 8 ... 42 ...` → { TcpExt: { ListenOverflows: 42 } }. */
export function parseNetstat (text: string): NetstatResult {
  const sections: Counters = {}
  const problems: string[] = []
  const pending = new Map<string, string[]>()
  for (const line of text.split('\n')) {
    const m = /^(\w+):\s*(.*)$/.exec(line.trim())
    if (m === null) {
      if (line.trim() !== '') problems.push(`not a counter line: ${line.slice(0, 80)}`)
      continue
    }
    const [, section = '', rest = ''] = m
    const words = rest.split(/\s+/).filter((w) => w !== '')
    const names = pending.get(section)
    if (names === undefined || !words.every((w) => /^-?\d+$/.test(w))) {
      if (names !== undefined) problems.push(`${section}: names line without values`)
      pending.set(section, words)
      continue
    }
    pending.delete(section)
    if (names.length !== words.length) problems.push(`${section}: ${names.length} names but ${words.length} values`)
    const values: Record<string, number> = sections[section] ?? {}
    for (let i = 0; i < Math.min(names.length, words.length); i++) values[names[i] as string] = Number(words[i])
    sections[section] = values
  }
  for (const section of pending.keys()) problems.push(`${section}: names line without values`)
  return { sections, problems }
}

/** `TCP: inuse 7 orphan 0 tw 51 alloc 7 mem 77` → { TCP: { inuse: 7, orphan: 0, tw: 51, ... } }. */
export function parseSockstat (text: string): Counters {
  const out: Counters = {}
  for (const line of text.split('\n')) {
    const m = /^(\w+):\s+(.*)$/.exec(line.trim())
    if (m === null) continue
    const [, section = '', rest = ''] = m
    const words = rest.split(/\s+/)
    const values: Record<string, number> = {}
    for (let i = 0; i + 1 < words.length; i += 2) {
      const value = words[i + 1] as string
      if (/^\d+$/.test(value)) values[words[i] as string] = Number(value)
    }
    out[section] = values
  }
  return out
}

export interface Limit {
  /** null = unlimited. */
  soft: number | null
  hard: number | null
  units: string
}

/** /proc/PID/limits → { 'Max open files': { soft: 20000, hard: 20000, units: 'files' }, ... }. */
export function parseLimits (text: string): Record<string, Limit> {
  const out: Record<string, Limit> = {}
  for (const line of text.split('\n')) {
    if (line.startsWith('Limit ')) continue
    const m = /^(\S.*?)\s{2,}(\d+|unlimited)\s+(\d+|unlimited)(?:\s+(\S+))?\s*$/.exec(line)
    if (m === null) continue
    const [, name = '', soft = '', hard = '', units = ''] = m
    out[name] = { soft: limitValue(soft), hard: limitValue(hard), units }
  }
  return out
}

const limitValue = (text: string): number | null => (text === 'unlimited' ? null : Number(text))

/** A sysctl file holding one integer (`4096\n`); undefined for anything else. */
export function parseSysctlValue (text: string): number | undefined {
  const t = text.trim()
  return /^-?\d+$/.test(t) ? Number(t) : undefined
}
