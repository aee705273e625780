// A throwaway self-signed certificate for a TLS plugin (https2http, https2https, tls2raw) given
// no crtPath/keyPath, as frp makes one: an ECDSA P-256 key from node:crypto and an X.509 v3
// certificate written here in DER (node can read certificates but not make them). Valid from an
// hour ago for SELF_SIGNED_VALIDITY_DAYS, with the proxy's domains (or localhost) as names.
// Visitors' browsers do not trust it; it only lets TLS start.
import { generateKeyPairSync, randomBytes, sign } from 'node:crypto'

/** frp's self-signed certificates last ten years. */
export const SELF_SIGNED_VALIDITY_DAYS = 3650
const DAY_MS = 86_400_000

function length (n: number): Buffer {
  if (n < 0x80) return Buffer.from([n])
  const bytes: number[] = []
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff)
  return Buffer.from([0x80 | bytes.length, ...bytes])
}

/** One DER element: tag, length, contents. */
function der (tag: number, ...contents: Buffer[]): Buffer {
  const body = Buffer.concat(contents)
  return Buffer.concat([Buffer.from([tag]), length(body.length), body])
}

const seq = (...c: Buffer[]): Buffer => der(0x30, ...c)

function oid (text: string): Buffer {
  const arcs = text.split('.').map(Number)
  const out = [40 * (arcs[0] ?? 0) + (arcs[1] ?? 0)]
  for (const arc of arcs.slice(2)) {
    const base128 = [arc & 0x7f]
    for (let v = Math.floor(arc / 128); v > 0; v = Math.floor(v / 128)) base128.unshift(0x80 | (v & 0x7f))
    out.push(...base128)
  }
  return der(0x06, Buffer.from(out))
}

/** A non-negative INTEGER from big-endian bytes. */
function integer (bytes: Buffer): Buffer {
  return der(0x02, (bytes[0] ?? 0) & 0x80 ? Buffer.concat([Buffer.from([0]), bytes]) : bytes)
}

/** UTCTime before 2050, GeneralizedTime from then on (RFC 5280 4.1.2.5). */
function time (at: Date): Buffer {
  const iso = at.toISOString().replace(/[-:T]/g, '').slice(0, 14) + 'Z' // YYYYMMDDHHMMSSZ
  return at.getUTCFullYear() < 2050 ? der(0x17, Buffer.from(iso.slice(2), 'latin1')) : der(0x18, Buffer.from(iso, 'latin1'))
}

function name (cn: string): Buffer {
  return seq(der(0x31, seq(oid('2.5.4.3'), der(0x0c, Buffer.from(cn, 'utf8')))))
}

export interface SelfSigned {
  /** PEM. */
  cert: string
  /** PEM (PKCS #8); never logged. */
  key: string
}

/** A fresh key and certificate for `names` (host names or *.wildcards; empty: localhost). */
export function selfSignedCertificate (names: readonly string[], now = new Date()): SelfSigned {
  const dns = names.filter((n) => n !== '*' && /^[A-Za-z0-9*._-]+$/.test(n))
  const hosts = dns.length > 0 ? dns : ['localhost']
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
  const ecdsaSha256 = seq(oid('1.2.840.10045.4.3.2'))
  const serial = randomBytes(16)
  serial[0] = (serial[0] ?? 0) & 0x7f | 0x01 // positive and not zero
  const san = seq(...hosts.map((h) => der(0x82, Buffer.from(h, 'latin1'))))
  const extensions = der(0xa3, seq(
    seq(oid('2.5.29.17'), der(0x04, san)), // subjectAltName
    seq(oid('2.5.29.19'), der(0x04, seq())), // basicConstraints: not a CA
  ))
  const subject = name(hosts[0] ?? 'localhost')
  const tbs = seq(
    der(0xa0, integer(Buffer.from([2]))), // v3
    integer(serial),
    ecdsaSha256,
    subject,
    seq(time(new Date(now.getTime() - 3_600_000)), time(new Date(now.getTime() + SELF_SIGNED_VALIDITY_DAYS * DAY_MS))),
    subject,
    publicKey.export({ type: 'spki', format: 'der' }),
    extensions,
  )
  const signature = sign('sha256', tbs, privateKey) // ECDSA in DER, as X.509 wants it
  const cert = seq(tbs, ecdsaSha256, der(0x03, Buffer.from([0]), signature))
  const pem = `-----BEGIN CERTIFICATE-----\n${cert.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n?$/, '\n')}-----END CERTIFICATE-----\n`
  return { cert: pem, key: String(privateKey.export({ type: 'pkcs8', format: 'pem' })) }
}
