import { fc, test } from '@fast-check/vitest'
import { describe, expect } from 'vitest'
import { decodeStun, encodeStun, StunClass } from '../../shared/stun/index.js'

describe('STUN codec (property)', () => {
  test.prop([fc.uint8Array({ maxLength: 600 })], { numRuns: 2000 })('never throws on arbitrary bytes', (bytes) => {
    expect(() => decodeStun(Buffer.from(bytes))).not.toThrow()
  })

  test.prop([fc.uint8Array({ minLength: 12, maxLength: 12 }), fc.oneof(fc.ipV4(), fc.ipV6()), fc.integer({ min: 0, max: 65535 })], { numRuns: 500 })('a Binding answer reads back with its mapped port and transaction', (tid, host, port) => {
    const transactionId = Buffer.from(tid)
    const back = decodeStun(encodeStun({ cls: StunClass.SUCCESS, method: 1, transactionId, mapped: { host, port } }))
    expect(back?.mapped?.port).toBe(port)
    expect(back?.transactionId.equals(transactionId)).toBe(true)
  })

  test.prop([fc.uint8Array({ minLength: 20, maxLength: 200 }), fc.integer({ min: 0, max: 199 }), fc.integer({ min: 0, max: 255 })], { numRuns: 1000 })('a message with one byte flipped decodes or is refused, never throws', (tail, at, value) => {
    const good = encodeStun({ cls: StunClass.SUCCESS, method: 1, transactionId: Buffer.from(tail.subarray(0, 12)), mapped: { host: '192.0.2.1', port: 1 }, software: 'x' })
    const bad = Buffer.from(good)
    bad[at % bad.length] = value
    expect(() => decodeStun(bad)).not.toThrow()
  })
})
