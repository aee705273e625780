// frp's static_file plugin: serves a folder (localPath) over HTTP: GET and HEAD, byte ranges and
// conditional requests (ETag, Last-Modified) by `send` (the expressjs project's file sender), a
// plain listing for folders without index.html. stripPrefix `static` serves /static/a.txt from
// localPath/a.txt (other paths: 404). No request leaves the folder: a `..` segment is refused
// (403), and every path is resolved with realpath and must stay inside the folder's own realpath,
// so a symlink that leads out answers 404 like a missing file. Names starting with `.` are not
// served or listed. With httpUser/httpPassword visitors need Basic credentials (401 otherwise).
import { opendir, realpath, stat } from 'node:fs/promises'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { relative, resolve, sep } from 'node:path'
import { createRequire } from 'node:module'
import type send from 'send'
import { CredentialCheck } from './credentials.js'
import { answer } from './forward-http.js'
import { closeServer, plainServer, serveHttp, visitorOf } from './http-serve.js'
import type { ClientPlugin, PluginFactory } from './plugin.js'

/** Entries a folder listing shows at most (the rest are cut, with a line saying so). */
export const MAX_LISTING_ENTRIES = 10_000

const CHALLENGE = 'Basic realm="tunnel", charset="UTF-8"'

function escapeHtml (text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
}

/** Whether `path` is `root` or inside it (both already real paths). */
function inside (root: string, path: string): boolean {
  return path === root || path.startsWith(root.endsWith(sep) ? root : root + sep)
}

type Resolved = { status: number } | { path: string, root: string, isDirectory: boolean }

/** The real file or folder a request path names inside the folder, or the status to answer. */
export async function resolveInside (localPath: string, relativeUrlPath: string): Promise<Resolved> {
  let decoded: string
  try {
    decoded = decodeURIComponent(relativeUrlPath)
  } catch {
    return { status: 400 }
  }
  if (decoded.includes('\0') || decoded.includes('\\')) return { status: 400 }
  const segments = decoded.split('/').filter((s) => s !== '' && s !== '.')
  if (segments.includes('..')) return { status: 403 }
  if (segments.some((s) => s.startsWith('.'))) return { status: 404 }
  let root: string
  let real: string
  try {
    root = await realpath(localPath)
    real = await realpath(resolve(root, ...segments))
  } catch {
    return { status: 404 }
  }
  // A symlink inside the folder that leads out of it is as good as missing.
  if (!inside(root, real)) return { status: 404 }
  try {
    const st = await stat(real)
    if (!st.isFile() && !st.isDirectory()) return { status: 404 }
    return { path: real, root, isDirectory: st.isDirectory() }
  } catch {
    return { status: 404 }
  }
}

/** A URL path for send (relative to its root, every segment percent-encoded). */
function sendPath (root: string, file: string): string {
  return '/' + relative(root, file).split(sep).map(encodeURIComponent).join('/')
}

async function listing (res: ServerResponse, dir: string, urlPath: string, head: boolean): Promise<void> {
  const names: string[] = []
  let cut = false
  const handle = await opendir(dir)
  for await (const entry of handle) {
    if (entry.name.startsWith('.')) continue
    if (names.length >= MAX_LISTING_ENTRIES) { cut = true; break }
    names.push(entry.isDirectory() ? `${entry.name}/` : entry.name)
  }
  names.sort()
  const items = names.map((n) => `<a href="${escapeHtml(n.split('/').map(encodeURIComponent).join('/'))}">${escapeHtml(n)}</a>`)
  const body = `<!doctype html>\n<meta charset="utf-8">\n<title>${escapeHtml(urlPath)}</title>\n<pre>\n${items.join('\n')}${cut ? `\n(only the first ${MAX_LISTING_ENTRIES} entries)` : ''}\n</pre>\n`
  res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-length': Buffer.byteLength(body) })
  res.end(head ? undefined : body)
}

export const createStaticFile: PluginFactory<'static_file'> = (config, ctx): ClientPlugin => {
  const check = config.credentials === null ? undefined : new CredentialCheck(config.credentials)
  const prefix = config.stripPrefix === '' ? '/' : `/${config.stripPrefix}/`

  async function serveFile (req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (check !== undefined && !check.matchesBasic(req.headers.authorization)) {
      ctx.events.refused('TUN_PLUGIN_AUTH', req.headers.authorization === undefined ? 'no Authorization' : 'wrong Authorization', visitorOf(req))
      answer(res, 401, 'authentication required', { 'www-authenticate': CHALLENGE })
      return
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') { answer(res, 405, 'only GET and HEAD', { allow: 'GET, HEAD' }); return }
    const url = req.url ?? ''
    if (!url.startsWith('/')) { answer(res, 400, 'the request target must be a path'); return }
    const query = url.indexOf('?')
    const urlPath = query === -1 ? url : url.slice(0, query)
    if (!urlPath.startsWith(prefix)) { answer(res, 404, 'not found'); return }
    const found = await resolveInside(config.localPath, urlPath.slice(prefix.length))
    if ('status' in found) { answer(res, found.status, found.status === 403 ? 'forbidden' : found.status === 400 ? 'bad path' : 'not found'); return }
    if (found.isDirectory) {
      if (!urlPath.endsWith('/')) { answer(res, 301, 'moved', { location: `${urlPath}/${query === -1 ? '' : url.slice(query)}` }); return }
      const index = await resolveInside(found.path, 'index.html')
      if (!('status' in index) && !index.isDirectory && inside(found.root, index.path)) {
        pipeFile(req, res, found.root, index.path)
        return
      }
      await listing(res, found.path, urlPath, req.method === 'HEAD')
      return
    }
    pipeFile(req, res, found.root, found.path)
  }

  function pipeFile (req: IncomingMessage, res: ServerResponse, root: string, file: string): void {
    sendFile()(req, sendPath(root, file), { root, dotfiles: 'allow', index: false })
      .on('error', (err: Error & { status?: number }) => { answer(res, err.status ?? 500, err.status === 404 ? 'not found' : 'cannot send the file') })
      .pipe(res)
  }

  const server = plainServer((req, res) => {
    serveFile(req, res).catch(() => { answer(res, 500, 'cannot read the folder') })
  })

  return {
    type: 'static_file',
    handle (conn) {
      if (conn.stream.closed) { conn.done(); return }
      conn.stream.accept()
      serveHttp(server, conn)
    },
    close () { closeServer(server) },
  }
}

// send (with mime-db's table of every media type, a MiB of heap) loads with the first file
// served, not with the client: a client without a static_file plugin never loads it (issue 21).
const requireLazily = createRequire(import.meta.url)
let sender: typeof send | undefined
function sendFile (): typeof send {
  sender ??= requireLazily('send') as typeof send
  return sender
}
