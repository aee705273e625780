// The path a request is routed by, and the `locations` prefixes proxies claim, in one normal form:
// percent-decoded, runs of `/` merged, `.` and `..` segments resolved. A backend reads
// `/%61dmin`, `//admin` and `/x/../admin` as `/admin`; routing the same way means a location
// with its own proxy (and its own httpUser) cannot be reached around through another spelling.
// The request line is forwarded unchanged; only the routing decision uses this form.
//
// Protected locations (a proxy with httpUser or a source filter) are also matched in a looser
// form (loosePath), which folds the spellings that some backends read as the same path: case
// (IIS, case-insensitive file systems), `;params` in a segment (Tomcat and other servlet
// containers), `\` as `/` (IIS, some frameworks), escapes decoded more than once, compatibility
// forms (NFKC: full-width letters), and trailing dots and spaces of a segment (Windows). A request
// whose loose form falls under a protected location is sent to that location's proxy, whose
// checks then apply (docs/security.md, "Protected locations").

export const MAX_LOCATION_CHARS = 256
/** Times loosePath decodes %-escapes at most (a backend that decodes twice sees %2561 as a). */
export const MAX_DECODE_ROUNDS = 3

/** The path of a request target (origin-form, absolute-form or `*`), not decoded; undefined when there is none. */
function targetPath (target: string): string | undefined {
  if (target === '*') return '/'
  if (/^https?:\/\//i.test(target)) {
    // absolute-form (a client talking to a proxy): the path of the URL.
    try {
      return new URL(target).pathname
    } catch {
      return undefined
    }
  }
  if (!target.startsWith('/')) return undefined
  let end = target.indexOf('?')
  const hash = target.indexOf('#')
  if (hash >= 0 && (end < 0 || hash < end)) end = hash
  return end < 0 ? target : target.slice(0, end)
}

/** The decoded path of a request target, or undefined when it cannot be routed (400). */
export function routingPath (target: string): string | undefined {
  if (target === '*') return '/'
  const path = targetPath(target)
  if (path === undefined) return undefined
  // Nothing to decode, merge or resolve (the common case): the path is its own routing form.
  if (!path.includes('%') && !path.includes('//') && !path.includes('/.') && !path.includes('\0')) return path
  let decoded: string
  try {
    decoded = decodeURIComponent(path)
  } catch {
    return undefined
  }
  if (decoded.includes('\0')) return undefined
  return removeDotSegments(decoded.replace(/\/{2,}/g, '/'))
}

/** RFC 3986 section 5.2.4 on a path that starts with `/` (the result does too). */
export function removeDotSegments (path: string): string {
  const out: string[] = []
  const segments = path.split('/').slice(1)
  segments.forEach((seg, i) => {
    const last = i === segments.length - 1
    if (seg === '.' || seg === '..') {
      if (seg === '..') out.pop()
      if (last) out.push('')
      return
    }
    out.push(seg)
  })
  return '/' + out.join('/')
}

/**
 * A `locations` entry in normal form (empty means `/`), or a reason it is not usable. Matching is
 * by plain prefix as in frp: `/api` also takes `/apis`; write `/api/` to take only the folder.
 */
export function normalizeLocation (location: string): { location: string } | { problem: string } {
  if (location === '') return { location: '/' }
  if (location.length > MAX_LOCATION_CHARS) return { problem: `is longer than ${MAX_LOCATION_CHARS} characters` }
  if (!location.startsWith('/')) return { problem: 'must start with /' }
  if (/[?#\s]/.test(location)) return { problem: 'must be a path only (no ?, # or spaces)' }
  const path = routingPath(location)
  if (path === undefined) return { problem: 'has a broken %-escape' }
  // A trailing slash is meaningful for a prefix ("/api/" does not take "/apis"): keep it.
  const keepSlash = location.endsWith('/') && !path.endsWith('/')
  return { location: keepSlash ? `${path}/` : path }
}

/** Whether `location` (normal form) takes `path` (routing form). */
export function locationMatches (location: string, path: string): boolean {
  return path.startsWith(location)
}

/**
 * The loose form of a request target (see the top of this file): what a protected location is
 * matched against besides the routing form. Undefined when the target cannot be routed at all.
 */
export function loosePath (target: string): string | undefined {
  const path = targetPath(target)
  if (path === undefined || routingPath(target) === undefined) return undefined
  return loosen(path)
}

/** A location (normal form) in loose form, its trailing slash kept. */
export function looseLocation (location: string): string {
  const loose = loosen(location)
  return location.endsWith('/') && !loose.endsWith('/') ? `${loose}/` : loose
}

function loosen (path: string): string {
  let decoded = path
  for (let round = 0; round < MAX_DECODE_ROUNDS && decoded.includes('%'); round++) {
    try {
      decoded = decodeURIComponent(decoded)
    } catch {
      break // a later round that is not a valid escape: what a backend would keep as it is
    }
  }
  const folded = decoded.replace(/\\/g, '/').normalize('NFKC').toLowerCase()
  const segments = folded.split('/').map((seg) => {
    const bare = (seg.split(';', 1)[0] ?? '').replace(/ +$/, '')
    return /^\.+$/.test(bare) ? bare : bare.replace(/[. ]+$/, '')
  })
  return removeDotSegments(segments.join('/').replace(/\/{2,}/g, '/'))
}
