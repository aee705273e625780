// What a header name and value may be (RFC 9110 tokens; no CR, LF or NUL). The config checks
// (requestHeaders.set, responseHeaders.set) and the relay's own check of a registered proxy use
// these same rules, so a file that verifies is never refused on the wire.

/** RFC 9110 token characters. */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/
/** No CR, LF or NUL; other control characters except tab are refused too. */
// eslint-disable-next-line no-control-regex -- control characters are exactly what it refuses
const VALUE = /^[^\x00-\x08\x0a-\x1f\x7f]*$/

export const MAX_HEADER_NAME_CHARS = 64
export const MAX_HEADER_VALUE_CHARS = 512

export function isHeaderName (name: string): boolean {
  return name.length > 0 && name.length <= MAX_HEADER_NAME_CHARS && TOKEN.test(name)
}

export function isHeaderValue (value: string): boolean {
  return value.length <= MAX_HEADER_VALUE_CHARS && VALUE.test(value)
}
