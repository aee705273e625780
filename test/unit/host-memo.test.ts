// The vhost's memo of normalised Host values: the same answers as normalising, in bounded memory.
import { describe, expect, it } from 'vitest'
import { HostMemo } from '../../server/vhost/host-memo.js'
import { hostFromHeader } from '../../shared/http/host.js'

describe('HostMemo', () => {
  it('answers as hostFromHeader does, for hosts and for what is not one, asked once or again', () => {
    const memo = new HostMemo()
    for (const value of ['WWW.Example.COM:8080', '[::1]:80', 'bücher.example', 'a b', '', 'x.test.', 'x.test.']) {
      expect(memo.get(value), value).toBe(hostFromHeader(value))
      expect(memo.get(value), value).toBe(hostFromHeader(value))
    }
  })

  it('forgets everything once it holds its bound, so a visitor sending a new Host each time grows nothing', () => {
    const memo = new HostMemo(8)
    for (let i = 0; i < 100; i++) {
      expect(memo.get(`h${i}.test`)).toBe(`h${i}.test`)
      expect(memo.size).toBeLessThanOrEqual(8)
    }
  })
})
