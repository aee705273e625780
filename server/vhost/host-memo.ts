// Host header values and the host names they normalise to (shared/http hostFromHeader: trim,
// port, brackets, case, IDNA, label checks), remembered: a vhost sees the same few Host values
// request after request, and normalising one is a dozen string operations. Bounded: beyond
// MAX_REMEMBERED_HOSTS distinct values everything is forgotten at once (a visitor sending a new
// Host each time costs the normalisation, as without the memo, and no memory).
import { hostFromHeader } from '../../shared/http/index.js'

/** Distinct Host values remembered at most. */
export const MAX_REMEMBERED_HOSTS = 1024

export class HostMemo {
  /** Host value → normalised host, or null when it is not a host. */
  readonly #known = new Map<string, string | null>()
  readonly #max: number

  constructor (max = MAX_REMEMBERED_HOSTS) {
    this.#max = max
  }

  get size (): number { return this.#known.size }

  /** hostFromHeader(value), remembered. */
  get (value: string): string | undefined {
    const known = this.#known.get(value)
    if (known !== undefined) return known ?? undefined
    const host = hostFromHeader(value)
    if (this.#known.size >= this.#max) this.#known.clear()
    this.#known.set(value, host ?? null)
    return host
  }
}
