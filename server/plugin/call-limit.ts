// Calls to one plugin service at once, and calls waiting for a slot: both bounded, so a slow
// plugin holds at most MAX_CALLS_IN_FLIGHT requests and MAX_CALLS_WAITING waiters, and a call past
// both is refused at once (the caller fails closed or skips, by operation). Pure bookkeeping.

export class CallLimit {
  readonly #maxInFlight: number
  readonly #maxWaiting: number
  readonly #waiting: Array<() => void> = []
  #inFlight = 0
  /** Calls refused because every slot and every waiting place was taken. */
  refused = 0

  constructor (maxInFlight: number, maxWaiting: number) {
    this.#maxInFlight = maxInFlight
    this.#maxWaiting = maxWaiting
  }

  get inFlight (): number { return this.#inFlight }
  get waiting (): number { return this.#waiting.length }

  /**
   * A slot: resolves with its release function (call it once); false when none is free and the
   * waiting list is full. A waiter whose `signal` aborts leaves the list.
   */
  async acquire (signal: AbortSignal): Promise<(() => void) | false> {
    if (signal.aborted) return false
    if (this.#inFlight < this.#maxInFlight) return this.#take()
    if (this.#waiting.length >= this.#maxWaiting) { this.refused++; return false }
    return await new Promise((resolve) => {
      const wake = (): void => {
        signal.removeEventListener('abort', onAbort)
        resolve(this.#take())
      }
      const onAbort = (): void => {
        const i = this.#waiting.indexOf(wake)
        if (i !== -1) this.#waiting.splice(i, 1)
        resolve(false)
      }
      signal.addEventListener('abort', onAbort, { once: true })
      this.#waiting.push(wake)
    })
  }

  #take (): () => void {
    this.#inFlight++
    let released = false
    return () => {
      if (released) return
      released = true
      this.#inFlight--
      this.#waiting.shift()?.()
    }
  }
}
