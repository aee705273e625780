// The certificate a relay shows TLS clients when transport.tls.certFile is not set (frp makes a
// random self-signed one too): a fresh ECDSA P-256 key and an X.509 v3 certificate signed by it,
// encoded here in DER because node:crypto can read certificates but not make them. Clients do not
// check it unless they set transport.tls.trustedCaFile (then they need a real one); the relay is
// authenticated by its Noise key (auth.serverKey), so this certificate only makes the connection
// look like HTTPS.
import { generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto'

/** How long the generated certificate is valid (frp: 10 years); it is made anew at each start. */
export const SELF_SIGNED_VALIDITY_MS = 10 * 365 * 24 * 3600 * 1000
/** notBefore lies this far in the past, for clients whose clock is a little behind. */
export const SELF_SIGNED_BACKDATE_MS = 3600 * 1000
export const SELF_SIGNED_COMMON_NAME = 'tunnel relay'

const OID_ECDSA_WITH_SHA256 = '1.2.840.10045.4.3.2'
const OID_COMMON_NAME = '2.5.4.3'

export interface SelfSigned {
  /** PEM certificate and PKCS#8 PEM key, as tls.createSecureContext takes them. */
  cert: string
  key: string
}

export function selfSignedCertificate (nowMs = Date.now()): SelfSigned {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const der = certificateDer(publicKey, privateKey, nowMs)
  const b64 = der.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n$/, '')
  return {
    cert: `-----BEGIN CERTIFICATE-----\n${b64}\n-----END CERTIFICATE-----\n`,
    key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  }
}

function certificateDer (publicKey: KeyObject, privateKey: KeyObject, nowMs: number): Buffer {
  const serial = randomBytes(16)
  serial[0] = (serial[0] ?? 0) & 0x7f | 0x40 // positive and non-zero (RFC 5280 §4.1.2.2)
  const algorithm = seq(oid(OID_ECDSA_WITH_SHA256))
  const name = seq(set(seq(oid(OID_COMMON_NAME), tlv(0x0c, Buffer.from(SELF_SIGNED_COMMON_NAME)))))
  const validity = seq(time(nowMs - SELF_SIGNED_BACKDATE_MS), time(nowMs + SELF_SIGNED_VALIDITY_MS))
  const spki = publicKey.export({ type: 'spki', format: 'der' })
  const tbs = seq(tlv(0xa0, integer(Buffer.from([2]))), integer(serial), algorithm, name, validity, name, spki)
  const signature = sign('sha256', tbs, privateKey) // ECDSA-Sig-Value, DER
  return seq(tbs, algorithm, tlv(0x03, Buffer.concat([Buffer.from([0]), signature])))
}

// ------------------------------------------------------------------ DER (X.690), what a certificate needs

export function tlv (tag: number, body: Buffer): Buffer {
  const n = body.length
  const length = n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : n < 0x10000 ? [0x82, n >> 8, n & 0xff] : undefined
  if (length === undefined) throw new RangeError(`DER value of ${n} bytes is longer than a certificate needs`)
  return Buffer.concat([Buffer.from([tag, ...length]), body])
}

const seq = (...parts: Buffer[]): Buffer => tlv(0x30, Buffer.concat(parts))
const set = (...parts: Buffer[]): Buffer => tlv(0x31, Buffer.concat(parts))

/** A non-negative INTEGER from big-endian bytes (a leading 0 keeps the sign bit clear). */
function integer (bytes: Buffer): Buffer {
  let i = 0
  while (i < bytes.length - 1 && bytes[i] === 0) i++
  const body = bytes.subarray(i)
  return tlv(0x02, ((body[0] ?? 0) & 0x80) !== 0 ? Buffer.concat([Buffer.from([0]), body]) : body)
}

export function oid (text: string): Buffer {
  const arcs = text.split('.').map(Number)
  const out = [40 * (arcs[0] ?? 0) + (arcs[1] ?? 0)]
  for (const arc of arcs.slice(2)) {
    const groups = [arc & 0x7f]
    for (let v = Math.floor(arc / 128); v > 0; v = Math.floor(v / 128)) groups.unshift((v & 0x7f) | 0x80)
    out.push(...groups)
  }
  return tlv(0x06, Buffer.from(out))
}

/** UTCTime through 2049, GeneralizedTime from 2050 (RFC 5280 §4.1.2.5). */
function time (ms: number): Buffer {
  const iso = new Date(ms).toISOString() // 2026-01-02T03:04:05.678Z
  const digits = iso.slice(0, 19).replace(/[-:T]/g, '') + 'Z'
  const year = new Date(ms).getUTCFullYear()
  return year < 2050 ? tlv(0x17, Buffer.from(digits.slice(2))) : tlv(0x18, Buffer.from(digits))
}
