// The flow-open block at the start of a DGRAM+SYN payload: which proxy a new UDP flow belongs to
// and who the visitor is. Later datagrams of the flow carry only the flow id in the header.
//   u8 nameLen | name (UTF-8, 1-255 B) | u8 family (4|6) | address (4|16 B) | u16 port | datagram…
// Addresses travel normalised: an IPv4-mapped IPv6 visitor is sent as family 4.
import { isIP } from 'node:net'
import { ProtocolError, TunnelError } from '../errors.js'
import { ipv6Bytes, normalizeAddress } from '../net/index.js'
import { MAX_FLOW_OPEN_BYTES } from './frame.js'

export const AddressFamily = {
  IPV4: 4,
  IPV6: 6,
} as const

export interface FlowOpen {
  /** The proxy's wire name (`{user}.{name}` when user is set). */
  proxy: string
  /** The visitor, normalised (IPv4-mapped becomes IPv4; zone ids are dropped). */
  visitor: { address: string, port: number }
}

/** Encodes the block; throws TUN_PROXY_INVALID when the name or address cannot be carried. */
export function encodeFlowOpen (open: FlowOpen): Buffer {
  const name = Buffer.from(open.proxy, 'utf8')
  if (name.length < 1 || name.length > 255) throw new TunnelError('TUN_PROXY_INVALID', `proxy name "${open.proxy}" must be 1-255 bytes to carry UDP flows`)
  const addr = addressBytes(open.visitor.address)
  if (addr === undefined) throw new TunnelError('TUN_PROXY_INVALID', `visitor address "${open.visitor.address}" is not an IP address`)
  const b = Buffer.allocUnsafe(1 + name.length + 1 + addr.length + 2)
  let off = b.writeUInt8(name.length, 0)
  off += name.copy(b, off)
  off = b.writeUInt8(addr.length === 4 ? AddressFamily.IPV4 : AddressFamily.IPV6, off)
  b.set(addr, off)
  b.writeUInt16BE(open.visitor.port & 0xffff, off + addr.length)
  return b
}

/** The 4 or 16 bytes of an address, mapped IPv6 as IPv4; undefined for a non-IP string. */
function addressBytes (address: string): Uint8Array | undefined {
  const zoneAt = address.indexOf('%')
  const norm = normalizeAddress(zoneAt === -1 ? address : address.slice(0, zoneAt))
  if (isIP(norm) === 4) return Uint8Array.from(norm.split('.').map(Number))
  return ipv6Bytes(norm)
}

/** Parses the block at the start of `payload`; `dataOffset` is where the datagram starts. */
export function decodeFlowOpen (payload: Buffer): { open: FlowOpen, dataOffset: number } {
  if (payload.length < 1) throw bad('empty')
  const nameLen = payload[0] as number
  if (nameLen === 0) throw bad('empty proxy name')
  let off = 1 + nameLen
  if (off + 1 > payload.length) throw bad('truncated name')
  const proxy = payload.toString('utf8', 1, off)
  const family = payload[off] as number
  off += 1
  const size = family === AddressFamily.IPV4 ? 4 : family === AddressFamily.IPV6 ? 16 : -1
  if (size < 0) throw bad(`address family ${family} is neither 4 nor 6`)
  if (off + size + 2 > payload.length) throw bad('truncated address')
  const bytes = payload.subarray(off, off + size)
  off += size
  const port = payload.readUInt16BE(off)
  off += 2
  if (off > MAX_FLOW_OPEN_BYTES) throw bad('block too long')
  return { open: { proxy, visitor: { address: formatAddress(bytes), port } }, dataOffset: off }
}

function formatAddress (bytes: Buffer): string {
  if (bytes.length === 4) return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`
  const groups: string[] = []
  for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(i).toString(16))
  return normalizeAddress(groups.join(':'))
}

function bad (why: string): ProtocolError {
  return new ProtocolError('TUN_FRAME_INVALID', `malformed UDP flow-open block: ${why}`)
}
