// frp's Store API (store.path) with real processes: proxies added, changed and removed at run time
// over the client's admin API in frp's request shapes, each change applied at once and kept in the
// store file, which a restarted client reads again; what cannot be applied is refused without
// touching the file or the running proxies.
import { readFile, stat } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { cleanupCli, clientYaml, E2E_TEST_TIMEOUT_MS, startClient, startRelay, waitForProxyResult } from '../helpers/cli.js'
import { closeServices, echoOnce, getFreePort, probePort, startEchoServer } from '../helpers/services.js'

afterEach(async () => {
  await cleanupCli()
  await closeServices()
})

const TOKEN = 'store-api-token'

async function call (port: number, method: string, path: string, body?: unknown, token = TOKEN): Promise<{ status: number, json: Record<string, unknown> }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  })
  return { status: res.status, json: await res.json() as Record<string, unknown> }
}

const tcp = (name: string, localPort: number, remotePort: number): Record<string, unknown> => ({ name, type: 'tcp', tcp: { localIP: '127.0.0.1', localPort, remotePort } })

describe('the store API (frp\'s store.path)', { timeout: E2E_TEST_TIMEOUT_MS * 2 }, () => {
  it('adds, lists, changes and removes a proxy at run time, keeps it in the file, and a restarted client serves it again', async () => {
    const echo = await startEchoServer()
    const other = await startEchoServer()
    const relay = await startRelay()
    const admin = await getFreePort()
    const [filePort, storePort, movedPort] = [await getFreePort(), await getFreePort(), await getFreePort()]
    const extraYaml = `webServer:\n  port: ${admin}\n  token: ${TOKEN}\nstore:\n  path: state/store.json`
    const yaml = clientYaml({ serverPort: relay.port, extraYaml, proxies: [{ name: 'from-file', localPort: echo.port, remotePort: filePort }] })
    const client = await startClient(yaml)
    const storeFile = join(dirname(client.configPath), 'state', 'store.json')

    expect(await call(admin, 'GET', '/api/store/proxies')).toEqual({ status: 200, json: { proxies: [] } })
    const created = await call(admin, 'POST', '/api/store/proxies', tcp('from-store', echo.port, storePort))
    expect(created.status).toBe(200)
    expect(created.json).toMatchObject({ name: 'from-store', type: 'tcp', tcp: { localPort: echo.port, remotePort: storePort }, reload: { status: 'applied', added: ['from-store'] } })
    expect(await echoOnce(storePort)).toBe(true)
    expect(await echoOnce(filePort)).toBe(true)
    expect(JSON.parse(await readFile(storeFile, 'utf8'))).toEqual({ proxies: [{ localIP: '127.0.0.1', localPort: echo.port, remotePort: storePort, name: 'from-store', type: 'tcp' }], visitors: [] })
    expect((await stat(storeFile)).mode & 0o777).toBe(0o600)
    expect((await call(admin, 'GET', '/api/store/proxies/from-store')).json).toMatchObject({ name: 'from-store', tcp: { remotePort: storePort } })

    // Taken names: one in the store, one in the config file; an unknown name; a URL/body mismatch.
    expect(await call(admin, 'POST', '/api/store/proxies', tcp('from-store', echo.port, movedPort))).toMatchObject({ status: 409, json: { code: 'TUN_STORE_CONFLICT' } })
    expect(await call(admin, 'POST', '/api/store/proxies', tcp('from-file', echo.port, movedPort))).toMatchObject({ status: 409, json: { code: 'TUN_STORE_CONFLICT' } })
    expect(await call(admin, 'GET', '/api/store/proxies/nobody')).toMatchObject({ status: 404, json: { code: 'TUN_STORE_NOT_FOUND' } })
    expect(await call(admin, 'PUT', '/api/store/proxies/from-store', tcp('renamed', echo.port, movedPort))).toMatchObject({ status: 400, json: { code: 'TUN_ADMIN_REQUEST' } })
    expect(await call(admin, 'POST', '/api/store/proxies', '{"name": "x", "type": "tcp"')).toMatchObject({ status: 400, json: { code: 'TUN_ADMIN_REQUEST' } })

    // A change the loader refuses names the store file's line:col; file and proxies are untouched.
    const before = await readFile(storeFile, 'utf8')
    const bad = await call(admin, 'POST', '/api/store/proxies', tcp('bad-port', echo.port, 70000))
    expect(bad.status).toBe(400)
    expect(bad.json.code).toBe('TUN_STORE_INVALID')
    expect(String(bad.json.error)).toMatch(/store\.json:\d+:\d+ proxies\[1\]\.remotePort/)
    expect(await readFile(storeFile, 'utf8')).toBe(before)
    expect(await echoOnce(storePort)).toBe(true)

    // PUT moves the proxy to another port and service.
    const moved = await call(admin, 'PUT', '/api/store/proxies/from-store', tcp('from-store', other.port, movedPort))
    expect(moved).toMatchObject({ status: 200, json: { reload: { status: 'applied', changed: ['from-store'] } } })
    expect(await echoOnce(movedPort)).toBe(true)
    expect(await probePort(storePort)).toBe('refused')

    // A restarted client reads the store with its config.
    client.handle.kill('SIGTERM')
    await client.handle.exit
    const again = await startClient(yaml, { configPath: client.configPath, waitFor: 'login' })
    expect((await waitForProxyResult(again.handle, 'from-store')).ok).toBe(true)
    expect(await echoOnce(movedPort)).toBe(true)

    expect(await call(admin, 'DELETE', '/api/store/proxies/from-store')).toMatchObject({ status: 200, json: { reload: { status: 'applied', removed: ['from-store'] } } })
    expect(await probePort(movedPort)).toBe('refused')
    expect(await echoOnce(filePort)).toBe(true)
    expect(JSON.parse(await readFile(storeFile, 'utf8'))).toEqual({ proxies: [], visitors: [] })
  })

  it('answers 403 on every store route while the admin API has no credentials', async () => {
    const relay = await startRelay()
    const admin = await getFreePort()
    const extraYaml = `webServer:\n  port: ${admin}\nstore:\n  path: store.json`
    await startClient(clientYaml({ serverPort: relay.port, extraYaml, proxies: [] }), { waitFor: 'login' })
    for (const [method, path] of [['GET', '/api/store/proxies'], ['POST', '/api/store/proxies'], ['DELETE', '/api/store/visitors/x']] as const) {
      expect(await call(admin, method, path, method === 'POST' ? tcp('x', 1, 0) : undefined, '')).toMatchObject({ status: 403, json: { code: 'TUN_ADMIN_CONFIG_LOCKED' } })
    }
  })
})
