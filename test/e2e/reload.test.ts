// Hot reload of the client's proxies through the real CLI (issue 9): SIGHUP re-reads frpc.yml;
// a long transfer on A survives a reload that adds B and removes C, with no reconnect; a broken
// file (YAML or schema) is refused with file:line:col errors and everything keeps running; a
// proxy whose localPort changed reaches the new service on the same public port; the relay
// ignores SIGHUP with a warning instead of dying.
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { writeFile } from 'node:fs/promises'
import type { Socket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { cleanupCli, clientYaml, E2E_TEST_TIMEOUT_MS, logMsg, startClient, startRelay, waitForProxyResult, type CliHandle, type LogLine, type ProxyYaml } from '../helpers/cli.js'
import { Checksum, closeServices, connectTo, echoOnce, exchange, parseSinkReply, probePort, readAll, startEchoServer, startHashSinkServer, startServer, type Digest } from '../helpers/services.js'

const CHUNK_BYTES = 16 * 1024
const CHUNK_INTERVAL_MS = 10
/** Upper bound on the paced transfer (about 20 s at the pace above). */
const MAX_CHUNKS = 2_000
/** Chunks still sent after the reload is checked: the transfer goes on across it. */
const CHUNKS_AFTER_RELOAD = 50
/** The transfer sends at least this many chunks (about 3 s at the pace above). */
const MIN_CHUNKS = 300

afterEach(async () => {
  await cleanupCli()
  await closeServices()
})

interface PacedTransfer {
  /** Chunks written so far. */
  readonly chunks: () => number
  /** Writes `more` chunks after this call (MIN_CHUNKS in all at least), then half-closes. */
  finish: (more: number) => void
  sent: Promise<Digest>
}

/** A slow steady upload (16 KiB every 10 ms) until finish(); bounded by MAX_CHUNKS. */
function pacedUpload (socket: Socket): PacedTransfer {
  let written = 0
  let stopAt = MAX_CHUNKS
  const sent = (async () => {
    const sum = new Checksum()
    while (written < stopAt && !socket.destroyed) {
      const chunk = randomBytes(CHUNK_BYTES)
      sum.update(chunk)
      written++
      if (!socket.write(chunk)) await once(socket, 'drain')
      await new Promise((resolve) => setTimeout(resolve, CHUNK_INTERVAL_MS))
    }
    socket.end()
    return { bytes: sum.bytes, sha256: sum.digest() }
  })()
  return { chunks: () => written, finish: (more) => { stopAt = Math.min(MAX_CHUNKS, Math.max(MIN_CHUNKS, written + more)) }, sent }
}

/** Sends SIGHUP and waits for the client's answer: a "reloaded" line or an error-level refusal. */
async function hangUp (handle: CliHandle, expect: 'reloaded' | 'refused'): Promise<{ line: LogLine, mark: number }> {
  const mark = handle.logs.length
  handle.kill('SIGHUP')
  const line = await handle.waitForLog(expect === 'reloaded'
    ? logMsg('reloaded')
    : (l) => typeof l.msg === 'string' && l.msg.startsWith('reload refused'), 10_000, mark)
  return { line, mark }
}

/** Error-level lines logged after `mark` that point into `file`. */
function fileErrors (handle: CliHandle, file: string, mark: number): LogLine[] {
  return handle.logs.slice(mark).filter((l) => l.level === 50 && l.file === file && typeof l.line === 'number' && l.line > 0)
}

describe('reload (SIGHUP)', { timeout: E2E_TEST_TIMEOUT_MS }, () => {
  it('adds B and removes C while a long transfer on A goes on intact; broken files change nothing', async () => {
    const sink = await startHashSinkServer()
    const echo = await startEchoServer()
    const relay = await startRelay()
    const a: ProxyYaml = { name: 'A', localPort: sink.port, remotePort: 0 }
    const b: ProxyYaml = { name: 'B', localPort: echo.port, remotePort: 0 }
    const c: ProxyYaml = { name: 'C', localPort: echo.port, remotePort: 0 }
    const client = await startClient(clientYaml({ serverPort: relay.port, proxies: [a, c] }))
    const aPort = client.ports.get('A') as number
    const cPort = client.ports.get('C') as number
    expect(await echoOnce(cPort)).toBe(true)

    // The long transfer on A, under way before and after the reload.
    const startedAt = performance.now()
    const visitor = await connectTo(aPort)
    const replyP = readAll(visitor, { keep: true, timeoutMs: 25_000 })
    const upload = pacedUpload(visitor)
    await expect.poll(() => upload.chunks(), { timeout: 5_000 }).toBeGreaterThan(20)

    await writeFile(client.configPath, clientYaml({ serverPort: relay.port, proxies: [a, b] }))
    const { line, mark } = await hangUp(client.handle, 'reloaded')
    expect(line).toMatchObject({ added: ['B'], removed: ['C'], changed: [], level: 30 })
    const bResult = await waitForProxyResult(client.handle, 'B', mark)
    expect(bResult.ok).toBe(true)
    const bPort = bResult.ok ? bResult.remotePort : 0
    expect(await echoOnce(bPort)).toBe(true)
    expect(await probePort(cPort)).toBe('refused')
    const chunksAtReload = upload.chunks()

    // A broken YAML file: refused with its place in the file; nothing changes.
    const good = clientYaml({ serverPort: relay.port, proxies: [a, b] })
    const goodLines = good.split('\n').length - 1
    await writeFile(client.configPath, good + '  - name: D\n\ttype: tcp\n')
    const syntax = await hangUp(client.handle, 'refused')
    expect(syntax.line.level).toBe(50)
    const syntaxErrors = fileErrors(client.handle, client.configPath, syntax.mark)
    expect(syntaxErrors.map((l) => [l.line, l.col, l.code])).toEqual([[goodLines + 2, 1, 'TUN_CONFIG_SYNTAX']])
    expect(syntaxErrors[0]?.msg).toBe(`${client.configPath}:${goodLines + 2}:1 tabs cannot indent YAML; use spaces (TUN_CONFIG_SYNTAX)`)

    // A file that is valid YAML but not a valid config (a port out of range, an unknown key).
    const badPort: ProxyYaml = { name: 'D', localPort: echo.port, remotePort: 70000 }
    await writeFile(client.configPath, clientYaml({ serverPort: relay.port, proxies: [a, b, badPort] }) + 'bogusKey: 1\n')
    const schema = await hangUp(client.handle, 'refused')
    const schemaErrors = fileErrors(client.handle, client.configPath, schema.mark)
    expect(schemaErrors.map((l) => l.code).sort()).toEqual(['TUN_CONFIG_RANGE', 'TUN_CONFIG_UNKNOWN_KEY'])
    for (const l of schemaErrors) expect(l.msg).toMatch(new RegExp(`^${client.configPath}:${String(l.line)}:${String(l.col)} `))
    expect(schema.line.errors).toEqual(schemaErrors.map((l) => l.msg))

    // A and B still serve; C stays gone; the transfer went on through all of it.
    expect(await echoOnce(bPort)).toBe(true)
    expect(await probePort(cPort)).toBe('refused')
    const small = await exchange(aPort, 4096, { keep: true, timeoutMs: 5_000 })
    expect(parseSinkReply(small.reply.data ?? Buffer.alloc(0)).digest).toEqual(small.sent)
    expect(upload.chunks()).toBeGreaterThan(chunksAtReload)

    upload.finish(CHUNKS_AFTER_RELOAD)
    const sent = await upload.sent
    const reply = await replyP
    expect(reply.closedBy).toBe('end')
    expect(parseSinkReply(reply.data ?? Buffer.alloc(0)).digest).toEqual(sent)
    expect(sent.bytes).toBeGreaterThan((chunksAtReload + CHUNKS_AFTER_RELOAD) * CHUNK_BYTES)
    console.info(`transfer on A: ${sent.bytes} bytes intact over ${(performance.now() - startedAt).toFixed(0)} ms across one reload and two refused ones`)

    // One session all along: no reconnect on the client, one login on the relay.
    expect(client.handle.logs.filter(logMsg('reconnecting'))).toHaveLength(0)
    expect(client.handle.logs.filter(logMsg('logged in'))).toHaveLength(1)
    expect(relay.handle.logs.filter(logMsg('client logged in'))).toHaveLength(1)
    expect(relay.handle.logs.filter(logMsg('proxy closed', { proxy: 'C' }))).toHaveLength(1)
    expect(client.handle.exited).toBe(false)
  })

  it('restarts a proxy whose localPort changed: the same public port reaches the new service', async () => {
    const one = await startServer((socket) => { socket.end('one') })
    const two = await startServer((socket) => { socket.end('two') })
    const relay = await startRelay()
    const client = await startClient(clientYaml({ serverPort: relay.port, proxies: [{ name: 'D', localPort: one.port, remotePort: 0 }] }))
    const dPort = client.ports.get('D') as number
    const banner = async (): Promise<string> => (await exchange(dPort, Buffer.alloc(0), { keep: true, timeoutMs: 5_000 })).reply.data?.toString('utf8') ?? ''
    expect(await banner()).toBe('one')

    await writeFile(client.configPath, clientYaml({ serverPort: relay.port, proxies: [{ name: 'D', localPort: two.port, remotePort: 0 }] }))
    const { line } = await hangUp(client.handle, 'reloaded')
    expect(line).toMatchObject({ added: [], removed: [], changed: ['D'] })
    expect(await banner()).toBe('two')
    expect(client.handle.logs.filter(logMsg('reconnecting'))).toHaveLength(0)
  })

  it('the relay logs that it cannot reload on SIGHUP and keeps serving', async () => {
    const echo = await startEchoServer()
    const relay = await startRelay()
    const client = await startClient(clientYaml({ serverPort: relay.port, proxies: [{ name: 'E', localPort: echo.port, remotePort: 0 }] }))
    const mark = relay.handle.logs.length
    relay.handle.kill('SIGHUP')
    const warned = await relay.handle.waitForLog((l) => typeof l.msg === 'string' && l.msg.startsWith('relay reload is not supported'), 5_000, mark)
    expect(warned.level).toBe(40)
    expect(await echoOnce(client.ports.get('E') as number)).toBe(true)
    expect(relay.handle.exited).toBe(false)
  })
})
