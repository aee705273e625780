// Limits on the relay: maxPortsPerClient, a proxy's maxVisitors, and the visitor budget derived
// from the fd limit (a relay under `ulimit -n 256` with 400 visitors stays up, keeps its control
// connection, sheds visibly and serves a new visitor after the others leave).
import type { Socket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import {
  cleanupCli,
  clientYaml,
  E2E_TEST_TIMEOUT_MS,
  exitWithin,
  logMsg,
  startClient,
  startRelay,
  type CliHandle,
  type LogLine,
} from '../helpers/cli.js'
import { closeServices, connectTo, echoOnce, getFreePort, startEchoServer } from '../helpers/services.js'

afterEach(async () => {
  await cleanupCli()
  await closeServices()
})

/** A visitor not answered (echoed or shed) within this is 'hung': a generous bound on a millisecond affair. */
const VISIT_TIMEOUT_MS = 10_000

type Outcome = { kind: 'admitted', socket: Socket } | { kind: 'shed', ms: number, by: string } | { kind: 'hung' }

/**
 * A visitor that sends one byte to an echo service behind the tunnel: admitted when the byte
 * comes back (the socket stays open), shed when the connection closes first.
 */
async function visit (port: number, timeoutMs: number, hello = 'x'): Promise<Outcome> {
  const started = performance.now()
  let socket: Socket
  try {
    socket = await connectTo(port)
  } catch (err) {
    return { kind: 'shed', ms: performance.now() - started, by: (err as NodeJS.ErrnoException).code ?? 'error' }
  }
  return await new Promise<Outcome>((resolve) => {
    let by = 'end'
    const timer = setTimeout(() => { cleanup(); resolve({ kind: 'hung' }) }, timeoutMs)
    const onData = (): void => { cleanup(); resolve({ kind: 'admitted', socket }) }
    const onError = (err: NodeJS.ErrnoException): void => { by = err.code ?? 'error' }
    const onClose = (): void => { cleanup(); resolve({ kind: 'shed', ms: performance.now() - started, by }) }
    const cleanup = (): void => {
      clearTimeout(timer)
      socket.off('data', onData)
      socket.off('error', onError)
      socket.off('close', onClose)
    }
    socket.once('data', onData)
    socket.on('error', onError)
    socket.once('close', onClose)
    socket.write(hello)
  })
}

const count = (h: CliHandle, msg: string): number => h.logs.filter((l) => l.msg === msg).length

/** SIGTERM, then the relay's last line (with the shed totals). */
async function stopRelay (h: CliHandle): Promise<LogLine> {
  h.kill('SIGTERM')
  expect(await exitWithin(h, 15_000)).toEqual({ code: 0, signal: null })
  const line = h.logs.find((l) => l.msg === 'relay stopped')
  if (line === undefined) throw new Error('no "relay stopped" line')
  return line
}

describe('relay limits', { timeout: E2E_TEST_TIMEOUT_MS }, () => {
  it('maxPortsPerClient: the proxy past the limit is refused, the others serve', async () => {
    const echo = await startEchoServer()
    const relay = await startRelay({ extraYaml: 'maxPortsPerClient: 2' })
    const client = await startClient(clientYaml({
      serverPort: relay.port,
      proxies: ['a', 'b', 'c'].map((name) => ({ name, localPort: echo.port, remotePort: 0 })),
    }))
    expect([...client.ports.keys()].sort()).toEqual(['a', 'b'])
    expect(client.refused.get('c')).toBe('TUN_PORT_NOT_ALLOWED')
    const refusal = client.handle.logs.find((l) => l.proxy === 'c' && String(l.msg).startsWith('proxy refused by the relay'))
    expect(String(refusal?.msg)).toContain('maxPortsPerClient 2')
    expect(await echoOnce(client.ports.get('a') ?? 0)).toBe(true)
    expect(await echoOnce(client.ports.get('b') ?? 0)).toBe(true)
  })

  it('maxVisitors: the visitor past the cap is reset at once and counted; one leaving lets the next in', async () => {
    const echo = await startEchoServer()
    const relay = await startRelay({ extraYaml: 'log:\n  level: debug' })
    const client = await startClient(clientYaml({
      serverPort: relay.port,
      proxies: [{ name: 'capped', localPort: echo.port, remotePort: 0, extra: { maxVisitors: 3 } }],
    }))
    const port = client.ports.get('capped') ?? 0
    expect(client.handle.logs.find((l) => l.msg === 'proxy registered')?.maxVisitors).toBe(3)

    const first = await Promise.all([visit(port, VISIT_TIMEOUT_MS), visit(port, VISIT_TIMEOUT_MS), visit(port, VISIT_TIMEOUT_MS)])
    expect(first.map((o) => o.kind)).toEqual(['admitted', 'admitted', 'admitted'])
    // Reset by the relay (a shed visitor is not left hanging until its own timeout).
    const fourth = await visit(port, VISIT_TIMEOUT_MS)
    expect(fourth.kind).toBe('shed')
    if (fourth.kind === 'shed') expect(fourth.by).toBe('ECONNRESET')
    const warn = await relay.handle.waitForLog(logMsg('visitor shed: the proxy is at its maxVisitors'))
    expect(warn).toMatchObject({ code: 'TUN_VISITOR_SHED', reason: 'maxVisitors', limit: 3, shed: 1, proxy: 'capped' })

    // One leaves; once the relay has seen it go, the next visitor is admitted and echoes.
    const leaving = first[0]
    if (leaving?.kind === 'admitted') leaving.socket.destroy()
    await relay.handle.waitForLog(logMsg('visitor closed'))
    const next = await visit(port, VISIT_TIMEOUT_MS)
    expect(next.kind).toBe('admitted')
    for (const o of [...first, next]) if (o.kind === 'admitted') o.socket.destroy()

    const stopped = await stopRelay(relay.handle)
    expect(stopped.shed).toEqual({ maxVisitors: 1, maxConnections: 0 })
    const closed = relay.handle.logs.find((l) => l.msg === 'proxy closed' && l.proxy === 'capped')
    expect(closed).toMatchObject({ connections: 4, shed: { maxVisitors: 1, maxConnections: 0 } })
  })

  it('vhost visitors count against maxConnections: past it they are reset at once, and one leaving lets the next in', async () => {
    const vhostPort = await getFreePort()
    const relay = await startRelay({ extraYaml: `maxConnections: 2\nvhostHTTPPort: ${vhostPort}` })
    // No site is registered: an admitted visitor gets the relay's own 404 page.
    const get = 'GET / HTTP/1.1\r\nHost: nobody.example.test\r\n\r\n'
    const first = await Promise.all([visit(vhostPort, VISIT_TIMEOUT_MS, get), visit(vhostPort, VISIT_TIMEOUT_MS, get)])
    expect(first.map((o) => o.kind)).toEqual(['admitted', 'admitted'])
    const third = await visit(vhostPort, VISIT_TIMEOUT_MS, get)
    expect(third.kind).toBe('shed')
    const warn = await relay.handle.waitForLog(logMsg('visitor shed: the relay is at maxConnections (derived from its fd limit unless set)'))
    expect(warn).toMatchObject({ code: 'TUN_VISITOR_SHED', port: vhostPort, limit: 2 })
    const leaving = first[0]
    if (leaving?.kind === 'admitted') leaving.socket.destroy()
    await expect.poll(async () => (await visit(vhostPort, VISIT_TIMEOUT_MS, get)).kind, { timeout: 15_000, interval: 100 }).toBe('admitted')
    for (const o of first) if (o.kind === 'admitted') o.socket.destroy()
  })

  it('under ulimit -n 256 with 400 visitors: stays up, keeps the control connection, sheds visibly (never leaves one hanging), then serves again', async () => {
    const VISITORS = 400
    const echo = await startEchoServer()
    const relay = await startRelay({ ulimitNofile: 256, extraYaml: 'log:\n  level: debug' })
    const limit = await relay.handle.waitForLog(logMsg('visitor connection limit'))
    expect(limit.fdLimit).toBe(256)
    const cap = Number(limit.maxConnections)
    expect(cap).toBeGreaterThan(50)
    expect(cap).toBeLessThan(VISITORS)
    // A low fd limit is pointed out at start.
    await relay.handle.waitForLog((l) => l.level === 40 && String(l.msg).startsWith('the fd limit is 256'))

    const client = await startClient(clientYaml({ serverPort: relay.port, proxies: [{ name: 'echo', localPort: echo.port, remotePort: 0 }] }))
    const port = client.ports.get('echo') ?? 0

    const outcomes = await Promise.all(Array.from({ length: VISITORS }, async () => await visit(port, VISIT_TIMEOUT_MS)))
    const admitted = outcomes.flatMap((o) => (o.kind === 'admitted' ? [o.socket] : []))
    const shed = outcomes.flatMap((o) => (o.kind === 'shed' ? [o] : []))
    const hung = outcomes.filter((o) => o.kind === 'hung').length
    console.info(`fd limit 256: visitor cap ${cap} at start, ${admitted.length} admitted, ${shed.length} shed (slowest reset ${Math.max(...shed.map((s) => s.ms)).toFixed(0)} ms), ${hung} hung`)
    expect(hung).toBe(0)
    expect(admitted.length).toBeGreaterThan(0)
    expect(admitted.length).toBeLessThanOrEqual(cap)
    expect(shed.length).toBe(VISITORS - admitted.length)

    // Visible: a warning with the count, right away.
    const warn = await relay.handle.waitForLog(logMsg('visitor shed: the relay is at maxConnections (derived from its fd limit unless set)'))
    expect(warn).toMatchObject({ code: 'TUN_VISITOR_SHED', reason: 'maxConnections', proxy: 'echo' })
    expect(Number(warn.shed)).toBeGreaterThan(0)

    // Everyone leaves; when the relay has closed them all, a new visitor is served.
    for (const s of admitted) s.destroy()
    await relay.handle.waitForLog(() => count(relay.handle, 'visitor closed') >= admitted.length, 15_000)
    expect(await echoOnce(port)).toBe(true)

    // The relay never fell over and the client never lost its control connection.
    expect(relay.handle.exited).toBe(false)
    expect(count(client.handle, 'reconnecting')).toBe(0)
    expect(count(relay.handle, 'client session closed')).toBe(0)
    // Nothing was closed silently: every visitor the test saw reset is in the relay's count.
    const stopped = await stopRelay(relay.handle)
    expect(stopped.shed).toEqual({ maxVisitors: 0, maxConnections: shed.length })
  })
})
