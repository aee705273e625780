// The open header carried by DATA+SYN: which proxy a new stream belongs to and who the
// visitor is, so the client can log it and (later) write a PROXY protocol header.
//   u16 nameLen | name (UTF-8) | addr(visitor) | addr(listener) [| visit block]
//   addr = u8 len | address text (ASCII, already normalised) | u16 port
// A stream toward a secret proxy (stcp, sudp) carries a visit block after the endpoints
// (visit.ts): the proof that its visitor knows the proxy's secret. Only peers that agreed on the
// `visit` or `proxy.stcp` / `proxy.sudp` capabilities send one.
import { ProtocolError } from '../errors.js'
import { MAX_OPEN_BYTES } from './frame.js'
import { decodeVisit, encodeVisit, type VisitBlock } from './visit.js'

export interface Endpoint {
  address: string
  port: number
}

export interface OpenHeader {
  proxy: string
  visitor: Endpoint
  listener: Endpoint
  /** Secret proxies only: the visitor's proof (visit.ts). */
  visit?: VisitBlock
}

export function encodeOpen (open: OpenHeader): Buffer {
  const name = Buffer.from(open.proxy, 'utf8')
  const v = Buffer.from(open.visitor.address, 'latin1')
  const l = Buffer.from(open.listener.address, 'latin1')
  const visit = open.visit === undefined ? undefined : encodeVisit(open.visit)
  const size = 2 + name.length + 3 + v.length + 3 + l.length + (visit?.length ?? 0)
  if (name.length > 255 || v.length > 64 || l.length > 64 || size > MAX_OPEN_BYTES) {
    throw new ProtocolError('TUN_FRAME_INVALID', 'open header fields too long')
  }
  const b = Buffer.allocUnsafe(size)
  let off = b.writeUInt16BE(name.length, 0)
  off += name.copy(b, off)
  off = writeEndpoint(b, off, v, open.visitor.port)
  off = writeEndpoint(b, off, l, open.listener.port)
  visit?.copy(b, off)
  return b
}

function writeEndpoint (b: Buffer, off: number, addr: Buffer, port: number): number {
  off = b.writeUInt8(addr.length, off)
  off += addr.copy(b, off)
  return b.writeUInt16BE(port, off)
}

export function decodeOpen (b: Buffer): OpenHeader {
  const r = new Reader(b)
  const nameLen = r.u16()
  const proxy = r.bytes(nameLen).toString('utf8')
  const visitor = r.endpoint()
  const listener = r.endpoint()
  if (r.off === b.length) return { proxy, visitor, listener }
  return { proxy, visitor, listener, visit: decodeVisit(b.subarray(r.off)) }
}

class Reader {
  off = 0
  constructor (readonly b: Buffer) {}
  u16 (): number {
    if (this.off + 2 > this.b.length) throw bad('truncated')
    const v = this.b.readUInt16BE(this.off)
    this.off += 2
    return v
  }

  bytes (n: number): Buffer {
    if (this.off + n > this.b.length) throw bad('truncated')
    const v = this.b.subarray(this.off, this.off + n)
    this.off += n
    return v
  }

  endpoint (): Endpoint {
    const len = this.bytes(1)[0] as number
    const address = this.bytes(len).toString('latin1')
    return { address, port: this.u16() }
  }
}

function bad (why: string): ProtocolError {
  return new ProtocolError('TUN_FRAME_INVALID', `malformed open header: ${why}`)
}
