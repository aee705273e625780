// Loopback HTTP(S) services and visitors for vhost tests: a service that answers with what it
// received (as JSON), a minimal WebSocket echo (RFC 6455 framing, text frames), a raw keep-alive
// visitor that sends several requests on one connection, a request helper with any Host header,
// and a self-signed certificate made with openssl. Everything is closed by closeHttp().
import { spawnSync } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import { connect, type AddressInfo, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Duplex } from 'node:stream'
import type { TLSSocket } from 'node:tls'

export const LOOPBACK = '127.0.0.1'

const servers = new Set<Server>()
const sockets = new Set<Duplex>()
const dirs = new Set<string>()

function track<T extends Duplex> (s: T): T {
  sockets.add(s)
  s.on('error', () => {})
  s.once('close', () => { sockets.delete(s) })
  return s
}

export async function closeHttp (): Promise<void> {
  for (const s of sockets) s.destroy()
  sockets.clear()
  const list = [...servers]
  servers.clear()
  await Promise.all(list.map(async (srv) => {
    srv.closeAllConnections()
    await new Promise<void>((resolve) => { srv.close(() => { resolve() }) })
  }))
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
  dirs.clear()
}

async function listen (server: Server): Promise<number> {
  servers.add(server)
  server.on('connection', (s: Socket) => { track(s) })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, LOOPBACK, () => { server.off('error', reject); resolve() })
  })
  return (server.address() as AddressInfo).port
}

/** What an echo service saw of a request. */
export interface Seen {
  service: string
  method: string
  url: string
  headers: Record<string, string | string[] | undefined>
  bodyBytes: number
  bodySha256: string
}

export interface HttpService {
  port: number
  server: Server
  /** TCP connections accepted. */
  connections: number
  requests: Seen[]
}

/**
 * Answers every request with JSON `Seen` after reading the body (hashed). `GET /bytes/N` answers N
 * random bytes instead, with an `x-sha256` trailer-free header computed up front.
 */
export async function startHttpService (name: string, options: { keepAliveTimeoutMs?: number } = {}): Promise<HttpService> {
  const svc: HttpService = { port: 0, server: createServer(), connections: 0, requests: [] }
  svc.server.keepAliveTimeout = options.keepAliveTimeoutMs ?? 5_000
  svc.server.on('connection', () => { svc.connections++ })
  svc.server.on('request', (req, res) => {
    const m = /^\/bytes\/(\d+)$/.exec(req.url ?? '')
    if (m !== null) {
      req.resume()
      sendBytes(res, Number(m[1]))
      return
    }
    const hash = createHash('sha256')
    let bytes = 0
    req.on('data', (c: Buffer) => { hash.update(c); bytes += c.length })
    req.on('end', () => {
      const seen: Seen = { service: name, method: req.method ?? '', url: req.url ?? '', headers: req.headers, bodyBytes: bytes, bodySha256: hash.digest('hex') }
      svc.requests.push(seen)
      const body = JSON.stringify(seen)
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), 'X-Service': name })
      res.end(body)
    })
  })
  svc.port = await listen(svc.server)
  return svc
}

/** Streams `total` random bytes (chunked), the digest in the X-Sha256 header sent first. */
function sendBytes (res: ServerResponse, total: number): void {
  const block = randomBytes(64 * 1024)
  // Deterministic content from one block: its digest is computable before sending.
  const hash = createHash('sha256')
  for (let sent = 0; sent < total; sent += block.length) hash.update(block.subarray(0, Math.min(block.length, total - sent)))
  res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'X-Sha256': hash.digest('hex') })
  let sent = 0
  const pump = (): void => {
    while (sent < total) {
      const n = Math.min(block.length, total - sent)
      sent += n
      if (!res.write(block.subarray(0, n))) { res.once('drain', pump); return }
    }
    res.end()
  }
  pump()
}

export interface Reply {
  status: number
  headers: IncomingMessage['headers']
  body: Buffer
}

/** One request to 127.0.0.1:port with the given Host header (a fresh connection, no agent). */
export function httpRequest (port: number, host: string, path = '/', options: { method?: string, headers?: Record<string, string>, body?: Buffer | string } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: LOOPBACK, port, path, method: options.method ?? 'GET', agent: false, headers: { Host: host, ...options.headers } }, (res) => {
      const parts: Buffer[] = []
      res.on('data', (c: Buffer) => parts.push(c))
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts) }) })
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end(options.body)
  })
}

export function seenOf (reply: Reply): Seen {
  return JSON.parse(reply.body.toString('utf8')) as Seen
}

// ---- a raw keep-alive visitor ----

/**
 * Sends `requests` (each a complete request head, no body) one after another on ONE connection,
 * waiting for each response (Content-Length framed) before the next. Resolves with the bodies.
 */
export async function keepAliveRequests (port: number, requests: readonly string[], timeoutMs = 10_000, options: { localAddress?: string } = {}): Promise<string[]> {
  const socket = track(connect({ host: LOOPBACK, port, ...(options.localAddress === undefined ? {} : { localAddress: options.localAddress }) }))
  await new Promise<void>((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject) })
  const bodies: string[] = []
  let buf = Buffer.alloc(0)
  let wake: (() => void) | undefined
  socket.on('data', (c: Buffer) => { buf = Buffer.concat([buf, c]); wake?.() })
  const deadline = setTimeout(() => { socket.destroy() }, timeoutMs)
  try {
    for (const r of requests) {
      socket.write(r)
      const body = await new Promise<string>((resolve, reject) => {
        const check = (): void => {
          const end = buf.indexOf('\r\n\r\n')
          if (end < 0) return
          const head = buf.subarray(0, end).toString('latin1')
          const len = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? NaN)
          if (!Number.isFinite(len)) { reject(new Error(`no Content-Length in ${head}`)); return }
          if (buf.length < end + 4 + len) return
          resolve(buf.subarray(end + 4, end + 4 + len).toString('utf8'))
          buf = buf.subarray(end + 4 + len)
          wake = undefined
        }
        wake = check
        socket.once('close', () => { reject(new Error('connection closed before the response')) })
        check()
      })
      bodies.push(body)
    }
  } finally {
    clearTimeout(deadline)
    socket.destroy()
  }
  return bodies
}

// ---- WebSocket (enough of RFC 6455 for an echo) ----

const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11'

function wsAccept (key: string): string {
  return createHash('sha1').update(key + WS_GUID).digest('base64')
}

/** An HTTP service whose upgrade handler speaks WebSocket and echoes every text frame back. */
export async function startWebSocketEcho (): Promise<{ port: number, upgrades: number }> {
  const server = createServer((_req, res) => { res.writeHead(426); res.end() })
  const state = { port: 0, upgrades: 0 }
  server.on('upgrade', (req: IncomingMessage, socket: Duplex) => {
    track(socket)
    state.upgrades++
    const key = req.headers['sec-websocket-key'] ?? ''
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${wsAccept(String(key))}\r\n\r\n`)
    let buf = Buffer.alloc(0)
    socket.on('data', (c: Buffer) => {
      buf = Buffer.concat([buf, c])
      for (let f = readFrame(buf); f !== undefined; f = readFrame(buf)) {
        buf = buf.subarray(f.length)
        if (f.opcode === 8) { socket.end(encodeFrame(8, Buffer.alloc(0), false)); return }
        socket.write(encodeFrame(f.opcode, f.payload, false))
      }
    })
  })
  state.port = await listen(server)
  return state
}

interface Frame { opcode: number, payload: Buffer, length: number }

function readFrame (b: Buffer): Frame | undefined {
  if (b.length < 2) return undefined
  const opcode = (b[0] as number) & 0x0f
  const masked = ((b[1] as number) & 0x80) !== 0
  let len = (b[1] as number) & 0x7f
  let off = 2
  if (len === 126) { if (b.length < 4) return undefined; len = b.readUInt16BE(2); off = 4 }
  if (len === 127) { if (b.length < 10) return undefined; len = Number(b.readBigUInt64BE(2)); off = 10 }
  const maskAt = off
  if (masked) off += 4
  if (b.length < off + len) return undefined
  const payload = Buffer.from(b.subarray(off, off + len))
  if (masked) for (let i = 0; i < payload.length; i++) payload[i] = (payload[i] as number) ^ (b[maskAt + (i % 4)] as number)
  return { opcode, payload, length: off + len }
}

function encodeFrame (opcode: number, payload: Buffer, mask: boolean): Buffer {
  const len = payload.length
  const head = len < 126 ? Buffer.from([0x80 | opcode, len]) : len < 65536 ? Buffer.from([0x80 | opcode, 126, len >> 8, len & 0xff]) : Buffer.concat([Buffer.from([0x80 | opcode, 127]), (() => { const x = Buffer.alloc(8); x.writeBigUInt64BE(BigInt(len)); return x })()])
  if (!mask) return Buffer.concat([head, payload])
  head[1] = (head[1] as number) | 0x80
  const key = randomBytes(4)
  const body = Buffer.from(payload)
  for (let i = 0; i < body.length; i++) body[i] = (body[i] as number) ^ (key[i % 4] as number)
  return Buffer.concat([head, key, body])
}

/**
 * Opens a WebSocket to 127.0.0.1:port with the given Host, sends each message as a text frame
 * and collects the echoes; resolves with them and the 101's headers.
 */
export async function webSocketEcho (port: number, host: string, messages: readonly string[], timeoutMs = 10_000): Promise<{ echoes: string[], accept: string | undefined }> {
  const socket = track(connect({ host: LOOPBACK, port }))
  const key = randomBytes(16).toString('base64')
  const timer = setTimeout(() => { socket.destroy(new Error(`websocket: no echo within ${timeoutMs} ms`)) }, timeoutMs)
  try {
    return await new Promise((resolve, reject) => {
      let buf = Buffer.alloc(0)
      let accept: string | undefined
      const echoes: string[] = []
      socket.once('error', reject)
      socket.once('close', () => { reject(new Error(`websocket closed after ${echoes.length} echoes: ${buf.toString('latin1').slice(0, 200)}`)) })
      socket.once('connect', () => {
        socket.write(`GET /ws HTTP/1.1\r\nHost: ${host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`)
      })
      socket.on('data', (c: Buffer) => {
        buf = Buffer.concat([buf, c])
        if (accept === undefined) {
          const end = buf.indexOf('\r\n\r\n')
          if (end < 0) return
          const head = buf.subarray(0, end).toString('latin1')
          if (!head.startsWith('HTTP/1.1 101')) { reject(new Error(`no 101: ${head}`)); return }
          accept = /\r\nsec-websocket-accept:\s*(\S+)/i.exec(head)?.[1] ?? ''
          buf = buf.subarray(end + 4)
          for (const m of messages) socket.write(encodeFrame(1, Buffer.from(m, 'utf8'), true))
        }
        for (let f = readFrame(buf); f !== undefined; f = readFrame(buf)) {
          buf = buf.subarray(f.length)
          echoes.push(f.payload.toString('utf8'))
          if (echoes.length === messages.length) {
            socket.removeAllListeners('close')
            resolve({ echoes, accept: accept === wsAccept(key) ? accept : `mismatch ${accept}` })
            return
          }
        }
      })
    })
  } finally {
    clearTimeout(timer)
    socket.destroy()
  }
}

// ---- TLS ----

export interface TestCert { key: Buffer, cert: Buffer, certPath: string, subject: string }

/**
 * A self-signed certificate for `name`, made with openssl at test time; undefined when openssl
 * is missing (callers fall back to the committed fixture).
 */
export function makeCert (name: string): TestCert | undefined {
  const dir = mkdtempSync(join(tmpdir(), 'tunnel-cert-'))
  dirs.add(dir)
  const keyPath = join(dir, 'key.pem')
  const certPath = join(dir, 'cert.pem')
  const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', keyPath, '-out', certPath,
    '-days', '2', '-subj', `/CN=${name}`, '-addext', `subjectAltName=DNS:${name}`], { encoding: 'utf8', timeout: 20_000 })
  if (r.error !== undefined || r.status !== 0) return undefined
  return { key: readFileSync(keyPath), cert: readFileSync(certPath), certPath, subject: name }
}

const FIXTURE_DIR = join(import.meta.dirname, '..', 'fixtures', 'tls')

/** A fresh openssl certificate for secure.example.test, else the committed one (no openssl). */
export function secureExampleCert (): TestCert {
  const name = 'secure.example.test'
  const made = makeCert(name)
  if (made !== undefined) return made
  const certPath = join(FIXTURE_DIR, `${name}.crt`)
  return { key: readFileSync(join(FIXTURE_DIR, `${name}.key`)), cert: readFileSync(certPath), certPath, subject: name }
}

/** An HTTPS service answering `{ service, servername }` as JSON. */
export async function startHttpsService (name: string, cert: TestCert): Promise<{ port: number }> {
  const server = createHttpsServer({ key: cert.key, cert: cert.cert }, (req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/json' })
    res.end(JSON.stringify({ service: name, servername: (req.socket as TLSSocket).servername, url: req.url }))
  })
  return { port: await listen(server) }
}
