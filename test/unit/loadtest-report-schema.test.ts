import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { benchReportJsonSchema } from '../../loadtest/index.js'

// docs/loadtest-report.schema.json is generated from loadtest/report-schema.ts. To regenerate:
//   UPDATE_SCHEMAS=1 npx vitest run test/unit/loadtest-report-schema
const DOCS = join(import.meta.dirname, '..', '..', 'docs')
const render = (schema: object): string => JSON.stringify(schema, null, 2) + '\n'

interface Node { type?: string, properties?: Record<string, Node>, items?: Node, anyOf?: Node[], description?: string }

/** Every documented field: leaves, with a latency object counted as one field. */
function fieldPaths (node: Node, path = ''): string[] {
  const branch = node.anyOf?.find((b) => b.type !== 'null') ?? node
  if (branch.type === 'object' && branch.properties !== undefined && !(branch.description ?? '').startsWith('latency distribution')) {
    return Object.entries(branch.properties).flatMap(([k, v]) => fieldPaths(v, path === '' ? k : `${path}.${k}`))
  }
  if (branch.type === 'array' && branch.items?.properties !== undefined) return fieldPaths(branch.items, `${path}[]`)
  return [path]
}

describe('the --json report shape', () => {
  it('docs/loadtest-report.schema.json is what the zod schema generates (no drift)', () => {
    const path = join(DOCS, 'loadtest-report.schema.json')
    if (process.env.UPDATE_SCHEMAS === '1') writeFileSync(path, render(benchReportJsonSchema()))
    expect(readFileSync(path, 'utf8')).toBe(render(benchReportJsonSchema()))
  })

  it('docs/loadtest.md has one table row per field, and no row for a field that does not exist', () => {
    const doc = readFileSync(join(DOCS, 'loadtest.md'), 'utf8')
    const section = doc.slice(doc.indexOf('## The JSON report'))
    const documented = [...section.matchAll(/^\| `([A-Za-z0-9_.[\]]+)` \|/gm)].map((m) => m[1])
    expect(documented.sort()).toEqual(fieldPaths(benchReportJsonSchema() as Node).sort())
  })
})
