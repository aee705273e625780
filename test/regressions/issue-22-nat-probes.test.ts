// Issue 22, a low finding: one client could hold all 64 NAT-probe slots of the relay for 15 min
// (a probe login asks the relay to stay silent up to 900 s). Now the slots are capped per source
// address and per client id too; a probe past a cap is refused with TUN_RELAY_BUSY, and one
// source can hold at most an eighth of the relay's slots. Raw probe logins from the project's
// own modules.
import { afterEach, describe, expect, it } from 'vitest'
import { MAX_NAT_PROBES_PER_SOURCE } from '../../server/nat-probe-mode.js'
import { ALL_CAPABILITIES, CONTROL_PROTOCOL_VERSION, MessageType } from '../../shared/wire/control.js'
import { closeInProcess, rawSession, startRelayInProcess } from '../helpers/in-process.js'

afterEach(async () => { await closeInProcess() })

/** Logs in as a NAT probe of 900 s; the relay's answer. */
async function probe (port: number, clientId: string): Promise<Record<string, unknown>> {
  const raw = await rawSession(port, clientId)
  raw.send({ type: MessageType.LOGIN, version: CONTROL_PROTOCOL_VERSION, capabilities: [...ALL_CAPABILITIES], clientId, user: '', hostname: 'test', probeIdleMs: 900_000 })
  return await raw.waitFor((m) => m.type === MessageType.LOGIN_RESULT)
}

describe('issue 22: NAT probe slots are capped per source and per client', () => {
  it('refuses a source its probe past MAX_NAT_PROBES_PER_SOURCE', async () => {
    // The handshake gate's per-source rate is not what is tested here.
    const { port } = await startRelayInProcess('', undefined, 0, { gate: { ratePerSecond: 1_000, burst: 1_000 } })
    const answers: Array<Record<string, unknown>> = []
    for (let i = 0; i <= MAX_NAT_PROBES_PER_SOURCE; i++) answers.push(await probe(port, `probe-${i}`))
    expect(answers.slice(0, MAX_NAT_PROBES_PER_SOURCE).every((a) => a.ok === true)).toBe(true)
    expect(answers[MAX_NAT_PROBES_PER_SOURCE]).toMatchObject({ ok: false, code: 'TUN_RELAY_BUSY', message: expect.stringContaining('this address') })
  })

  it('refuses a second probe of a client id while its first runs', async () => {
    const { port } = await startRelayInProcess()
    expect(await probe(port, 'same')).toMatchObject({ ok: true })
    expect(await probe(port, 'same')).toMatchObject({ ok: false, code: 'TUN_RELAY_BUSY', message: expect.stringContaining('client id') })
    expect(await probe(port, 'other')).toMatchObject({ ok: true })
  })
})
