// The open header carried by DATA+SYN: which proxy a new stream belongs to and who the
// visitor is, so the client can log it and (later) write a PROXY protocol header.
//   u16 nameLen | name (UTF-8) | addr(visitor) | addr(listener)
//   addr = u8 len | address text (ASCII, already normalised) | u16 port
import { ProtocolError } from '../errors.js'
import { MAX_OPEN_BYTES } from './frame.js'

export interface Endpoint {
  address: string
  port: number
}

export interface OpenHeader {
  proxy: string
  visitor: Endpoint
  listener: Endpoint
}

export function encodeOpen (open: OpenHeader): Buffer {
  const name = Buffer.from(open.proxy, 'utf8')
  const v = Buffer.from(open.visitor.address, 'latin1')
  const l = Buffer.from(open.listener.address, 'latin1')
  const size = 2 + name.length + 3 + v.length + 3 + l.length
  if (name.length > 255 || v.length > 64 || l.length > 64 || size > MAX_OPEN_BYTES) {
    throw new ProtocolError('TUN_FRAME_INVALID', 'open header fields too long')
  }
  const b = Buffer.allocUnsafe(size)
  let off = b.writeUInt16BE(name.length, 0)
  off += name.copy(b, off)
  off = writeEndpoint(b, off, v, open.visitor.port)
  writeEndpoint(b, off, l, open.listener.port)
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
  if (r.off !== b.length) throw bad(`${b.length - r.off} trailing bytes`)
  return { proxy, visitor, listener }
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
