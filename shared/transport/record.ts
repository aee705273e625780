// The record layer, pure (no sockets): after the handshake every byte travels as
//   length u16 BE | ChaCha20-Poly1305 ciphertext of ≤ 65,519 bytes | 16-byte tag
// (a Noise transport message, §5 and §13, with empty associated data). Nonces are the implicit
// per-direction record counters, so a dropped, replayed, reordered or altered record fails its
// tag. Both sides rekey (Noise Rekey(), §11.3) after the same number of records or bytes, so they
// stay in step without signalling. One write batch becomes as few records as possible: the
// batch's buffers are fed to cipher.update() one after another, never concatenated when large.
import { createCipheriv, createDecipheriv, type DecipherChaCha20Poly1305 } from 'node:crypto'
import { TunnelError } from '../errors.js'
import { nonceBytes, TAG_BYTES, type CipherState } from './noise.js'

export const RECORD_HEADER_BYTES = 2
export const MAX_RECORD_BYTES = 65_535
export const MAX_RECORD_PLAINTEXT = MAX_RECORD_BYTES - TAG_BYTES
/** Plaintext pieces smaller than this are copied together before encryption (fewer tiny buffers). */
const COALESCE_BELOW_BYTES = 4096
/** Sealed outputs smaller than this are joined with their small neighbours (fewer iovecs and write() calls). */
const JOIN_BELOW_BYTES = 8192

export interface RecordLimits {
  /** Rekey after this many records in one direction. */
  rekeyAfterRecords: number
  /** Rekey after this many plaintext bytes in one direction. */
  rekeyAfterBytes: number
  /** The session ends before a counter would pass this (Noise forbids nonce reuse and 2^64 - 1). */
  maxRecords: number
}

export const DEFAULT_RECORD_LIMITS: Readonly<RecordLimits> = {
  rekeyAfterRecords: 2 ** 20,
  rekeyAfterBytes: 2 ** 30,
  maxRecords: Number.MAX_SAFE_INTEGER,
}

/** Counts records and bytes per direction and rekeys both ends at the same record. */
class KeySchedule {
  readonly cipher: CipherState
  readonly #limits: RecordLimits
  #records = 0
  #bytes = 0
  rekeys = 0

  constructor (cipher: CipherState, limits: RecordLimits) {
    this.cipher = cipher
    this.#limits = limits
  }

  /** Throws TUN_RECORD_LIMIT when the counter is used up; returns this record's nonce. */
  next (): Buffer {
    if (this.cipher.n >= this.#limits.maxRecords) {
      throw new TunnelError('TUN_RECORD_LIMIT', `the record counter reached its limit (${this.#limits.maxRecords}): reconnecting with new keys`)
    }
    return nonceBytes(this.cipher.n)
  }

  done (plaintextBytes: number): void {
    this.cipher.n++
    this.#records++
    this.#bytes += plaintextBytes
    if (this.#records >= this.#limits.rekeyAfterRecords || this.#bytes >= this.#limits.rekeyAfterBytes) {
      this.cipher.rekey()
      this.rekeys++
      this.#records = 0
      this.#bytes = 0
    }
  }
}

export class RecordSealer {
  readonly #keys: KeySchedule
  records = 0

  constructor (cipher: CipherState, limits: RecordLimits = DEFAULT_RECORD_LIMITS) {
    this.#keys = new KeySchedule(cipher, limits)
  }

  get rekeys (): number { return this.#keys.rekeys }

  /**
   * The records for one batch, as buffers to write in order. An empty batch gives one empty
   * record. Small outputs next to each other (a record's length, the previous record's tag, the
   * ciphertext of frame headers) are joined into one buffer: fewer buffers for the socket's
   * writev, each of which costs a write() call and a slot in Node's write queue.
   */
  seal (chunks: readonly Buffer[]): Buffer[] {
    let total = 0
    for (const c of chunks) total += c.length
    const out = new OutputRun()
    let index = 0
    let offset = 0
    do {
      const size = Math.min(total, MAX_RECORD_PLAINTEXT)
      const nonce = this.#keys.next()
      const cipher = createCipheriv('chacha20-poly1305', this.#keys.cipher.key, nonce, { authTagLength: TAG_BYTES })
      const header = Buffer.allocUnsafe(RECORD_HEADER_BYTES)
      header.writeUInt16BE(size + TAG_BYTES, 0)
      out.push(header)
      let small: Buffer[] = []
      let smallBytes = 0
      const flushSmall = (): void => {
        if (small.length === 0) return
        out.push(cipher.update(small.length === 1 ? small[0] as Buffer : Buffer.concat(small, smallBytes)))
        small = []
        smallBytes = 0
      }
      let need = size
      while (need > 0) {
        const chunk = chunks[index] as Buffer
        const take = Math.min(chunk.length - offset, need)
        const piece = offset === 0 && take === chunk.length ? chunk : chunk.subarray(offset, offset + take)
        if (take < COALESCE_BELOW_BYTES) {
          small.push(piece)
          smallBytes += take
        } else {
          flushSmall()
          out.push(cipher.update(piece))
        }
        need -= take
        offset += take
        if (offset === chunk.length) { index++; offset = 0 }
      }
      flushSmall()
      cipher.final()
      out.push(cipher.getAuthTag())
      this.#keys.done(size)
      this.records++
      total -= size
    } while (total > 0)
    return out.finish()
  }
}

/** Collects output buffers, joining runs of small ones (each below JOIN_BELOW_BYTES) into one. */
class OutputRun {
  readonly #out: Buffer[] = []
  #run: Buffer[] = []
  #runBytes = 0

  push (b: Buffer): void {
    if (b.length === 0) return
    if (b.length < JOIN_BELOW_BYTES) {
      this.#run.push(b)
      this.#runBytes += b.length
      return
    }
    this.#flush()
    this.#out.push(b)
  }

  finish (): Buffer[] {
    this.#flush()
    return this.#out
  }

  #flush (): void {
    if (this.#run.length === 0) return
    this.#out.push(this.#run.length === 1 ? this.#run[0] as Buffer : Buffer.concat(this.#run, this.#runBytes))
    this.#run = []
    this.#runBytes = 0
  }
}

/**
 * Incremental opener: push() any chunking of the byte stream; get the plaintext of every record
 * that completed, only after its tag verified. Ciphertext is deciphered as it arrives, so no
 * pushed chunk is referenced after push() returns (the caller may reuse its read buffer): only
 * the 2-byte length, the 16-byte tag and the not-yet-verified plaintext of the record being read
 * are kept. Nothing is allocated from a length before the bytes are there (the length is at most
 * 65,535 anyway). Throws TUN_RECORD_AUTH or TUN_RECORD_LIMIT; after a throw the opener is dead.
 */
export class RecordOpener {
  readonly #keys: KeySchedule
  /** The record header being read (copied: it may straddle two chunks). */
  readonly #header = Buffer.alloc(RECORD_HEADER_BYTES)
  #headerGot = 0
  /** The tag being read (copied, as the header). */
  readonly #tag = Buffer.alloc(TAG_BYTES)
  #tagGot = 0
  /** The cipher of the record being read; undefined while its header is incomplete. */
  #decipher: DecipherChaCha20Poly1305 | undefined
  /** Ciphertext bytes of the current record still to come. */
  #cipherLeft = 0
  /** Plaintext of the current record, withheld until its tag verifies. */
  #plain: Buffer[] = []
  #plainBytes = 0
  #dead = false
  records = 0

  constructor (cipher: CipherState, limits: RecordLimits = DEFAULT_RECORD_LIMITS) {
    this.#keys = new KeySchedule(cipher, limits)
  }

  get rekeys (): number { return this.#keys.rekeys }
  /** Bytes received but not yet part of a verified record. */
  get buffered (): number { return this.#headerGot + this.#plainBytes + this.#tagGot }

  push (chunk: Buffer): Buffer[] {
    if (this.#dead) throw new TunnelError('TUN_RECORD_AUTH', 'the record stream already failed')
    const out: Buffer[] = []
    try {
      let off = 0
      while (off < chunk.length) {
        if (this.#decipher === undefined) {
          const take = Math.min(RECORD_HEADER_BYTES - this.#headerGot, chunk.length - off)
          chunk.copy(this.#header, this.#headerGot, off, off + take)
          this.#headerGot += take
          off += take
          if (this.#headerGot === RECORD_HEADER_BYTES) this.#begin(this.#header.readUInt16BE(0))
        } else if (this.#cipherLeft > 0) {
          const take = Math.min(this.#cipherLeft, chunk.length - off)
          const plain = this.#decipher.update(chunk.subarray(off, off + take))
          if (plain.length > 0) {
            this.#plain.push(plain)
            this.#plainBytes += plain.length
          }
          this.#cipherLeft -= take
          off += take
        } else {
          const take = Math.min(TAG_BYTES - this.#tagGot, chunk.length - off)
          chunk.copy(this.#tag, this.#tagGot, off, off + take)
          this.#tagGot += take
          off += take
          if (this.#tagGot === TAG_BYTES) this.#finish(out)
        }
      }
    } catch (err) {
      this.#dead = true
      this.#decipher = undefined
      this.#plain = []
      this.#plainBytes = 0
      throw err
    }
    return out
  }

  #begin (len: number): void {
    if (len < TAG_BYTES) throw new TunnelError('TUN_RECORD_AUTH', `a record is shorter than its tag (${len} bytes): the stream is corrupted or tampered with`)
    const nonce = this.#keys.next()
    this.#decipher = createDecipheriv('chacha20-poly1305', this.#keys.cipher.key, nonce, { authTagLength: TAG_BYTES })
    this.#cipherLeft = len - TAG_BYTES
    this.#tagGot = 0
  }

  #finish (out: Buffer[]): void {
    const decipher = this.#decipher as DecipherChaCha20Poly1305
    decipher.setAuthTag(this.#tag)
    try {
      decipher.final()
    } catch {
      throw new TunnelError('TUN_RECORD_AUTH', `record ${this.records} failed authentication: the stream is corrupted or tampered with`)
    }
    this.#keys.done(this.#plainBytes)
    this.records++
    for (const p of this.#plain) out.push(p)
    this.#plain = []
    this.#plainBytes = 0
    this.#decipher = undefined
    this.#headerGot = 0
    this.#tagGot = 0
  }
}
