import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { ConfigError, ERROR_CODES, formatConfigIssue, TunnelError } from '../../shared/errors.js'

describe('error catalogue', () => {
  const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8')

  it('documents every code in docs/errors.md and nothing else', () => {
    const documented = [...doc.matchAll(/^\| `(TUN_[A-Z_]+)` \|/gm)].map((m) => m[1])
    expect(documented.sort()).toEqual(Object.keys(ERROR_CODES).sort())
  })

  it('formats config issues as file:line:col path: message (CODE)', () => {
    const issue = { code: 'TUN_CONFIG_RANGE' as const, message: '70000 is outside 0-65535', location: { file: 'frpc.yml', line: 12, col: 5, path: 'proxies[0].remotePort' } }
    expect(formatConfigIssue(issue)).toBe('frpc.yml:12:5 proxies[0].remotePort: 70000 is outside 0-65535 (TUN_CONFIG_RANGE)')
    const err = new ConfigError([issue, { ...issue, code: 'TUN_CONFIG_INVALID' }])
    expect(err).toBeInstanceOf(TunnelError)
    expect(err.code).toBe('TUN_CONFIG_RANGE')
    expect(err.message.split('\n')).toHaveLength(2)
  })
})
