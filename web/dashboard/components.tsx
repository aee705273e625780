// Small pieces both dashboards use: sections, phase badges, stat tiles, the live indicator, the
// errors-by-code table.
import type { ComponentChildren } from 'preact'
import type { StatusReport } from '../../shared/admin/index.js'
import { formatClock, formatCount, formatSince } from '../common/format.js'
import { errorText } from './api.js'

export function Section ({ id, title, children, extra }: { id: string, title: string, children: ComponentChildren, extra?: ComponentChildren }): preact.JSX.Element {
  return (
    <section id={id} class="card">
      <header><h2>{title}</h2>{extra}</header>
      {children}
    </section>
  )
}

const GOOD = new Set(['running', 'listening', 'registered'])
const BAD = new Set(['refused', 'offline', 'closed'])

/** A phase or state as a coloured badge (green in service, red refused or gone, amber on the way). */
export function Phase ({ phase }: { phase: string }): preact.JSX.Element {
  const tone = GOOD.has(phase) ? 'good' : BAD.has(phase) ? 'bad' : 'wait'
  return <span class={`badge ${tone}`} data-phase={phase}>{phase}</span>
}

export function Stat ({ label, value, tone }: { label: string, value: ComponentChildren, tone?: 'good' | 'bad' | 'wait' | undefined }): preact.JSX.Element {
  return <div class={`stat ${tone ?? ''}`}><span class="label">{label}</span><span class="value">{value}</span></div>
}

/** "live · 12:04:05", or why not (hidden tab, failing requests). */
export function Live ({ at, error }: { at: number, error: unknown }): preact.JSX.Element {
  if (error !== undefined) return <span class="live bad" title={errorText(error)}>not updating: {errorText(error)}</span>
  if (at === 0) return <span class="live">loading…</span>
  return <span class="live good">live · {formatClock(at)}</span>
}

/** Every error code counted since start, with the last error. */
export function ErrorsByCode ({ status, now }: { status: StatusReport, now: number }): preact.JSX.Element {
  const codes = Object.entries(status.errors).sort(([, a], [, b]) => b - a)
  return (
    <div>
      {codes.length === 0
        ? <p class="muted">None since start.</p>
        : (
          <div class="scroll">
            <table class="errors">
              <thead><tr><th>code</th><th class="num">count</th></tr></thead>
              <tbody>
                {codes.map(([code, n]) => <tr key={code} data-code={code}><td><code>{code}</code></td><td class="num">{formatCount(n)}</td></tr>)}
              </tbody>
            </table>
          </div>
          )}
      {status.lastError !== null && (
        <p class="last-error">Last: <code>{status.lastError.code}</code> {status.lastError.message} <span class="muted">({formatSince(status.lastError.at, now)})</span></p>
      )}
    </div>
  )
}

export function Failure ({ error }: { error: unknown }): preact.JSX.Element | null {
  return error === undefined ? null : <p class="failure">{errorText(error)}</p>
}
