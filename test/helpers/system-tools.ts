// Real components from Debian (nginx, tinyproxy, dante-server, dnsmasq, dig, iperf3, etcd, ...)
// that some tests start themselves. .ci/run installs them; on a developer's machine without one,
// such a test is skipped with a message that names the package. Under CI (CI=1, which .ci/run
// sets) a missing tool fails the test instead: CI must never pass by skipping.
import { spawnSync } from 'node:child_process'

/** A tool's absolute path, or undefined when it is not on PATH (or /usr/sbin, where daemons live). */
export function findTool (name: string): string | undefined {
  const r = spawnSync('sh', ['-c', `PATH="$PATH:/usr/sbin:/sbin" command -v ${name}`], { encoding: 'utf8' })
  const path = r.stdout.trim()
  return r.status === 0 && path !== '' ? path : undefined
}

/**
 * For describe.skipIf / it.skipIf: true (skip) when `tool` is missing outside CI, after printing
 * which Debian package provides it; throws under CI, where .ci/run should have installed it.
 */
export function missingTool (tool: string, debianPackage: string): boolean {
  if (findTool(tool) !== undefined) return false
  const message = `${tool} is not installed (Debian package ${debianPackage}): the tests that need it are skipped here; .ci/run installs it`
  if (process.env.CI !== undefined && process.env.CI !== '' && process.env.CI !== '0') throw new Error(`CI: ${message}`)
  console.info(message)
  return true
}
