// The issue-21 goals the bench judges in its summary: met, not met, or not measured.
import { describe, expect, it } from 'vitest'
import type { ResultRow } from '../../bench/lib/aggregate.js'
import { evaluateGoals, type GoalMemory, type ProcessMemory } from '../../bench/lib/goals.js'
import { parseOptions, type BenchOptions } from '../../bench/lib/options.js'

const MIB = 1024 * 1024

function options (argv: string[] = []): BenchOptions {
  const o = parseOptions(argv)
  if (o === undefined) throw new Error('no options')
  return o
}

function row (metric: string, ratio: number, extra: Partial<ResultRow> = {}): ResultRow {
  return {
    scenario: 'tcp1',
    metric,
    label: metric,
    unit: 'B/s',
    direct: 100,
    tunnel: 100 * ratio,
    ratio,
    ratioDefinition: 'tunnel/direct',
    difference: 0,
    directSamples: [100],
    tunnelSamples: [100 * ratio],
    ...extra,
  }
}

function memory (idleMiB: number, loadMiB: number): GoalMemory {
  const p: ProcessMemory = { idleRssBytes: idleMiB * MIB, maxRssBytes: loadMiB * MIB, underLoadMaxRssBytes: loadMiB * MIB, peakRssBytes: loadMiB * MIB }
  return { bareNodeRssBytes: 40 * MIB, relay: p, client: p }
}

const verdict = (goals: ReturnType<typeof evaluateGoals>, starts: string): boolean | undefined => goals.find((g) => g.goal.startsWith(starts))?.met

describe('the bench judges the issue-21 goals from one run', () => {
  it('marks each goal met, not met, or not measured when its scenario did not run', () => {
    const goals = evaluateGoals([row('vhost', 0.4), row('tcp1', 0.2, { plain: 300, encryptedOverPlain: 0.5 }), row('httpclose', 0.3)], memory(50, 90), options())
    expect(verdict(goals, 'vhost keep-alive')).toBe(true)
    expect(verdict(goals, 'idle relay and client')).toBe(true)
    expect(verdict(goals, 'relay and client <=')).toBe(true)
    expect(verdict(goals, 'encrypted tcp1')).toBe(false)
    expect(verdict(goals, 'encryption costs')).toBe(false)
    expect(verdict(goals, 'new connection per request')).toBe(true)
    expect(verdict(goals, '10,000 idle connections')).toBeUndefined()
    expect(verdict(goals, 'rr latency and udp rows')).toBeUndefined()
  })

  it('fails the memory goals past 15 MiB over a bare node idle and 100 MiB under load', () => {
    const goals = evaluateGoals([], memory(56, 101), options())
    expect(verdict(goals, 'idle relay and client')).toBe(false)
    expect(verdict(goals, 'relay and client <=')).toBe(false)
  })

  it('judges idle memory on the settled reading when there is one, and says both', () => {
    const settledAt = (mib: number): GoalMemory => {
      const m = memory(58, 90)
      return { ...m, relay: { ...m.relay, settledRssBytes: mib * MIB }, client: { ...m.client, settledRssBytes: mib * MIB } }
    }
    const met = evaluateGoals([], settledAt(54), options()).find((g) => g.goal.startsWith('idle relay and client'))
    expect(met).toMatchObject({ met: true })
    expect(met?.goal).toContain('settled')
    expect(met?.measured).toContain('right after start-up 58.0 MiB')
    expect(verdict(evaluateGoals([], settledAt(56), options()), 'idle relay and client')).toBe(false)
    // Without a settled reading, the one right after start-up decides.
    expect(verdict(evaluateGoals([], memory(58, 90), options()), 'idle relay and client')).toBe(false)
  })

  it('judges the 10,000 idle connections only when that many were asked for', () => {
    const held = (n: number): ResultRow => row('idle-held', 1, { tunnel: n })
    expect(verdict(evaluateGoals([held(2000)], memory(50, 90), options(['--idle-streams', '2000'])), '10,000 idle connections')).toBeUndefined()
    expect(verdict(evaluateGoals([held(10_000)], memory(50, 90), options(['--idle-streams', '10000'])), '10,000 idle connections')).toBe(true)
    expect(verdict(evaluateGoals([held(4046)], memory(50, 90), options(['--idle-streams', '10000'])), '10,000 idle connections')).toBe(false)
  })
})
