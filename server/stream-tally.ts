// Bytes and counts of the mux streams a relay-side proxy opens, for the admin API: finished
// streams are summed when they end, live ones are read from their own counters (nothing is added
// per chunk). Directions are the visitor's: in = visitor → service (what the relay sends on the
// stream), out = service → visitor.
import type { MuxStream } from '../shared/mux/index.js'

export interface StreamTraffic {
  bytesIn: number
  bytesOut: number
  active: number
  total: number
}

export class StreamTally {
  readonly #live = new Set<MuxStream>()
  #doneIn = 0
  #doneOut = 0
  #total = 0

  /** Counts `stream` from now on; call the returned function once when it has ended. */
  track (stream: MuxStream): () => void {
    this.#live.add(stream)
    this.#total++
    let ended = false
    return () => {
      if (ended) return
      ended = true
      this.#live.delete(stream)
      this.#doneIn += stream.bytesOut
      this.#doneOut += stream.bytesIn
    }
  }

  traffic (): StreamTraffic {
    let bytesIn = this.#doneIn
    let bytesOut = this.#doneOut
    for (const s of this.#live) {
      bytesIn += s.bytesOut
      bytesOut += s.bytesIn
    }
    return { bytesIn, bytesOut, active: this.#live.size, total: this.#total }
  }
}
