// `tunnel bench --report out.html`: one self-contained file (the data and the chart code inline,
// nothing fetched), to open in any browser or attach to a ticket. The chart code is the
// package's dist/web/report.js (web/report/, uPlot); the data is the same report as --json plus
// what only a picture shows: the HDR percentile curves, the run second by second, and with
// --admin the relay's polls. The file is never served, so inline scripts are right here; a
// Content-Security-Policy in the page still forbids it any network access.
import { writeFile } from 'node:fs/promises'
import { TunnelError } from '../shared/errors.js'
import { readWebAssets, REPORT_ASSETS } from '../shared/web-assets.js'
import type { PercentilePoint } from './histogram.js'
import type { RelayPoint } from './relay-watch.js'
import type { BenchReport } from './report-schema.js'
import type { TimelinePoint } from './timeline.js'

export interface BenchDetail {
  latencyCurve: PercentilePoint[]
  connectCurve: PercentilePoint[]
  timeline: TimelinePoint[]
  /** With --admin: the relay's status at every poll. */
  relay: RelayPoint[]
}

/** What report.js reads from the page (the element with id bench-data). */
export interface BenchPageData {
  report: BenchReport
  detail: BenchDetail
}

export interface ReportAssets {
  js: string
  css: string
}

/** The page's policy: no request of any kind; only its own inline script and styles run. */
export const REPORT_CSP = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"

/** JSON that can sit inside a <script> element: `<` never appears raw, so `</script>` cannot. */
export function scriptSafeJson (data: unknown): string {
  return JSON.stringify(data).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029')
}

/**
 * Code inside a <script> element: a `</script` or `<!--` in it (in a string or a regular
 * expression, where `\/` and `\!` mean the same) must not end the element or change how the
 * HTML parser reads it.
 */
export function scriptSafeCode (code: string): string {
  return code.replace(/<\/(script)/gi, '<\\/$1').replace(/<!--/g, '<\\!--')
}

const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)

export function renderReportHtml (data: BenchPageData, assets: ReportAssets): string {
  const r = data.report
  const title = `tunnel bench ${r.protocol} ${r.workload} ${r.target} (${r.startedAt})`
  return [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<meta http-equiv="Content-Security-Policy" content="${REPORT_CSP}">`,
    `<title>${escapeHtml(title)}</title>`,
    `<style>${assets.css.replace(/<\/(style)/gi, '<\\/$1')}</style>`,
    '</head>',
    '<body>',
    `<main id="report"><h1>${escapeHtml(title)}</h1><noscript>The charts need JavaScript; the data is in the element #bench-data of this file (JSON).</noscript></main>`,
    `<script type="application/json" id="bench-data">${scriptSafeJson(data)}</script>`,
    `<script>${scriptSafeCode(assets.js)}</script>`,
    '</body>',
    '</html>',
    '',
  ].join('\n')
}

/** Writes the page to `file`; TunnelError TUN_BENCH_REPORT when the chart code is missing or the file cannot be written. */
export async function writeReportHtml (file: string, data: BenchPageData): Promise<void> {
  const assets = readWebAssets(REPORT_ASSETS)
  const js = assets?.get('report.js')
  const css = assets?.get('report.css')
  if (js === undefined || css === undefined) throw new TunnelError('TUN_BENCH_REPORT', 'the chart code of the HTML report (dist/web/report.js) is missing: run `npm run build`')
  try {
    await writeFile(file, renderReportHtml(data, { js, css }), 'utf8')
  } catch (err) {
    throw new TunnelError('TUN_BENCH_REPORT', `cannot write ${file}: ${(err as Error).message}`, { cause: err })
  }
}
