// The admin endpoints' own rules, called directly: reload answers 200/422, one reload per
// request (the handler queues them), /api/diag bounds its window and runs one at a time, status and metrics answer JSON and
// the Prometheus text format.
import { describe, expect, it } from 'vitest'
import { diagRoute, metricsRoute, parseWatch, reloadRoute, statusRoute } from '../../shared/admin/routes.js'
import { formatReloadOutcome, parseReloadOutcome } from '../../shared/admin/reload.js'
import type { ReloadOutcome } from '../../shared/reload-outcome.js'
import type { AdminRequest } from '../../shared/admin/server.js'
import { portsTarget } from '../../shared/diag/index.js'
import { TunnelMetrics } from '../../shared/metrics/tunnel-metrics.js'
import { statusFixture } from '../helpers/status-fixture.js'

const req = (query = ''): AdminRequest => ({ method: 'GET', path: '/', query: new URLSearchParams(query), body: Buffer.alloc(0), headers: {}, signal: new AbortController().signal })
const outcome = (ok: boolean): ReloadOutcome => ({ status: ok ? 'applied' : 'refused', added: ok ? ['a'] : [], removed: [], changed: [], errors: ok ? [] : [{ proxy: null, code: 'TUN_CONFIG_INVALID', message: 'frpc.yml:3:1 nope' }] })

describe('admin routes', () => {
  it('reload: 200 with the outcome when applied (in full or in part), 422 when refused', async () => {
    const partial: ReloadOutcome = { status: 'partial', added: ['b'], removed: [], changed: [], errors: [{ proxy: 'b', code: 'TUN_PORT_IN_USE', message: 'port 6000 is in use' }] }
    expect(await reloadRoute(async () => await Promise.resolve(outcome(true))).handle(req())).toEqual({ status: 200, json: outcome(true) })
    expect(await reloadRoute(async () => await Promise.resolve(partial)).handle(req())).toEqual({ status: 200, json: partial })
    expect(await reloadRoute(async () => await Promise.resolve(outcome(false))).handle(req())).toEqual({ status: 422, json: outcome(false) })
  })

  it('reload: a request made while another runs gets a reload of its own (the edit it follows is applied)', async () => {
    let calls = 0
    const releases: Array<() => void> = []
    const route = reloadRoute(async () => {
      const n = ++calls
      await new Promise<void>((resolve) => { releases.push(resolve) })
      return { ...outcome(true), added: [`run${n}`] }
    })
    const first = route.handle(req())
    const second = route.handle(req())
    await Promise.resolve()
    for (const r of releases) r()
    expect(await first).toMatchObject({ status: 200, json: { added: ['run1'] } })
    expect(await second).toMatchObject({ status: 200, json: { added: ['run2'] } })
    expect(calls).toBe(2)
  })

  it('reload outcome: applied, nothing to do, refused as a whole, or applied except some proxy', () => {
    const base: ReloadOutcome = { status: 'applied', added: [], removed: [], changed: [], errors: [] }
    expect(formatReloadOutcome(base)).toBe('reload: applied, nothing changed\n')
    expect(formatReloadOutcome({ ...base, added: ['web'] })).toBe('reload: applied\n  added    web\n  removed  -\n  changed  -\n')
    expect(formatReloadOutcome(outcome(false))).toBe('reload refused; the running config stays:\n  frpc.yml:3:1 nope (TUN_CONFIG_INVALID)\n')
    const partial: ReloadOutcome = { status: 'partial', added: ['b'], removed: ['a'], changed: [], errors: [{ proxy: 'b', code: 'TUN_PORT_IN_USE', message: 'port 6000 is in use' }] }
    expect(formatReloadOutcome(partial)).toBe('reload applied in part:\n  added    b\n  removed  a\n  changed  -\n  failed:\n    proxy b: port 6000 is in use (TUN_PORT_IN_USE)\n')
  })

  it('reload outcome from JSON: the structured shape or nothing; an unknown code becomes a generic refusal', () => {
    const partial = { status: 'partial', added: ['b'], removed: [], changed: [], errors: [{ proxy: 'b', code: 'TUN_PORT_IN_USE', message: 'in use' }] }
    expect(parseReloadOutcome(partial)).toEqual(partial)
    expect(parseReloadOutcome({ ...partial, errors: [{ proxy: null, code: 'TUN_FROM_THE_FUTURE', message: 'x' }] })?.errors[0]?.code).toBe('TUN_RELOAD_REFUSED')
    for (const bad of [{ ...partial, status: 'ok' }, { ...partial, errors: ['a string'] }, { ok: true, added: [], removed: [], changed: [], errors: [] }, null]) {
      expect(parseReloadOutcome(bad)).toBeUndefined()
    }
  })

  it('diag: watch defaults to 1 s and must be 0-60', () => {
    expect(parseWatch(req())).toBe(1000)
    expect(parseWatch(req('watch=0'))).toBe(0)
    expect(parseWatch(req('watch=2.5'))).toBe(2500)
    for (const bad of ['watch=-1', 'watch=61', 'watch=abc']) expect(parseWatch(req(bad)), bad).toMatchObject({ status: 400 })
  })

  it('diag: a report of the target; a second request meanwhile gets 429', async () => {
    let release: (() => void) | undefined
    const gate = new Promise<void>((resolve) => { release = resolve })
    const route = diagRoute(async () => { await gate; return portsTarget([]) })
    const first = route.handle(req('watch=0'))
    const busy = await route.handle(req('watch=0'))
    expect(busy).toMatchObject({ status: 429 })
    release?.()
    const done = await first
    expect(done).toMatchObject({ status: 200, json: { schema: 1, role: 'ports' } })
  })

  it('status answers the report as JSON; metrics the text format with its content type', async () => {
    const report = statusFixture()
    expect(await statusRoute(async () => await Promise.resolve(report)).handle(req())).toEqual({ status: 200, json: report })
    const m = await metricsRoute(new TunnelMetrics({ processMetrics: false }), async () => await Promise.resolve(report)).handle(req())
    expect(m).toMatchObject({ status: 200, contentType: 'text/plain; version=0.0.4; charset=utf-8' })
    expect('text' in m ? m.text : '').toContain('tunnel_sessions 1')
  })
})
