// The client's reconnect loop on simulated time: against a relay port that refuses every
// connection, the waits between attempts are exactly what the backoff policy and the injected
// jitter say (fast retries at the base ceiling, then doubling up to the cap), and a stop ends a
// wait at once. Fake timers move the clock; the refusals are real (loopback, no timer involved).
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { Client } from '../../client/index.js'
import { backoffCeiling, type BackoffPolicy } from '../../shared/backoff.js'
import { parseClientConfig } from '../../shared/config/index.js'
import type { TunnelError } from '../../shared/errors.js'
import { silentLogger } from '../../shared/log.js'
import { newKeyPair } from '../../shared/transport/keys.js'
import { closeServices, getFreePort } from '../helpers/services.js'

const POLICY: BackoffPolicy = { baseMs: 1_000, capMs: 8_000, fastRetries: 2 }
const JITTER = [0.5, 0.999, 0, 0.25, 0.5, 0.75, 0.1, 0.9]

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] })
})

afterEach(async () => {
  vi.useRealTimers()
  await closeServices()
})

async function refusingClient (random: () => number): Promise<Client> {
  const port = await getFreePort() // nothing listens there: every dial is refused at once
  const yaml = `serverAddr: 127.0.0.1\nserverPort: ${port}\nloginFailExit: false\nauth:\n  token: t\n  serverKey: "${newKeyPair().publicKey}"\nproxies: []\n`
  return new Client(parseClientConfig(yaml, 'frpc.yml', {}).config, silentLogger(), { backoff: POLICY, random })
}

describe('client reconnect backoff on simulated time', () => {
  it('waits floor(jitter × ceiling) between attempts: the base ceiling for the fast retries, then doubling to the cap', async () => {
    let draws = 0
    const client = await refusingClient(() => JITTER[draws++ % JITTER.length] ?? 0)
    const failedAt: number[] = []
    const errors: TunnelError[] = []
    let next: () => void = () => {}
    client.on('attemptFailed', (err) => { failedAt.push(Date.now()); errors.push(err); next() })
    const running = client.run()
    for (let attempt = 0; attempt < JITTER.length; attempt++) {
      // The attempt fails (a real refusal); then the client sleeps: jump to the end of that sleep.
      if (failedAt.length <= attempt) await new Promise<void>((resolve) => { next = resolve })
      expect(vi.getTimerCount()).toBe(1)
      // Synchronous on purpose: the async variant lets I/O run meanwhile and then fires a 0 ms sleep too.
      vi.advanceTimersToNextTimer()
    }
    if (failedAt.length <= JITTER.length) await new Promise<void>((resolve) => { next = resolve })
    client.close(0)
    await running
    const waits = failedAt.slice(1).map((t, i) => t - (failedAt[i] ?? NaN))
    expect(waits).toEqual(JITTER.map((r, i) => Math.floor(r * backoffCeiling(i, POLICY))))
    expect(waits).toEqual([500, 999, 0, 500, 2_000, 6_000, 800, 7_200])
    expect(client.reconnects).toBe(JITTER.length + 1)
    expect(errors.every((e) => e.code === 'TUN_CONNECT')).toBe(true)
  })

  it('stops during a wait at once, without waiting it out', async () => {
    const client = await refusingClient(() => 0.999)
    const failed = new Promise<void>((resolve) => client.once('attemptFailed', () => { resolve() }))
    const running = client.run()
    await failed
    const stoppedAt = Date.now()
    client.close(0)
    await running
    expect(Date.now()).toBe(stoppedAt)
    expect(vi.getTimerCount()).toBe(0)
  })
})
