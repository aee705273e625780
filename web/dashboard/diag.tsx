// The diagnostics report of the process's own sockets (GET api/diag, `tunnel diag`): its findings
// with their advice, the control connection, listeners and fds. Run once when the page opens and
// again on request, not polled: each run reads the kernel's socket tables (ss) for a second.
import { useEffect, useState } from 'preact/hooks'
import type { DiagReport } from '../../shared/diag/index.js'
import { formatMs } from '../common/format.js'
import { errorText, getJson } from './api.js'

export function Diagnostics (): preact.JSX.Element {
  const [report, setReport] = useState<DiagReport | undefined>(undefined)
  const [error, setError] = useState<unknown>(undefined)
  const [running, setRunning] = useState(false)
  const run = (): void => {
    if (running) return
    setRunning(true)
    void getJson<DiagReport>('api/diag?watch=1').then((r) => { setReport(r); setError(undefined) }, setError).finally(() => { setRunning(false) })
  }
  useEffect(run, [])
  return (
    <div class="diag">
      <p>
        <button type="button" onClick={run} disabled={running}>{running ? 'Running…' : 'Run again'}</button>
        {report !== undefined && <span class="muted"> sampled {report.windowMs / 1000} s at {new Date(report.generatedAt).toLocaleTimeString()}</span>}
      </p>
      {error !== undefined && <p class="failure">{errorText(error)}</p>}
      {report !== undefined && <DiagBody report={report} />}
    </div>
  )
}

function DiagBody ({ report }: { report: DiagReport }): preact.JSX.Element {
  const c = report.control[0]
  return (
    <div>
      {report.findings.length === 0
        ? <p class="good-text">No findings: nothing to change.</p>
        : (
          <ul class="findings">
            {report.findings.map((f) => (
              <li key={f.id} class={`finding ${f.severity}`} data-finding={f.id}>
                <span class={`badge ${f.severity === 'info' ? 'wait' : 'bad'}`}>{f.severity}</span> <strong>{f.what}</strong>
                <div class="advice">{f.advice}</div>
              </li>
            ))}
          </ul>
          )}
      <div class="stats">
        {c !== undefined && <>
          <div class="stat"><span class="label">control MSS</span><span class="value">{c.mss ?? '–'}</span></div>
          <div class="stat"><span class="label">path MTU</span><span class="value">{c.pathMtu ?? '–'}</span></div>
          <div class="stat"><span class="label">kernel RTT</span><span class="value">{formatMs(c.rttMs)}</span></div>
          <div class="stat"><span class="label">retransmits</span><span class="value">{c.retransTotal ?? '–'}</span></div>
        </>}
        <div class="stat"><span class="label">fds</span><span class="value">{report.fds.open ?? '–'} / {report.fds.softLimit ?? '–'}</span></div>
        {report.listeners.map((l) => (
          <div class="stat" key={l.port}><span class="label">port {l.port} ({l.role}) queue</span><span class="value">{l.maxQueued} / {l.effective}</span></div>
        ))}
      </div>
      {report.unavailable.length > 0 && (
        <details>
          <summary>{report.unavailable.length} facts not available</summary>
          <ul>{report.unavailable.map((u) => <li key={u.fact}><code>{u.fact}</code>: {u.reason}</li>)}</ul>
        </details>
      )}
    </div>
  )
}
