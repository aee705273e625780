import { describe, expect, it } from 'vitest'
import { Flag, FrameType, GoAwayCode, HEADER_BYTES, MAX_CONTROL_BYTES, MAX_DATA_BYTES, MAX_DATAGRAM_BYTES, MAX_DGRAM_BYTES, MAX_FLOW_OPEN_BYTES, PROTOCOL_VERSION, ResetCode } from '../../shared/wire/frame.js'
import { AddressFamily } from '../../shared/wire/dgram.js'
import { Capability, CONTROL_PROTOCOL_VERSION, MessageType } from '../../shared/wire/control.js'
import { MAX_VISIT_BLOCK_BYTES, OPEN_EXTENSION_VISIT, VISIT_MAC_BYTES, VISIT_NONCE_BYTES, VisitKind } from '../../shared/wire/visit.js'

// Changing any of these numbers changes the wire: do it on purpose, bump the version.
describe('wire numbers', () => {
  it('keeps the frame header layout and version', () => {
    expect(PROTOCOL_VERSION).toBe(1)
    expect(HEADER_BYTES).toBe(12)
    expect(MAX_DATA_BYTES).toBe(65536)
    expect(MAX_CONTROL_BYTES).toBe(65536)
  })

  it('keeps the datagram limits and the flow-open block layout', () => {
    expect(MAX_DATAGRAM_BYTES).toBe(65527)
    expect(MAX_FLOW_OPEN_BYTES).toBe(275)
    expect(MAX_DGRAM_BYTES).toBe(65802)
    expect(AddressFamily).toEqual({ IPV4: 4, IPV6: 6 })
  })

  it('keeps frame types, flags and codes stable', () => {
    expect(FrameType).toEqual({ DATA: 0, WINDOW_UPDATE: 1, PING: 2, GOAWAY: 3, RESET: 4, DGRAM: 5, CONTROL: 6 })
    expect(Flag).toEqual({ SYN: 1, ACK: 2, FIN: 4 })
    expect(GoAwayCode).toEqual({ NORMAL: 0, PROTOCOL: 1, INTERNAL: 2, AUTH: 3, RESTARTING: 4, REPLACED: 5, HEARTBEAT_TIMEOUT: 6 })
    expect(ResetCode).toEqual({ CANCEL: 0, REFUSED: 1, FLOW_CONTROL: 2, TIMEOUT: 3, TOO_MANY_STREAMS: 4, INTERNAL: 5, SOCKET_ERROR: 6, FORBIDDEN: 7, RATE_LIMITED: 8 })
  })

  it('keeps control message types stable', () => {
    expect(CONTROL_PROTOCOL_VERSION).toBe(2)
    expect(Capability).toEqual({ TCP: 'proxy.tcp', UDP: 'proxy.udp', HTTP: 'proxy.http', HTTPS: 'proxy.https', UNREGISTER: 'unregister', DIAG: 'diag', NAT_PROBE: 'natProbe', TCPMUX: 'proxy.tcpmux', GROUP: 'group', HEALTH: 'health', STCP: 'proxy.stcp', SUDP: 'proxy.sudp', VISIT: 'visit' })
    expect(MessageType).toEqual({ LOGIN: 'login', LOGIN_RESULT: 'loginResult', REGISTER: 'register', PROXY_RESULT: 'proxyResult', NAT_PROBE: 'natProbe', DIAG_REQUEST: 'diagRequest', DIAG_RESULT: 'diagResult', UNREGISTER: 'unregister', UNREGISTER_RESULT: 'unregisterResult', PROXY_HEALTH: 'proxyHealth' })
  })

  it('keeps the visit block layout and its kinds', () => {
    expect(OPEN_EXTENSION_VISIT).toBe(1)
    expect(VisitKind).toEqual({ STCP: 1, SUDP: 2 })
    expect(VISIT_NONCE_BYTES).toBe(16)
    expect(VISIT_MAC_BYTES).toBe(32)
    expect(MAX_VISIT_BLOCK_BYTES).toBe(1 + 1 + 16 + 8 + 32 + 32 + 1 + 128)
  })
})
