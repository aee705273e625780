// `tunnel echo` through the real CLI: it reports its ports, each mode does what it says over TCP
// and UDP, --delay-ms delays replies, and SIGTERM/SIGINT stop it with exit 0 and its counters.
import { createSocket } from 'node:dgram'
import { afterEach, describe, expect, it } from 'vitest'
import { cleanupCli, E2E_TEST_TIMEOUT_MS, exitWithin, logMsg, spawnCli } from '../helpers/cli.js'
import { closeServices, connectTo, exchange, LOOPBACK } from '../helpers/services.js'
import { startEcho } from '../helpers/loadtest.js'

/** "Finished at all": the echo exits within a fraction of a second on an idle machine. */
const EXIT_DEADLINE_MS = 15_000

afterEach(async () => {
  await cleanupCli()
  await closeServices()
})

/** Sends datagrams from one socket and collects what comes back within `waitMs`. */
async function udpExchange (port: number, payloads: readonly Buffer[], waitMs: number, expected: number): Promise<Buffer[]> {
  const socket = createSocket('udp4')
  const got: Buffer[] = []
  try {
    await new Promise<void>((resolve) => { socket.bind(0, LOOPBACK, resolve) })
    return await new Promise<Buffer[]>((resolve) => {
      const timer = setTimeout(() => { resolve(got) }, waitMs)
      socket.on('message', (msg) => {
        got.push(msg)
        if (got.length >= expected) { clearTimeout(timer); resolve(got) }
      })
      for (const p of payloads) socket.send(p, port, LOOPBACK)
    })
  } finally {
    socket.close()
  }
}

describe('tunnel echo', { timeout: E2E_TEST_TIMEOUT_MS }, () => {
  it('logs its TCP and UDP ports as JSON on stderr and echoes TCP bytes exactly', async () => {
    const echo = await startEcho()
    expect(echo.tcpPort).toBeGreaterThan(0)
    expect(echo.udpPort).toBeGreaterThan(0)
    const { sent, reply } = await exchange(echo.tcpPort, 300_000, { timeoutMs: 5_000 })
    expect(reply.sha256).toBe(sent.sha256)
    expect(reply.closedBy).toBe('end')
  })

  it('echoes UDP datagrams back to their sender unchanged', async () => {
    const echo = await startEcho()
    const payloads = [Buffer.from('one'), Buffer.alloc(1200, 7), Buffer.from('three')]
    const got = await udpExchange(echo.udpPort, payloads, 3_000, 3)
    expect(got.map((b) => b.toString('hex')).sort()).toEqual(payloads.map((b) => b.toString('hex')).sort())
  })

  it('sink mode counts what it reads and replies the count after the FIN', async () => {
    const echo = await startEcho(['--mode', 'sink'])
    const { reply } = await exchange(echo.tcpPort, 1_234_567, { keep: true, timeoutMs: 5_000 })
    expect(reply.data?.toString()).toBe('1234567\n')
  })

  it('source mode sends --source-bytes on a TCP connection and a burst of datagrams per UDP datagram', async () => {
    const echo = await startEcho(['--mode', 'source', '--source-bytes', '500000', '--udp-burst', '5'])
    const { reply } = await exchange(echo.tcpPort, Buffer.alloc(0), { timeoutMs: 5_000 })
    expect(reply.bytes).toBe(500_000)
    const got = await udpExchange(echo.udpPort, [Buffer.from('go')], 3_000, 5)
    expect(got).toHaveLength(5)
  })

  it('delays every reply by --delay-ms', async () => {
    const echo = await startEcho(['--delay-ms', '150'])
    const started = performance.now()
    const { reply } = await exchange(echo.tcpPort, Buffer.from('ping'), { keep: true, timeoutMs: 5_000 })
    const ms = performance.now() - started
    expect(reply.data?.toString()).toBe('ping')
    expect(ms).toBeGreaterThanOrEqual(145)
    const t0 = performance.now()
    await udpExchange(echo.udpPort, [Buffer.from('x')], 3_000, 1)
    expect(performance.now() - t0).toBeGreaterThanOrEqual(145)
  })

  it('stops on SIGTERM with exit 0 and logs what it counted (UDP sink included)', async () => {
    const echo = await startEcho(['--mode', 'sink'])
    await udpExchange(echo.udpPort, [Buffer.alloc(100), Buffer.alloc(200)], 300, 99)
    await exchange(echo.tcpPort, 1000, { timeoutMs: 5_000 })
    expect(echo.handle.kill('SIGTERM')).toBe(true)
    expect(await exitWithin(echo.handle, EXIT_DEADLINE_MS)).toEqual({ code: 0, signal: null })
    const stopped = echo.handle.logs.find(logMsg('echo stopped'))
    expect(stopped).toMatchObject({ connections: 1, datagramsIn: 2, bytesIn: 1300 })
  })

  it('stops on SIGINT with exit 0, with a connection still open', async () => {
    const echo = await startEcho()
    const open = await connectTo(echo.tcpPort)
    expect(echo.handle.kill('SIGINT')).toBe(true)
    expect(await exitWithin(echo.handle, EXIT_DEADLINE_MS)).toEqual({ code: 0, signal: null })
    open.destroy()
  })

  it('exits 2 on a bad flag value and 1 when its port is taken', async () => {
    const bad = spawnCli(['echo', '--udp-burst', '0'])
    expect(await exitWithin(bad, EXIT_DEADLINE_MS)).toEqual({ code: 2, signal: null })
    const first = await startEcho(['--no-udp'])
    const second = spawnCli(['echo', '--host', '127.0.0.1', '--no-udp', '--tcp-port', String(first.tcpPort), '--log-format', 'json'])
    expect(await exitWithin(second, EXIT_DEADLINE_MS)).toEqual({ code: 1, signal: null })
    expect(second.logs.some((l) => l.code === 'TUN_PORT_IN_USE')).toBe(true)
  })
})
