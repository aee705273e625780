// The advice rules in one call: facts → findings, most severe first, each with one line of
// advice. Pure: the same facts give the same findings.
import type { DiagFacts, DiagReport, Finding, Severity } from '../report.js'
import { backlogFindings } from './backlog.js'
import { keepaliveFindings } from './keepalive.js'
import { pathFindings } from './path.js'
import { stateFindings } from './states.js'

const RANK: Record<Severity, number> = { error: 0, warn: 1, info: 2 }

export function advise (facts: DiagFacts): Finding[] {
  const all = [...pathFindings(facts), ...backlogFindings(facts), ...keepaliveFindings(facts), ...stateFindings(facts)]
  return all
    .map((finding, i) => ({ finding, i }))
    .sort((a, b) => RANK[a.finding.severity] - RANK[b.finding.severity] || a.i - b.i)
    .map(({ finding }) => finding)
}

export function buildReport (facts: DiagFacts): DiagReport {
  return { ...facts, findings: advise(facts) }
}

/** True when --strict should fail: a finding of severity warn or error. */
export function hasProblems (report: DiagReport): boolean {
  return report.findings.some((f) => f.severity !== 'info')
}

export { backlogFindings, keepaliveFindings, pathFindings, stateFindings }
