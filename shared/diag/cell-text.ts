// What a table cell shows of a text nobody on this side wrote (a proxy name is any text in frp:
// "Wake On Lan", "L4D2节点0"): control characters escaped, so a name cannot start a new line or
// move the cursor in a terminal, and the width a terminal gives it (CJK and other wide characters
// take two columns), so the columns after it stay aligned.

/** C0 and C1 controls, DEL, and the line and paragraph separators. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g

/** `a\nb` → `a\\nb`; other controls as `\\u001b`. */
export function printable (text: string): string {
  return text.replace(CONTROL, (c) => (c === '\n' ? '\\n' : c === '\r' ? '\\r' : c === '\t' ? '\\t' : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`))
}

/** East Asian Wide and Fullwidth blocks (Unicode's EastAsianWidth W/F, the common ranges). */
const WIDE: ReadonlyArray<readonly [number, number]> = [
  [0x1100, 0x115f], [0x2e80, 0x303e], [0x3041, 0x33ff], [0x3400, 0x4dbf], [0x4e00, 0x9fff],
  [0xa000, 0xa4cf], [0xac00, 0xd7a3], [0xf900, 0xfaff], [0xfe30, 0xfe4f], [0xff00, 0xff60],
  [0xffe0, 0xffe6], [0x1f300, 0x1f64f], [0x1f900, 0x1f9ff], [0x20000, 0x3fffd],
]

/** Columns a terminal gives `text` (after printable()). */
export function displayWidth (text: string): number {
  let width = 0
  for (const ch of text) {
    const cp = ch.codePointAt(0) ?? 0
    width += WIDE.some(([lo, hi]) => cp >= lo && cp <= hi) ? 2 : 1
  }
  return width
}

/** `text` padded with spaces to `width` columns. */
export function padToWidth (text: string, width: number): string {
  return text + ' '.repeat(Math.max(0, width - displayWidth(text)))
}

/** A proxy name inside a sentence or a comma list: bare when plain, else quoted and escaped. */
export function quotedName (name: string): string {
  return /^[A-Za-z0-9._-]+$/.test(name) ? name : JSON.stringify(name)
}
