// The path a request is routed by, and the `locations` prefixes proxies claim, in one normal form:
// percent-decoded, runs of `/` merged, `.` and `..` segments resolved. A backend reads
// `/%61dmin`, `//admin` and `/x/../admin` as `/admin`; routing the same way means a location
// with its own proxy (and its own httpUser) cannot be reached around through another spelling.
// The request line is forwarded unchanged; only the routing decision uses this form.

export const MAX_LOCATION_CHARS = 256

/** The decoded path of a request target, or undefined when it cannot be routed (400). */
export function routingPath (target: string): string | undefined {
  if (target === '*') return '/'
  let path: string
  if (/^https?:\/\//i.test(target)) {
    // absolute-form (a client talking to a proxy): the path of the URL.
    try {
      path = new URL(target).pathname
    } catch {
      return undefined
    }
  } else {
    if (!target.startsWith('/')) return undefined
    const end = target.search(/[?#]/)
    path = end < 0 ? target : target.slice(0, end)
  }
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
