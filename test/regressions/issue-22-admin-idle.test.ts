// Issue 22, a low finding: 32 idle connections (connected, never a byte) blocked the admin API
// for about 12 s: Node's maxConnections turned every newer connection away, an operator's request
// included. Now a connection without a request in flight is closed after ADMIN_IDLE_TIMEOUT_MS,
// and a full table makes room by closing the connection idle the longest; only requests in
// flight are never cut. Raw sockets against an in-process admin server; counts, not timings
// (the idle timeout on fake timers).
import { connect, type Socket } from 'node:net'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { json } from '../../shared/admin/http.js'
import { ADMIN_IDLE_TIMEOUT_MS, MAX_ADMIN_CONNECTIONS, type AdminRoute } from '../../shared/admin/server.js'
import { closeAdminServers, startAdmin } from '../helpers/admin.js'

const sockets: Socket[] = []

afterEach(async () => {
  vi.useRealTimers()
  for (const s of sockets.splice(0)) s.destroy()
  await closeAdminServers()
})

/** Opens `n` connections that never send a byte; resolves once each is connected. */
async function idle (port: number, n: number): Promise<Array<{ socket: Socket, closed: () => boolean }>> {
  return await Promise.all(Array.from({ length: n }, async () => {
    const socket = connect({ host: '127.0.0.1', port })
    sockets.push(socket)
    let closed = false
    socket.on('error', () => {})
    socket.once('close', () => { closed = true })
    await new Promise<void>((resolve) => { socket.once('connect', resolve); socket.once('close', () => { resolve() }) })
    return { socket, closed: () => closed }
  }))
}

/** One GET on a connection of its own; the status, or the error code when it failed. */
async function get (port: number, path = '/api/status'): Promise<number | string> {
  return await new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port })
    sockets.push(socket)
    let text = ''
    socket.on('data', (c: Buffer) => { text += c.toString('latin1') })
    socket.on('error', (err: NodeJS.ErrnoException) => { resolve(err.code ?? 'error') })
    socket.on('close', () => {
      const m = /^HTTP\/1\.1 (\d{3})/.exec(text)
      resolve(m === null ? 'closed' : Number(m[1]))
    })
    socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`)
  })
}

/** Waits (real event-loop turns, not the fake clock) until `cond` holds, at most 10 s. */
async function settled (cond: () => boolean): Promise<void> {
  const giveUp = performance.now() + 10_000
  while (!cond() && performance.now() < giveUp) await new Promise((resolve) => setImmediate(resolve))
  expect(cond()).toBe(true)
}

const routes: AdminRoute[] = [{ method: 'GET', path: '/api/status', handle: () => json(200, { ok: true }) }]

describe('issue 22: idle connections cannot keep the admin API from answering', () => {
  it('answers a request while twice the connection limit sits idle, closing idle connections to make room', async () => {
    const { server, port } = await startAdmin({ routes })
    const held = await idle(port, 2 * MAX_ADMIN_CONNECTIONS)
    await settled(() => server.connections === MAX_ADMIN_CONNECTIONS)
    expect(await get(port)).toBe(200)
    // The answered request's connection goes (Connection: close); the next one finds room.
    await settled(() => server.connections < MAX_ADMIN_CONNECTIONS)
    expect(await get(port)).toBe(200)
    // Each newcomer to a full table closed one idle connection; never more than the limit are open.
    expect(server.idleClosed).toBe(MAX_ADMIN_CONNECTIONS + 1)
    expect(held.filter((h) => h.closed())).toHaveLength(MAX_ADMIN_CONNECTIONS + 1)
    expect(server.connections).toBeLessThanOrEqual(MAX_ADMIN_CONNECTIONS)
  })

  it('closes a connection that sends nothing after the idle timeout, but never one whose request is in flight', async () => {
    let release: () => void = () => {}
    const slow: AdminRoute = { method: 'GET', path: '/slow', handle: async () => { await new Promise<void>((resolve) => { release = resolve }); return json(200, { ok: true }) } }
    const { server, port } = await startAdmin({ routes: [...routes, slow] })
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
    const [quiet] = await idle(port, 1)
    const answer = get(port, '/slow')
    await settled(() => server.connections === 2)
    await vi.advanceTimersByTimeAsync(ADMIN_IDLE_TIMEOUT_MS - 1)
    expect(quiet?.closed()).toBe(false)
    await vi.advanceTimersByTimeAsync(1)
    await settled(() => quiet?.closed() === true)
    // The slow request is still in flight well past the idle timeout, and is answered.
    await vi.advanceTimersByTimeAsync(3 * ADMIN_IDLE_TIMEOUT_MS)
    expect(server.connections).toBe(1)
    release()
    expect(await answer).toBe(200)
    expect(server.idleClosed).toBe(1)
  })
})
