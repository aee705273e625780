// Real proxies from Debian for the transport tests (issue 18): nginx as a reverse proxy (plain or
// terminating TLS) in front of the relay's WebSocket port, tinyproxy as an HTTP CONNECT proxy and
// dante (danted) as a SOCKS5 proxy. Each is started by the test with its own config in a temp
// directory on a free loopback port, in the foreground, and killed by its PID (stopDebianServices).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { findTool } from './system-tools.js'
import { getFreePort, probePort } from './services.js'

/** How long a daemon may take to accept connections after it was spawned. */
const START_TIMEOUT_MS = 10_000

export interface Daemon {
  port: number
  pid: number
  dir: string
  /** Kills it (SIGTERM by PID) and waits for its exit. */
  stop: () => Promise<void>
  /** What it printed (stdout and stderr), for failure messages. */
  output: () => string
}

const running = new Set<Daemon>()

export async function stopDebianServices (): Promise<void> {
  await Promise.all([...running].map(async (d) => { await d.stop() }))
}

async function waitListening (port: number, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS
  for (;;) {
    if (child.exitCode !== null) throw new Error(`exited with ${child.exitCode} before listening: ${output()}`)
    if (await probePort(port, 500) === 'open') return
    if (Date.now() > deadline) throw new Error(`not listening on ${port} within ${START_TIMEOUT_MS} ms: ${output()}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

async function startDaemon (tool: string, args: (dir: string, port: number) => Promise<string[]>, port?: number): Promise<Daemon> {
  const path = findTool(tool)
  if (path === undefined) throw new Error(`${tool} is not installed`)
  const dir = await mkdtemp(join(tmpdir(), `tunnel-${tool}-`))
  const p = port ?? await getFreePort()
  const child = spawn(path, await args(dir, p), { stdio: ['ignore', 'pipe', 'pipe'] })
  let text = ''
  const keep = (b: Buffer): void => { if (text.length < 64 * 1024) text += b.toString('utf8') }
  child.stdout.on('data', keep)
  child.stderr.on('data', keep)
  const exited = new Promise<void>((resolve) => { child.once('exit', () => { resolve() }) })
  const pid = child.pid ?? 0
  const daemon: Daemon = {
    port: p,
    pid,
    dir,
    output: () => text.slice(-2000),
    stop: async () => {
      if (!running.delete(daemon)) return
      if (child.exitCode === null && child.signalCode === null) process.kill(pid, 'SIGTERM')
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5_000))])
      if (child.exitCode === null && child.signalCode === null) process.kill(pid, 'SIGKILL')
      await rm(dir, { recursive: true, force: true })
    },
  }
  running.add(daemon)
  try {
    await waitListening(p, child, daemon.output)
  } catch (err) {
    await daemon.stop()
    throw new Error(`${tool}: ${err instanceof Error ? err.message : String(err)}`, { cause: err })
  }
  return daemon
}

export interface NginxOptions {
  /** The relay's port (nginx proxies /~!frp there). */
  upstreamPort: number
  /** Terminate TLS with this certificate and key (PEM files). */
  tls?: { cert: string, key: string }
  /** Reuse this port (a restart of the test's nginx, or a fixed front port). */
  port?: number
}

/**
 * nginx as the operators' guide configures it: a location for /~!frp with proxy_pass, HTTP/1.1,
 * the Upgrade and Connection headers and X-Forwarded-For; worker and master in the foreground
 * (`-g 'daemon off;'`), every path under its own temp prefix.
 */
export async function startNginx (o: NginxOptions): Promise<Daemon> {
  const listen = (port: number): string => o.tls === undefined ? `listen 127.0.0.1:${port};` : `listen 127.0.0.1:${port} ssl;\n    ssl_certificate ${o.tls.cert};\n    ssl_certificate_key ${o.tls.key};`
  return await startNginxSite((port) => `${listen(port)}
    location /~!frp {
      proxy_pass http://127.0.0.1:${o.upstreamPort};
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_read_timeout 3600s;
      proxy_send_timeout 3600s;
    }`, o.port)
}

/**
 * nginx with one `server` block whose body `site(port)` writes (its listen line included), in the
 * foreground, every path under its own temp prefix; on a free loopback port unless `port` is given.
 */
export async function startNginxSite (site: (port: number) => string, port?: number): Promise<Daemon> {
  return await startDaemon('nginx', async (dir, p) => {
    const conf = `worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 256; }
http {
  access_log ${dir}/access.log;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  map $http_upgrade $connection_upgrade { default upgrade; '' close; }
  server {
    ${site(p)}
  }
}
`
    const path = join(dir, 'nginx.conf')
    await writeFile(path, conf)
    return ['-p', dir, '-c', path, '-g', 'daemon off;']
  }, port)
}

export interface Credentials {
  user: string
  password: string
}

/** tinyproxy in the foreground (-d) on 127.0.0.1; with credentials it demands Basic auth. */
export async function startTinyproxy (credentials?: Credentials): Promise<Daemon> {
  return await startDaemon('tinyproxy', async (dir, port) => {
    const lines = [
      `Port ${port}`,
      'Listen 127.0.0.1',
      'Timeout 600',
      'Allow 127.0.0.1',
      'MaxClients 64',
      'LogLevel Info',
      `LogFile "${dir}/tinyproxy.log"`,
      // No ConnectPort line: CONNECT to any port (the relay's is a free one).
      ...(credentials === undefined ? [] : [`BasicAuth ${credentials.user} ${credentials.password}`]),
    ]
    const path = join(dir, 'tinyproxy.conf')
    await writeFile(path, lines.join('\n') + '\n')
    return ['-d', '-c', path]
  })
}

/**
 * The system account dante's `username` method checks (it reads the system's password database).
 * Made once, as root, with no home and no shell; the test credentials are public.
 */
export const SOCKS_TEST_USER: Credentials = { user: 'tunnel-socks', password: 'socks-test-password' }

/** Creates SOCKS_TEST_USER (root only); false when it cannot. */
export function ensureSocksUser (): boolean {
  if (spawnSync('id', [SOCKS_TEST_USER.user]).status === 0) return setPassword()
  if (process.getuid?.() !== 0) return false
  const r = spawnSync('useradd', ['-M', '-s', '/usr/sbin/nologin', SOCKS_TEST_USER.user], { encoding: 'utf8' })
  return r.status === 0 && setPassword()
}

function setPassword (): boolean {
  if (process.getuid?.() !== 0) return true
  return spawnSync('chpasswd', [], { input: `${SOCKS_TEST_USER.user}:${SOCKS_TEST_USER.password}\n` }).status === 0
}

/** danted in the foreground on 127.0.0.1 (one process); `auth`: the username method (SOCKS_TEST_USER). */
export async function startDanted (auth: boolean): Promise<Daemon> {
  return await startDaemon('danted', async (dir, port) => {
    const conf = `logoutput: ${dir}/danted.log
internal: 127.0.0.1 port = ${port}
external: 127.0.0.1
socksmethod: ${auth ? 'username' : 'none'}
clientmethod: none
user.privileged: root
user.unprivileged: nobody
client pass { from: 127.0.0.0/8 to: 0.0.0.0/0 }
socks pass { from: 127.0.0.0/8 to: 0.0.0.0/0 command: connect }
`
    const path = join(dir, 'danted.conf')
    await writeFile(path, conf)
    return ['-f', path, '-N', '1', '-p', join(dir, 'danted.pid')]
  })
}
