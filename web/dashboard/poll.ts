// Live data without reloading the page: a loader called at once and then every interval, but
// only while the tab is visible (document.visibilityState); when it becomes visible again the
// loader runs at once. One request at a time per poll; a failure is kept beside the last data.
import { useEffect, useRef, useState } from 'preact/hooks'

export interface Poll<T> {
  data: T | undefined
  error: unknown
  /** When the last successful answer came (ms since the epoch), 0 before. */
  at: number
  /** Polls now (after a user action). */
  refresh: () => void
}

const hidden = (): boolean => document.visibilityState === 'hidden'

export function usePoll<T> (load: (previous: T | undefined) => Promise<T>, intervalMs: number): Poll<T> {
  const [state, setState] = useState<{ data: T | undefined, error: unknown, at: number }>({ data: undefined, error: undefined, at: 0 })
  const latest = useRef<T | undefined>(undefined)
  const kick = useRef<() => void>(() => {})
  const loader = useRef(load)
  loader.current = load
  useEffect(() => {
    let timer: number | undefined
    let running = false
    let stopped = false
    const schedule = (): void => {
      window.clearTimeout(timer)
      timer = hidden() || stopped ? undefined : window.setTimeout(tick, intervalMs)
    }
    const tick = (): void => {
      if (running || stopped || hidden()) return
      running = true
      loader.current(latest.current).then((data) => {
        latest.current = data
        if (!stopped) setState({ data, error: undefined, at: Date.now() })
      }, (error: unknown) => {
        if (!stopped) setState((s) => ({ ...s, error }))
      }).finally(() => {
        running = false
        schedule()
      })
    }
    const onVisibility = (): void => {
      if (hidden()) window.clearTimeout(timer)
      else tick()
    }
    kick.current = tick
    document.addEventListener('visibilitychange', onVisibility)
    tick()
    return () => {
      stopped = true
      window.clearTimeout(timer)
      document.removeEventListener('visibilitychange', onVisibility)
    }
  }, [intervalMs])
  return { ...state, refresh: () => { kick.current() } }
}
