import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ConfigError } from '../../shared/errors.js'
import { parseClientConfig, type ClientConfig } from '../../shared/config/index.js'
import { MAX_RANGE_NUMBERS, parseRangeNumbers, renderTemplate } from '../../shared/config/template.js'

/** frp's README, "Port range mapping" (v0.56.0), as a whole frpc.toml. */
const README_TOML = `serverAddr = "127.0.0.1"
{{- range $_, $v := parseNumberRangePair "6000-6006,6007" "6000-6006,6007" }}
[[proxies]]
name = "tcp-{{ $v.First }}"
type = "tcp"
localPort = {{ $v.First }}
remotePort = {{ $v.Second }}
{{- end }}
`

const YAML = `serverAddr: 127.0.0.1
proxies:
{{- range $_, $v := parseNumberRangePair "6000-6002" "7000-7002" }}
  - name: "tcp-{{ $v.First }}"
    type: tcp
    localPort: {{ $v.First }}
    remotePort: {{ $v.Second }}
{{- end }}
  - name: ssh
    type: tcp
    localPort: 22
    remotePort: 2222
`

function ports (c: ClientConfig): string[] {
  return c.proxies.map((p) => `${p.name} ${p.localPort}->${'remotePort' in p ? p.remotePort : '-'}`)
}

function failure (text: string, file: string, env: Record<string, string> = {}): ConfigError {
  try {
    parseClientConfig(text, file, env)
  } catch (err) {
    if (err instanceof ConfigError) return err
    throw err
  }
  throw new Error('the file loaded, but it should not')
}

const places = (e: ConfigError): string[] => e.issues.map((i) => `${i.location.line}:${i.location.col} ${i.location.path}`)

describe('port ranges (frp\'s parseNumberRangePair / parseNumberRange templates)', () => {
  it('expand frp\'s README example to one proxy per port, named as the template names them', () => {
    const { config } = parseClientConfig(README_TOML, 'frpc.toml', {})
    expect(ports(config)).toEqual([6000, 6001, 6002, 6003, 6004, 6005, 6006, 6007].map((p) => `tcp-${p} ${p}->${p}`))
  })

  it('configs/frpc-ranges.toml gives the proxies its comment promises', () => {
    const file = join(import.meta.dirname, '..', '..', 'configs', 'frpc-ranges.toml')
    const { config } = parseClientConfig(readFileSync(file, 'utf8'), file, { FRP_TOKEN: 't' })
    expect(ports(config)).toEqual([
      ...[27015, 27016, 27017, 27018, 27019, 27020, 27030].map((p) => `game-${p} ${p}->${p}`),
      'web-5000 5000->6000', 'web-5001 5001->6001', 'web-5002 5002->6002',
    ])
  })

  it('work in YAML too, next to ordinary proxies, pairing the two ranges in order', () => {
    const { config } = parseClientConfig(YAML, 'frpc.yml', {})
    expect(ports(config)).toEqual(['tcp-6000 6000->7000', 'tcp-6001 6001->7001', 'tcp-6002 6002->7002', 'ssh 22->2222'])
  })

  it('parseNumberRange gives each number, and an index when two variables are named', () => {
    const text = 'proxies:\n{{ range $i, $p := parseNumberRange "5000,5002-5003" }}  - { name: "u{{ $i }}", type: udp, localPort: {{ $p }}, remotePort: {{ . }} }\n{{ end }}'
    expect(ports(parseClientConfig(text, 'frpc.yml', {}).config)).toEqual(['u0 5000->5000', 'u1 5002->5002', 'u2 5003->5003'])
  })

  it('points an error inside a range at the template\'s line, for every port it hits', () => {
    const e = failure(YAML.replace('"7000-7002"', '"65534-65536"'), 'frpc.yml')
    expect(places(e)).toEqual(['7:17 proxies[2].remotePort'])
    expect(e.issues[0]?.message).toBe('65536 is outside 0-65535')
    const t = failure(README_TOML.replace('"6000-6006,6007" }', '"70000-70006,6007" }'), 'frpc.toml')
    expect(places(t)).toEqual([0, 1, 2, 3, 4, 5, 6].map((i) => `7:14 proxies[${i}].remotePort`))
  })

  it('points a problem after a range at its own line', () => {
    const e = failure(YAML.replace('remotePort: 2222', 'remotePort: 99999'), 'frpc.yml')
    expect(places(e)).toEqual(['12:17 proxies[3].remotePort'])
  })

  it('names a duplicate proxy name made by a range at the template\'s line', () => {
    const e = failure(YAML.replace('"tcp-{{ $v.First }}"', 'same'), 'frpc.yml')
    expect(places(e)).toEqual(['4:11 proxies[1].name', '4:11 proxies[2].name'])
  })

  it('refuses ranges of different lengths, bad numbers, and a range without end, at the range\'s place', () => {
    expect(failure(YAML.replace('"7000-7002"', '"7000-7003"'), 'frpc.yml').message).toMatch(/^frpc\.yml:3:1 parseNumberRangePair: the two ranges must have as many numbers each, got 3 and 4 \(TUN_CONFIG_INVALID\)$/)
    expect(failure(YAML.replace('"6000-6002"', '"6002-6000"'), 'frpc.yml').message).toContain('"6002-6000" ends before it starts')
    expect(failure(YAML.replace('"6000-6002"', '"60a0"'), 'frpc.yml').message).toContain('"60a0" is not a number')
    expect(failure(YAML.replace('{{- end }}', ''), 'frpc.yml').message).toMatch(/^frpc\.yml:3:1 this range has no \{\{ end \}\}/)
    expect(failure('{{ end }}\n', 'frpc.yml').message).toContain('{{ end }} without a {{ range }}')
    expect(failure('{{ range $v := parseNumberRangePair "1" }}{{ end }}', 'frpc.yml').message).toContain('takes two ranges')
  })

  it('bounds what one range may expand to', () => {
    expect(parseRangeNumbers(`1-${MAX_RANGE_NUMBERS}`)).toHaveLength(MAX_RANGE_NUMBERS)
    expect(parseRangeNumbers(`0-${MAX_RANGE_NUMBERS}`)).toBe(`more than ${MAX_RANGE_NUMBERS} numbers`)
    expect(parseRangeNumbers('1-99999999999')).toBe(`more than ${MAX_RANGE_NUMBERS} numbers`)
    expect(renderTemplate('{{ range parseNumberRange "1-1000000" }}x{{ end }}', {}).problems[0]?.message).toContain(`more than ${MAX_RANGE_NUMBERS}`)
  })

  it('reads environment variables as $.Envs.NAME inside a range and as range arguments, as frp does', () => {
    const text = 'proxies:\n{{- range $_, $p := parseNumberRange .Envs.PORTS }}\n  - { name: "p{{ $p }}", type: tcp, localIP: "{{ $.Envs.HOST }}", localPort: {{ $p }} }\n{{- end }}\n'
    const { config } = parseClientConfig(text, 'frpc.yml', { PORTS: '80,81', HOST: '10.0.0.2' })
    expect(config.proxies.map((p) => `${p.name}@${p.localIP}`)).toEqual(['p80@10.0.0.2', 'p81@10.0.0.2'])
    // In Go's templates "." is the range's item inside it, so .Envs is not there: say what to write.
    const e = failure(text.replace('$.Envs.HOST', '.Envs.HOST'), 'frpc.yml', { PORTS: '80,81', HOST: 'h' })
    expect(e.issues).toHaveLength(1)
    expect(e.message).toContain('write {{ $.Envs.HOST }}')
  })

  it('trims white space at {{- and -}} like Go, and drops {{/* comments */}}', () => {
    expect(renderTemplate('a  \n {{- "b" -}} \n c{{/* note */}}d', {}).text).toBe('abcd')
    expect(renderTemplate('a {{ "b" }} c', {}).text).toBe('a b c')
    expect(renderTemplate('a {{-3}}', {}).problems).toHaveLength(1) // `{{-3` is not a trim marker in Go either
  })

  it('refuses what it does not run, naming the action', () => {
    for (const action of ['{{ if .Envs.X }}', '{{ .Envs.X | upper }}', '{{ range $v := until 3 }}', '{{ $v }}']) {
      const r = renderTemplate(`user: ${action}\n`, { X: '1' })
      expect(r.problems.length, action).toBeGreaterThan(0)
      expect(r.problems[0]?.offset).toBe(6)
    }
  })

  it('leaves templates in # comments alone', () => {
    const r = renderTemplate('# {{- range $_, $v := parseNumberRange "1-3" }}\nuser: x # {{ end }}\n', {})
    expect(r).toMatchObject({ text: '# {{- range $_, $v := parseNumberRange "1-3" }}\nuser: x # {{ end }}\n', problems: [] })
  })
})
