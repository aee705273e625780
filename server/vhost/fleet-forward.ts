// A request on vhostHTTPPort for a host no proxy of this relay serves, on a fleet relay: when
// another relay of the fleet serves the domain's owner, the request goes there over the
// inter-relay link (one link stream per request, carrying the original visitor's address), and
// that relay's vhost answers it as it would a visitor of its own: its routing, basic auth, source
// filters, header rewrites and X-Forwarded-For all apply there, to the original visitor. The
// request is passed on as the visitor sent it (end-to-end headers only, Host untouched) and the
// answer comes back as that relay gave it. A request that arrived over a link is never forwarded
// again (no loops).
import { request, type ClientRequest, type IncomingMessage, type ServerResponse } from 'node:http'
import type { Duplex } from 'node:stream'
import type { Endpoint } from '../../shared/wire/index.js'
import { endToEnd } from './header-rewrite.js'

/** What the vhost asks of the fleet (server/fleet implements it; relay.ts wires it in). */
export interface VhostForwarder {
  /** A stream to a relay that serves `host`'s owner, carrying the visitor; undefined when none does. Throws when the way fails. */
  open: (kind: 'http' | 'https', host: string, visitor: Endpoint, listener: Endpoint) => Promise<Duplex | undefined>
  /** A forward for `host` failed: its route is looked up again next time. */
  failed: (kind: 'http' | 'https', host: string) => void
  /** The connection came over an inter-relay link. */
  forwarded: (socket: Duplex) => boolean
}

/** The answer of the relay forwarded to must start within its own vhostHTTPTimeout plus this. */
export const FORWARD_SLACK_MS = 5_000

export type ForwardOutcome = 'forwarded' | 'none' | 'failed' | 'timeout'

/**
 * Sends `req` to another relay of the fleet and pipes its answer into `res`. Resolves 'none'
 * (no relay serves the host: the caller answers 404), 'failed'/'timeout' before any answer
 * (the caller answers 502/504), or 'forwarded' once the answer's head was written.
 */
export async function forwardToFleet (forwarder: VhostForwarder, req: IncomingMessage, res: ServerResponse, host: string, visitor: Endpoint, listener: Endpoint, timeoutMs: number, maxHeaderSize: number): Promise<ForwardOutcome> {
  let link: Duplex | undefined
  try {
    link = await forwarder.open('http', host, visitor, listener)
  } catch {
    forwarder.failed('http', host)
    return 'failed'
  }
  if (link === undefined) return 'none'
  const stream = link
  if (res.destroyed) { stream.destroy(); return 'failed' }
  const headers = endToEnd(req.rawHeaders, new Set(['expect']))
  const te = req.headers['transfer-encoding']
  if (te !== undefined) headers.push('Transfer-Encoding', te)
  return await new Promise<ForwardOutcome>((resolve) => {
    let settled = false
    const settle = (o: ForwardOutcome): void => { if (!settled) { settled = true; resolve(o) } }
    let out: ClientRequest
    try {
      out = request({ createConnection: () => stream, method: req.method ?? 'GET', path: req.url ?? '/', headers, setHost: false, maxHeaderSize })
    } catch {
      stream.destroy()
      settle('failed')
      return
    }
    const timer = setTimeout(() => { out.destroy(); settle('timeout') }, timeoutMs + FORWARD_SLACK_MS)
    res.once('close', () => { if (!res.writableFinished) out.destroy() })
    out.once('response', (ans: IncomingMessage) => {
      clearTimeout(timer)
      if (res.destroyed) { ans.destroy(); settle('forwarded'); return }
      try {
        res.writeHead(ans.statusCode ?? 502, ans.statusMessage ?? '', endToEnd(ans.rawHeaders))
      } catch {
        ans.destroy()
        settle('failed')
        return
      }
      settle('forwarded')
      ans.on('error', () => { res.destroy() })
      ans.once('close', () => { if (!ans.complete) res.destroy() })
      ans.pipe(res)
    })
    out.on('error', () => {
      clearTimeout(timer)
      if (settled) { res.destroy(); return }
      forwarder.failed('http', host)
      settle('failed')
    })
    const hasBody = req.headers['transfer-encoding'] !== undefined || (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0')
    if (hasBody) req.pipe(out)
    else out.end()
  })
}
