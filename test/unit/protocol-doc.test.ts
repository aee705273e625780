// docs/protocol.md is the wire's spec: every frame type, flag, code, handshake number, control
// message (with its sender and fields), proxy spec field and capability that exists in the code
// is in its tables with the same value, and nothing the code lacks is. Changing the wire without
// the document fails here.
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { HANDSHAKE_VERSION, HelloFlag, Refusal, ResponseKind } from '../../shared/transport/handshake.js'
import { Capability, CONTROL_MESSAGE_SCHEMAS, CONTROL_PROTOCOL_VERSION, MESSAGE_SENDER } from '../../shared/wire/control.js'
import { AddressFamily } from '../../shared/wire/dgram.js'
import { Flag, FrameType, GoAwayCode, PROTOCOL_VERSION, ResetCode } from '../../shared/wire/frame.js'
import { PROXY_SPEC_SCHEMAS } from '../../shared/wire/proxy-spec.js'
import { VisitKind } from '../../shared/wire/visit.js'

const doc = readFileSync(new URL('../../docs/protocol.md', import.meta.url), 'utf8')
const lines = doc.split('\n')

/** The rows of the first table after the line that names `caption`, as arrays of cells. */
function tableAfter (caption: string): string[][] {
  const start = lines.findIndex((l) => l.includes(caption))
  if (start === -1) throw new Error(`docs/protocol.md has no line with ${caption}`)
  let i = start + 1
  while (i < lines.length && !(lines[i] ?? '').startsWith('|')) i++
  const rows: string[][] = []
  for (i += 2; i < lines.length && (lines[i] ?? '').startsWith('|'); i++) {
    rows.push((lines[i] ?? '').split('|').slice(1, -1).map((c) => c.trim()))
  }
  return rows
}

const unquote = (cell: string | undefined): string => (cell ?? '').replace(/^`|`$/g, '')
const numberOf = (cell: string | undefined): number => Number((cell ?? '').trim())
/** The `name` → value table of a code object, as the document has it. */
const codes = (caption: string): Record<string, number> => Object.fromEntries(tableAfter(caption).map((r) => [unquote(r[0]), numberOf(r[1])]))
/** Backticked field names in a cell, without their `?`. */
const fieldsIn = (cell: string | undefined): string[] => [...(cell ?? '').matchAll(/`(\w+)`\??/g)].map((m) => m[1] ?? '')

describe('docs/protocol.md', () => {
  it('lists every wire number table exactly as the code has it', () => {
    expect(codes('(`FrameType`)')).toEqual(FrameType)
    expect(codes('(`Flag`)')).toEqual(Flag)
    expect(codes('(`GoAwayCode`')).toEqual(GoAwayCode)
    expect(codes('(`ResetCode`')).toEqual(ResetCode)
    expect(codes('(`Refusal`)')).toEqual(Refusal)
    expect(codes('(`HelloFlag`)')).toEqual(HelloFlag)
    expect(codes('(`ResponseKind`)')).toEqual(ResponseKind)
    expect(codes('(`AddressFamily`)')).toEqual(AddressFamily)
    expect(codes('(`VisitKind`)')).toEqual(VisitKind)
  })

  it('states the versions', () => {
    expect(doc).toContain(`the handshake version (hello byte 4, \`${HANDSHAKE_VERSION}\`)`)
    expect(doc).toContain(`the frame version\n(frame byte 0, \`${PROTOCOL_VERSION}\`)`)
    expect(doc).toContain(`control protocol version, now \`${CONTROL_PROTOCOL_VERSION}\``)
  })

  it('lists every control message with its sender and exactly its fields', () => {
    const rows = tableAfter('A CONTROL frame carries one JSON object')
    const documented = Object.fromEntries(rows.map((r) => [unquote(r[0]), { sender: r[1], fields: fieldsIn(r[2]).sort() }]))
    const fromCode = Object.fromEntries(Object.entries(CONTROL_MESSAGE_SCHEMAS).map(([type, schema]) => [type, {
      sender: MESSAGE_SENDER[type as keyof typeof MESSAGE_SENDER],
      fields: Object.keys(schema.shape).filter((k) => k !== 'type').sort(),
    }]))
    expect(documented).toEqual(fromCode)
  })

  it('lists every proxy type\'s spec fields', () => {
    const common = ['name', 'type', 'allowSources', 'denySources']
    const documented = Object.fromEntries(tableAfter('### 5.2 Proxy specs').map((r) => [unquote(r[0]), fieldsIn(r[1]).sort()]))
    const fromCode = Object.fromEntries(Object.entries(PROXY_SPEC_SCHEMAS).map(([type, schema]) => [type, Object.keys(schema.shape).filter((k) => !common.includes(k)).sort()]))
    expect(documented).toEqual(fromCode)
  })

  it('lists every capability', () => {
    expect(tableAfter('Capabilities name what a side can do').map((r) => unquote(r[0])).sort()).toEqual(Object.values(Capability).sort())
  })
})
