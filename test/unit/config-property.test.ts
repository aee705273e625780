import { describe, it, expect } from 'vitest'
import fc from 'fast-check'
import { stringify } from 'yaml'
import { ConfigError } from '../../shared/errors.js'
import { parseClientConfig, parseServerConfig } from '../../shared/config/index.js'

/** Runs a parse; true when it loaded, false on ConfigError; anything else fails the property. */
function onlyConfigErrors (run: () => unknown): boolean {
  try {
    run()
    return true
  } catch (err) {
    if (err instanceof ConfigError) {
      expect(err.issues.length).toBeGreaterThan(0)
      for (const i of err.issues) expect(i.location.line).toBeGreaterThanOrEqual(0)
      return false
    }
    throw err
  }
}

const both = (text: string, env: Record<string, string> = {}): void => {
  onlyConfigErrors(() => parseServerConfig(text, 'frps.yml', env))
  onlyConfigErrors(() => parseClientConfig(text, 'frpc.yml', env))
}

const KEYS = ['bindAddr', 'bindPort', 'serverAddr', 'serverPort', 'auth', 'token', 'method', 'proxies', 'name',
  'type', 'localIP', 'localPort', 'remotePort', 'enabled', 'transport', 'heartbeatInterval', 'heartbeatTimeout',
  'allowPorts', 'start', 'end', 'single', 'log', 'level', 'webServer', 'tcpMux', '.anchor', '<<', '__proto__', 'x']
const PIECES = [...KEYS.map((k) => `${k}:`), ' ', '  ', '\n', '- ', '{', '}', '[', ']', ',', '&a ', '*a', '"', "'", '#',
  '{{ .Envs.A }}', '{{', '}}', 'tcp', 'udp', '0', '65536', '-1', '1.5', 'true', 'null', '~', '!!binary', '!tag', '? ', '|', '>', '\t', '---']

/** Text built from YAML-ish pieces: reaches the parser, the validator and the env templating. */
const yamlish = fc.array(fc.constantFrom(...PIECES), { maxLength: 60 }).map((parts) => parts.join(''))

/** Structured values over the real key names, serialised as YAML: reaches deep validation paths. */
const value: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  any: fc.oneof({ depthSize: 'small' },
    fc.constantFrom(0, 1, 22, 6000, 65535, 65536, -1, 1.5, true, false, null, '', 'tcp', 'udp', 'token', 'x'),
    fc.string({ maxLength: 8 }),
    fc.array(tie('any'), { maxLength: 3 }),
    fc.dictionary(fc.constantFrom(...KEYS), tie('any'), { maxKeys: 5 })),
})).any

describe('the config loader on arbitrary input', () => {
  it('throws nothing but ConfigError for YAML-ish text', () => {
    fc.assert(fc.property(yamlish, fc.constantFrom({}, { A: '7000' }, { A: 'x\ny' }), (text, env) => { both(text, env) }), { numRuns: 400 })
  })

  it('throws nothing but ConfigError for arbitrary strings', () => {
    fc.assert(fc.property(fc.string({ maxLength: 200, unit: 'binary' }), (text) => { both(text) }), { numRuns: 300 })
  })

  it('throws nothing but ConfigError for structured documents over the real keys', () => {
    fc.assert(fc.property(fc.dictionary(fc.constantFrom(...KEYS), value, { maxKeys: 8 }), (doc) => {
      both(stringify(doc))
    }), { numRuns: 400 })
  })
})

describe('secrets', () => {
  const token = fc.string({ unit: fc.constantFrom(...'abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789+/=_-.~!$%&*?@^'), minLength: 10, maxLength: 40 })
  const breakages = [
    (t: string) => `auth:\n  token: ${JSON.stringify(t)}\nbogus: 1\nserverPort: 70000`,
    (t: string) => `auth:\n  token: ${t}\n  tokne: 1`,
    (t: string) => `auth: { token: ${t}, method: oidc }`,
    (t: string) => `auth:\n  token: [${JSON.stringify(t)}]`,
    (t: string) => `auth:\n  token: { value: ${JSON.stringify(t)} }`,
    (t: string) => `auth:\n  token: ${t}\n   bad: indent`,
    (t: string) => `auth:\n  token: "${t}`,
    (t: string) => `auth:\n  token: |${t}\n  x: 1`,
    (t: string) => `auth:\n  token: !${t} x`,
    (t: string) => `webServer:\n  password: ${JSON.stringify(t)}\nproxies: [{ name: "bad name", type: tcp, localPort: 0 }]`,
  ]

  it('no error or warning text ever contains the auth.token value', () => {
    fc.assert(fc.property(token, fc.constantFrom(...breakages), (t, make) => {
      const text = make(t)
      for (const parse of [parseServerConfig, parseClientConfig]) {
        try {
          const { warnings } = parse(text, 'f.yml', {})
          for (const w of warnings) expect(w.message).not.toContain(t)
        } catch (err) {
          if (!(err instanceof ConfigError)) throw err
          expect(err.message).not.toContain(t)
        }
      }
    }), { numRuns: 500 })
  })

  it('a token from the environment with a line break is refused without showing it', () => {
    fc.assert(fc.property(token, token, (a, b) => {
      try {
        parseClientConfig('auth:\n  token: "{{ .Envs.T }}"', 'frpc.yml', { T: `${a}\n${b}` })
        expect.unreachable()
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError)
        expect((err as ConfigError).message).not.toContain(a)
        expect((err as ConfigError).message).not.toContain(b)
      }
    }), { numRuns: 100 })
  })
})
