// The client's config file in an editor: "Check" runs the same checks as `tunnel verify` on the
// client (POST api/config/check) and marks each problem at its line; "Apply" writes the file and
// runs the same reload as SIGHUP (POST api/config/apply, with the revision the text was edited
// from), then shows the outcome with each proxy's error. The editor is a plain textarea beside a
// line-number gutter: nothing to download, and it works on a phone.
import { useEffect, useRef, useState } from 'preact/hooks'
import type { ConfigApplied, ConfigCheck, ConfigIssueAt, ConfigText } from '../../shared/admin/index.js'
import { ApiError, errorText, getJson, postText } from './api.js'

type Busy = 'check' | 'apply' | undefined

function issueText (i: ConfigIssueAt): string {
  const where = i.line > 0 ? `line ${i.line}:${i.col}` : 'file'
  return `${where} ${i.path === '' ? '' : `${i.path}: `}${i.message}${i.code === null ? '' : ` (${i.code})`}`
}

export function ConfigEditor ({ onApplied }: { onApplied: () => void }): preact.JSX.Element {
  const [base, setBase] = useState<ConfigText | undefined>(undefined)
  const [text, setText] = useState('')
  const [locked, setLocked] = useState<string | undefined>(undefined)
  const [check, setCheck] = useState<{ text: string, result: ConfigCheck } | undefined>(undefined)
  const [applied, setApplied] = useState<ConfigApplied | undefined>(undefined)
  const [busy, setBusy] = useState<Busy>(undefined)
  const [error, setError] = useState<unknown>(undefined)
  const area = useRef<HTMLTextAreaElement>(null)
  const gutter = useRef<HTMLDivElement>(null)

  const load = async (): Promise<void> => {
    try {
      const c = await getJson<ConfigText>('api/config')
      setBase(c)
      setText(c.text)
    } catch (err) {
      if (err instanceof ApiError && err.code === 'TUN_ADMIN_CONFIG_LOCKED') setLocked(err.message)
      else setError(err)
    }
  }
  useEffect(() => { void load() }, [])

  if (locked !== undefined) return <p class="muted locked">The editor is off: {locked}.</p>
  if (base === undefined) return error === undefined ? <p class="muted">Reading the file…</p> : <p class="failure">{errorText(error)}</p>

  const runCheck = (): void => {
    setBusy('check')
    setError(undefined)
    const checked = text
    void postText<ConfigCheck>('api/config/check', checked, [200])
      .then((r) => { setCheck({ text: checked, result: r.data }) }, setError)
      .finally(() => { setBusy(undefined) })
  }
  const runApply = (): void => {
    setBusy('apply')
    setError(undefined)
    const sent = text
    void postText<ConfigApplied>('api/config/apply', sent, [200, 422], { 'if-match': `"${base.revision}"` })
      .then(async (r) => {
        setApplied(r.data)
        setCheck({ text: sent, result: r.data.check })
        if (r.data.revision !== base.revision) {
          await load()
          onApplied()
        }
      }, setError)
      .finally(() => { setBusy(undefined) })
  }
  const revert = (): void => { setText(base.text); setCheck(undefined); setApplied(undefined) }
  const goTo = (line: number): void => {
    const el = area.current
    if (el === null || line <= 0) return
    const lines = text.split('\n')
    const start = lines.slice(0, line - 1).reduce((n, l) => n + l.length + 1, 0)
    el.focus()
    el.setSelectionRange(start, start + (lines[line - 1]?.length ?? 0))
    const lineHeight = parseFloat(getComputedStyle(el).lineHeight) || 18
    el.scrollTop = Math.max(0, (line - 3) * lineHeight)
  }

  const result = check?.text === text ? check.result : undefined
  const marks = new Map<number, ConfigIssueAt>()
  for (const i of [...(result?.warnings ?? []), ...(result?.errors ?? [])]) if (i.line > 0) marks.set(i.line, i)
  const lineCount = text.split('\n').length
  const dirty = text !== base.text

  return (
    <div class="editor-wrap">
      <p class="muted"><code>{base.file}</code> ({base.format}){dirty ? ' · edited' : ''}</p>
      <div class="editor">
        <div class="gutter" ref={gutter} aria-hidden="true">
          {Array.from({ length: lineCount }, (_, i) => {
            const m = marks.get(i + 1)
            return <div key={i} class={`ln${m === undefined ? '' : m.code === null ? ' warn' : ' bad'}`} data-line={i + 1} title={m === undefined ? undefined : issueText(m)}>{i + 1}</div>
          })}
        </div>
        <textarea ref={area} value={text} spellcheck={false} wrap="off" autocapitalize="off" autocomplete="off" aria-label="config file"
          onInput={(e) => { setText(e.currentTarget.value) }}
          onScroll={(e) => { if (gutter.current !== null) gutter.current.scrollTop = e.currentTarget.scrollTop }} />
      </div>
      <p class="buttons">
        <button type="button" onClick={runCheck} disabled={busy !== undefined}>{busy === 'check' ? 'Checking…' : 'Check'}</button>
        {/* Also without an edit: applying the same file retries the proxies the relay refused. */}
        <button type="button" onClick={runApply} disabled={busy !== undefined}>{busy === 'apply' ? 'Applying…' : 'Apply'}</button>
        <button type="button" onClick={revert} disabled={busy !== undefined || !dirty}>Revert</button>
      </p>
      {error !== undefined && <p class="failure">{errorText(error)}</p>}
      {result !== undefined && (
        <div class={`check ${result.ok ? 'ok' : 'failed'}`} data-check={result.ok ? 'ok' : 'failed'}>
          {result.ok ? <p class="good-text">The file is valid{result.warnings.length > 0 ? ', with warnings' : ''}.</p> : <p class="bad-text">The file has {result.errors.length} problem{result.errors.length === 1 ? '' : 's'}; nothing was applied.</p>}
          <ul class="issues">
            {[...result.errors, ...result.warnings].map((i, n) => (
              <li key={n} class={i.code === null ? 'warn' : 'bad'} data-line={i.line}>
                <button type="button" class="link" onClick={() => { goTo(i.line) }}>{issueText(i)}</button>
              </li>
            ))}
          </ul>
        </div>
      )}
      {applied !== undefined && <Outcome applied={applied} />}
    </div>
  )
}

function Outcome ({ applied }: { applied: ConfigApplied }): preact.JSX.Element {
  const o = applied.outcome
  const list = (xs: string[]): string => (xs.length === 0 ? '–' : xs.join(', '))
  return (
    <div class={`outcome ${o.status}`} data-outcome={o.status}>
      <p><strong>reload {o.status}</strong>{applied.backup === null ? '' : ` · previous file kept as ${applied.backup}`}</p>
      <p>added {list(o.added)} · removed {list(o.removed)} · changed {list(o.changed)}</p>
      {o.errors.length > 0 && (
        <ul class="issues">
          {o.errors.map((e, n) => <li key={n} class="bad" data-proxy={e.proxy ?? ''}>{e.proxy === null ? '' : `${e.proxy}: `}{e.message} (<code>{e.code}</code>)</li>)}
        </ul>
      )}
    </div>
  )
}
