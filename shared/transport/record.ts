// The record layer, pure (no sockets): after the handshake every byte travels as
//   length u16 BE | ChaCha20-Poly1305 ciphertext of ≤ 65,519 bytes | 16-byte tag
// (a Noise transport message, §5 and §13, with empty associated data). Nonces are the implicit
// per-direction record counters, so a dropped, replayed, reordered or altered record fails its
// tag. Both sides rekey (Noise Rekey(), §11.3) after the same number of records or bytes, so they
// stay in step without signalling. One write batch becomes as few records as possible: the
// batch's buffers are fed to cipher.update() one after another, never concatenated when large.
import { createCipheriv, createDecipheriv } from 'node:crypto'
import { TunnelError } from '../errors.js'
import { nonceBytes, TAG_BYTES, type CipherState } from './noise.js'

export const RECORD_HEADER_BYTES = 2
export const MAX_RECORD_BYTES = 65_535
export const MAX_RECORD_PLAINTEXT = MAX_RECORD_BYTES - TAG_BYTES
/** Plaintext pieces smaller than this are copied together before encryption (fewer tiny buffers). */
const COALESCE_BELOW_BYTES = 4096
/** Records smaller than this go out as one buffer (one iovec instead of three or more). */
const SINGLE_BUFFER_BELOW_BYTES = 8192

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

  /** The records for one batch, as buffers to write in order. An empty batch gives one empty record. */
  seal (chunks: readonly Buffer[]): Buffer[] {
    let total = 0
    for (const c of chunks) total += c.length
    const out: Buffer[] = []
    let index = 0
    let offset = 0
    do {
      const size = Math.min(total, MAX_RECORD_PLAINTEXT)
      const nonce = this.#keys.next()
      const cipher = createCipheriv('chacha20-poly1305', this.#keys.cipher.key, nonce, { authTagLength: TAG_BYTES })
      const header = Buffer.allocUnsafe(RECORD_HEADER_BYTES)
      header.writeUInt16BE(size + TAG_BYTES, 0)
      const parts: Buffer[] = [header]
      let small: Buffer[] = []
      let smallBytes = 0
      const flushSmall = (): void => {
        if (small.length === 0) return
        parts.push(cipher.update(small.length === 1 ? small[0] as Buffer : Buffer.concat(small, smallBytes)))
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
          parts.push(cipher.update(piece))
        }
        need -= take
        offset += take
        if (offset === chunk.length) { index++; offset = 0 }
      }
      flushSmall()
      cipher.final()
      parts.push(cipher.getAuthTag())
      this.#keys.done(size)
      this.records++
      if (size + TAG_BYTES + RECORD_HEADER_BYTES < SINGLE_BUFFER_BELOW_BYTES) out.push(Buffer.concat(parts))
      else out.push(...parts)
      total -= size
    } while (total > 0)
    return out
  }
}

/**
 * Incremental opener: push() any chunking of the byte stream; get the plaintext of every record
 * that completed, only after its tag verified. Nothing is allocated from a length before the
 * bytes are there (the length is at most 65,535 anyway). Throws TUN_RECORD_AUTH or
 * TUN_RECORD_LIMIT; after a throw the opener is dead.
 */
export class RecordOpener {
  readonly #keys: KeySchedule
  #chunks: Buffer[] = []
  #buffered = 0
  /** Ciphertext + tag length of the record being read; -1 while its header is incomplete. */
  #need = -1
  #dead = false
  readonly #release: ((piece: Buffer) => void) | undefined
  records = 0

  /**
   * `release` is told of every piece of a pushed chunk once the opener has copied its bytes out
   * (deciphered, or a header or tag copied together) and will never read it again (the caller
   * may then reuse the memory: shared/mux/read-pool.ts).
   */
  constructor (cipher: CipherState, limits: RecordLimits = DEFAULT_RECORD_LIMITS, release?: (piece: Buffer) => void) {
    this.#keys = new KeySchedule(cipher, limits)
    this.#release = release
  }

  get rekeys (): number { return this.#keys.rekeys }
  /** Bytes received but not yet part of a verified record. */
  get buffered (): number { return this.#buffered }

  push (chunk: Buffer): Buffer[] {
    if (this.#dead) throw new TunnelError('TUN_RECORD_AUTH', 'the record stream already failed')
    if (chunk.length > 0) {
      this.#chunks.push(chunk)
      this.#buffered += chunk.length
    }
    const out: Buffer[] = []
    try {
      for (;;) {
        if (this.#need < 0) {
          if (this.#buffered < RECORD_HEADER_BYTES) break
          const len = this.#copied(this.#takePieces(RECORD_HEADER_BYTES), RECORD_HEADER_BYTES).readUInt16BE(0)
          if (len < TAG_BYTES) throw new TunnelError('TUN_RECORD_AUTH', `a record is shorter than its tag (${len} bytes): the stream is corrupted or tampered with`)
          this.#need = len
        }
        if (this.#buffered < this.#need) break
        const size = this.#need
        this.#need = -1
        this.#open(size, out)
      }
    } catch (err) {
      this.#dead = true
      this.#chunks = []
      throw err
    }
    return out
  }

  #open (size: number, out: Buffer[]): void {
    const pieces = this.#takePieces(size - TAG_BYTES)
    const tag = this.#copied(this.#takePieces(TAG_BYTES), TAG_BYTES)
    const nonce = this.#keys.next()
    const decipher = createDecipheriv('chacha20-poly1305', this.#keys.cipher.key, nonce, { authTagLength: TAG_BYTES })
    decipher.setAuthTag(tag)
    const plain: Buffer[] = []
    for (const p of pieces) {
      const d = decipher.update(p)
      this.#release?.(p)
      if (d.length > 0) plain.push(d)
    }
    try {
      decipher.final()
    } catch {
      throw new TunnelError('TUN_RECORD_AUTH', `record ${this.records} failed authentication: the stream is corrupted or tampered with`)
    }
    this.#keys.done(size - TAG_BYTES)
    this.records++
    out.push(...plain)
  }

  /** The pieces' bytes in one new buffer; the pieces are released. */
  #copied (pieces: Buffer[], n: number): Buffer {
    const out = Buffer.concat(pieces, n)
    if (this.#release !== undefined) for (const p of pieces) this.#release(p)
    return out
  }

  /** Exactly `n` bytes from the front, as views of the received chunks. */
  #takePieces (n: number): Buffer[] {
    const pieces: Buffer[] = []
    let need = n
    while (need > 0) {
      const head = this.#chunks[0] as Buffer
      if (head.length <= need) {
        pieces.push(head)
        this.#chunks.shift()
        need -= head.length
      } else {
        pieces.push(head.subarray(0, need))
        this.#chunks[0] = head.subarray(need)
        need = 0
      }
    }
    this.#buffered -= n
    return pieces
  }
}
