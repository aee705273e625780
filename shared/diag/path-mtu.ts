// Path MTU arithmetic (pure). Linux's send MSS is the path MTU minus the IP header, the TCP
// header and the timestamp option (on by default): MTU 1500 → MSS 1448, MTU 1400 → 1348 over
// IPv4; 1428 / 1328 over IPv6. A UDP datagram crosses a path of MTU m unfragmented when its
// payload is at most m − IP header − 8.
import type { WireFamily } from './ss-address.js'
import type { TcpInfo } from './tcp-info.js'

export const ETHERNET_MTU = 1500
export const IP_HEADER_BYTES: Readonly<Record<WireFamily, number>> = { ipv4: 20, ipv6: 40 }
export const TCP_HEADER_BYTES = 20
export const TCP_TIMESTAMP_OPTION_BYTES = 12
export const UDP_HEADER_BYTES = 8
/** The kernel's rcvmss before any data arrived (TCP_MSS_DEFAULT): it says nothing about the path. */
export const DEFAULT_RCV_MSS = 536
/** Received data segments needed before rcvmss is trusted as the peer's MSS. */
export const MIN_SEGMENTS_FOR_RCV_MSS = 16
/** Average received segment size, as a share of rcvmss, above which the peer sends full segments. */
export const FULL_SEGMENT_SHARE = 0.9

export function tcpOverheadBytes (family: WireFamily, timestamps: boolean): number {
  return IP_HEADER_BYTES[family] + TCP_HEADER_BYTES + (timestamps ? TCP_TIMESTAMP_OPTION_BYTES : 0)
}

/** The path MTU an MSS implies: 1348 over IPv4 with timestamps → 1400. */
export function mtuFromMss (mss: number, family: WireFamily, timestamps = true): number {
  return mss + tcpOverheadBytes(family, timestamps)
}

/** The largest UDP payload that crosses a path of this MTU without IP fragmentation. */
export function maxUdpPayload (mtu: number, family: WireFamily): number {
  return Math.max(0, mtu - IP_HEADER_BYTES[family] - UDP_HEADER_BYTES)
}

export interface PathEstimate {
  /** This end's sending direction: the smaller of the kernel's pmtu and what the send MSS implies (a clamp shows only in the MSS). */
  sendPathMtu: number | null
  /** The peer's sending direction, from rcvmss once the peer has sent full-sized segments; else null. */
  peerPathMtu: number | null
  /** The smaller of the two: what crosses the path both ways. */
  pathMtu: number | null
}

/** True when rcvmss is the peer's MSS rather than the size of its small writes. */
export function rcvMssIsPeerMss (info: TcpInfo): boolean {
  const { rcvmss, dataSegsIn, bytesReceived } = info
  if (rcvmss === undefined || rcvmss <= DEFAULT_RCV_MSS) return false
  if (dataSegsIn === undefined || bytesReceived === undefined || dataSegsIn < MIN_SEGMENTS_FOR_RCV_MSS) return false
  return bytesReceived / dataSegsIn >= FULL_SEGMENT_SHARE * rcvmss
}

/**
 * `timestamps`: whether the connection uses the timestamp option (ss prints `ts`; otherwise
 * net.ipv4.tcp_timestamps decides, on by default).
 */
export function estimatePath (info: TcpInfo, family: WireFamily, timestamps: boolean): PathEstimate {
  const implied = info.mss === undefined ? undefined : mtuFromMss(info.mss, family, timestamps)
  const candidates = [info.pmtu, implied].filter((v): v is number => v !== undefined && v > 0)
  const sendPathMtu = candidates.length === 0 ? null : Math.min(...candidates)
  const peerPathMtu = rcvMssIsPeerMss(info) ? mtuFromMss(info.rcvmss as number, family, timestamps) : null
  const known = [sendPathMtu, peerPathMtu].filter((v): v is number => v !== null)
  return { sendPathMtu, peerPathMtu, pathMtu: known.length === 0 ? null : Math.min(...known) }
}
