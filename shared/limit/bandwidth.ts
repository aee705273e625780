// frp's bandwidth quantities (`transport.bandwidthLimit: "1MB"`): a decimal number followed by
// MB (MiB, 1,048,576 bytes) or KB (KiB, 1,024 bytes) per second, surrounding spaces allowed, as
// frp's BandwidthQuantity parses them. frp also treats 0 (and an empty string) as "no limit".
// Unlike frp we refuse negative numbers and other units instead of ignoring them.

export const KB = 1024
export const MB = 1024 * 1024
/** Largest limit we accept: 1 TiB per second (far above any link; keeps the bytes exact). */
export const MAX_BANDWIDTH_BYTES = 1024 * 1024 * MB

/** Bytes per second (0 = no limit), or a reason the text is not a bandwidth. */
export function parseBandwidth (text: string): { bytes: number } | { problem: string } {
  const s = text.trim()
  if (s === '') return { bytes: 0 }
  const m = /^([+-]?)(\d+(?:\.\d*)?|\.\d+)(MB|KB)$/.exec(s)
  if (m === null) {
    if (/^[+-]?(\d+(\.\d*)?|\.\d+)\s*[A-Za-z]*$/.test(s)) {
      if (/\s/.test(s)) return { problem: 'must have no space between the number and the unit, like 500KB' }
      return { problem: 'the unit must be KB or MB (frp\'s units, per second), like 500KB or 1MB' }
    }
    return { problem: 'must be a number followed by KB or MB, like 500KB or 1MB' }
  }
  const [, sign = '', number = '', unit = ''] = m
  const value = Number(number)
  if (sign === '-' && value !== 0) return { problem: 'must not be negative (leave it out, or 0, for no limit)' }
  const bytes = Math.floor(value * (unit === 'MB' ? MB : KB))
  if (bytes > MAX_BANDWIDTH_BYTES) return { problem: `is more than ${MAX_BANDWIDTH_BYTES / MB}MB` }
  if (bytes === 0 && value > 0) return { problem: 'is less than one byte per second' }
  return { bytes }
}

/** `524288` → `512KB`, `1572864` → `1.5MB`: for logs. */
export function formatBandwidth (bytes: number): string {
  if (bytes >= MB) return `${+(bytes / MB).toFixed(2)}MB`
  if (bytes >= KB) return `${+(bytes / KB).toFixed(2)}KB`
  return `${bytes}B`
}
