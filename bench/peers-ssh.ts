// The OpenSSH peer: a throwaway sshd on a loopback port (its own host key, an authorized key made
// here, no PAM, no passwords) and `ssh -N -R` forwarding the relay-side ports to the services,
// the way a user would tunnel with OpenSSH. Both processes are in the run's ProcessGroup (killed
// by PID); the key directory is removed by cleanup(). Installs openssh-server with apt-get when
// sshd is missing and we are root (Debian's policy-rc.d keeps the system service from starting).
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync } from 'node:fs'
import { chmod, copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { connect } from 'node:net'
import { tmpdir, userInfo } from 'node:os'
import { join } from 'node:path'
import type { ProcessGroup } from './lib/procs.js'
import { freePort, type PeerPorts } from './peers-targets.js'

const SSHD = '/usr/sbin/sshd'
const READY_TIMEOUT_MS = 15_000
const APT_TIMEOUT_MS = 300_000

export interface SshPeer {
  version: string
  ports: PeerPorts
  cleanup: () => Promise<void>
}

/** sshd present, or installed now; undefined with the reason when it cannot be. */
export function ensureSshd (install: boolean, note: (s: string) => void): boolean {
  if (existsSync(SSHD)) return true
  if (!install) { note('ssh peer skipped: /usr/sbin/sshd is missing (apt-get install openssh-server, or drop --no-install)'); return false }
  if (process.getuid?.() !== 0) { note('ssh peer skipped: sshd is missing and installing it needs root (apt-get install openssh-server openssh-client)'); return false }
  note('installing openssh-server and openssh-client with apt-get (one time)')
  const opts = { stdio: 'ignore' as const, timeout: APT_TIMEOUT_MS, env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } }
  let r = spawnSync('apt-get', ['install', '-y', '-qq', 'openssh-server', 'openssh-client'], opts)
  if (r.status !== 0) {
    spawnSync('apt-get', ['update', '-qq'], opts)
    r = spawnSync('apt-get', ['install', '-y', '-qq', 'openssh-server', 'openssh-client'], opts)
  }
  if (r.status !== 0 || !existsSync(SSHD)) { note('ssh peer skipped: apt-get install openssh-server failed'); return false }
  return true
}

function sshVersion (): string {
  const r = spawnSync('ssh', ['-V'], { encoding: 'utf8' })
  return (r.stderr || r.stdout).trim().split(',')[0] ?? 'OpenSSH'
}

function keygen (file: string): void {
  const r = spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'tunnel-bench', '-f', file], { stdio: 'ignore' })
  if (r.status !== 0) throw new Error(`ssh-keygen -f ${file} failed`)
}

/** Resolves once a TCP connect to the port succeeds; bounded by time and attempts. */
async function waitListening (port: number, what: string): Promise<void> {
  const deadline = performance.now() + READY_TIMEOUT_MS
  for (let i = 0; i < 1_000 && performance.now() < deadline; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect({ host: '127.0.0.1', port })
      s.once('connect', () => { s.destroy(); resolve(true) })
      s.once('error', () => { resolve(false) })
    })
    if (ok) return
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error(`${what}: 127.0.0.1:${port} not listening within ${READY_TIMEOUT_MS} ms`)
}

export async function startSshPeer (group: ProcessGroup, services: PeerPorts): Promise<SshPeer> {
  const dir = await mkdtemp(join(tmpdir(), 'tunnel-peers-ssh-'))
  const cleanup = async (): Promise<void> => { await rm(dir, { recursive: true, force: true }) }
  try {
    keygen(join(dir, 'host_key'))
    keygen(join(dir, 'id'))
    await copyFile(join(dir, 'id.pub'), join(dir, 'authorized_keys'))
    await chmod(join(dir, 'authorized_keys'), 0o600)
    if (process.getuid?.() === 0) mkdirSync('/run/sshd', { recursive: true }) // privilege separation dir
    const sshdPort = await freePort()
    await writeFile(join(dir, 'sshd_config'), [
      `Port ${sshdPort}`, 'ListenAddress 127.0.0.1', `HostKey ${join(dir, 'host_key')}`,
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`, `PidFile ${join(dir, 'sshd.pid')}`,
      'StrictModes no', 'UsePAM no', 'PasswordAuthentication no', 'KbdInteractiveAuthentication no',
      'PermitRootLogin prohibit-password', 'AllowTcpForwarding yes', 'GatewayPorts no', 'X11Forwarding no',
      'PrintMotd no', 'LogLevel ERROR', '',
    ].join('\n'))
    group.spawn('sshd', SSHD, ['-D', '-e', '-f', join(dir, 'sshd_config')])
    await waitListening(sshdPort, 'sshd')
    const ports: PeerPorts = { echo: await freePort(), sink: await freePort(), udp: undefined }
    group.spawn('ssh', 'ssh', [
      '-N', '-F', '/dev/null', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'BatchMode=yes',
      '-o', 'ExitOnForwardFailure=yes', '-o', 'LogLevel=ERROR', '-i', join(dir, 'id'), '-p', String(sshdPort),
      '-R', `127.0.0.1:${ports.echo}:127.0.0.1:${services.echo}`,
      '-R', `127.0.0.1:${ports.sink}:127.0.0.1:${services.sink}`,
      `${userInfo().username}@127.0.0.1`,
    ])
    await waitListening(ports.echo, 'ssh -R (echo)')
    await waitListening(ports.sink, 'ssh -R (sink)')
    return { version: sshVersion(), ports, cleanup }
  } catch (err) {
    await cleanup()
    throw err
  }
}
