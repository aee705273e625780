// Issue 22, a low finding: a client that sends diagRequest after diagRequest made the relay run
// `ss` back to back. Now each session may ask DIAG_BURST times at once and then once per
// DIAG_INTERVAL_MS; the excess is answered TUN_RELAY_BUSY without running anything. Work is
// counted as calls of the relay's report source (each would run ss), not as time.
import { afterEach, describe, expect, it } from 'vitest'
import { DIAG_BURST, DIAG_INTERVAL_MS, DiagRateLimit } from '../../server/diag-answer.js'
import type { PeerViewSource } from '../../server/peer-view.js'
import { MessageType } from '../../shared/wire/control.js'
import { closeInProcess, rawControl, startRelayInProcess } from '../helpers/in-process.js'

afterEach(async () => { await closeInProcess() })

const REQUESTS = 50

describe('issue 22: diagnostic requests are rate-limited per session', () => {
  it('runs the report for the first requests of a burst only and answers the rest TUN_RELAY_BUSY', async () => {
    let runs = 0
    const peerView: PeerViewSource = async () => { runs++; return await Promise.resolve({ control: [], findings: [], unavailable: [] }) }
    const { port } = await startRelayInProcess('', undefined, 0, { peerView })
    const raw = await rawControl(port, 'curious')
    for (let id = 1; id <= REQUESTS; id++) raw.send({ type: MessageType.DIAG_REQUEST, id })
    await raw.waitFor((m) => m.type === MessageType.DIAG_RESULT && m.id === REQUESTS)
    const results = raw.messages.filter((m) => m.type === MessageType.DIAG_RESULT)
    expect(results).toHaveLength(REQUESTS)
    expect(runs).toBe(DIAG_BURST)
    expect(results.filter((r) => r.ok === true)).toHaveLength(DIAG_BURST)
    expect(results.filter((r) => r.code === 'TUN_RELAY_BUSY')).toHaveLength(REQUESTS - DIAG_BURST)
    // Another session has its own allowance.
    const other = await rawControl(port, 'other')
    other.send({ type: MessageType.DIAG_REQUEST, id: 1 })
    expect(await other.waitFor((m) => m.type === MessageType.DIAG_RESULT)).toMatchObject({ ok: true })
    expect(runs).toBe(DIAG_BURST + 1)
  })

  it('gives one more request per interval after the burst', () => {
    let now = 0
    const limit = new DiagRateLimit(() => now)
    expect(Array.from({ length: DIAG_BURST + 1 }, () => limit.take())).toEqual([...Array.from({ length: DIAG_BURST }, () => true), false])
    now += DIAG_INTERVAL_MS - 1
    expect(limit.take()).toBe(false)
    now += 1
    expect(limit.take()).toBe(true)
    expect(limit.take()).toBe(false)
    now += 100 * DIAG_INTERVAL_MS // idle for long: the burst again, not more
    expect(Array.from({ length: DIAG_BURST + 1 }, () => limit.take()).filter(Boolean)).toHaveLength(DIAG_BURST)
    expect(limit.refused).toBe(4)
  })
})
