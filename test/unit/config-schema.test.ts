import { describe, it, expect } from 'vitest'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { clientConfigJsonSchema, FRP_KEYS, serverConfigJsonSchema } from '../../shared/config/index.js'

// configs/*.schema.json are generated from the zod schemas. To regenerate after a schema change:
//   UPDATE_SCHEMAS=1 npx vitest run test/unit/config-schema
const CONFIGS = join(import.meta.dirname, '..', '..', 'configs')
const SCHEMAS = { 'frps.schema.json': serverConfigJsonSchema, 'frpc.schema.json': clientConfigJsonSchema }

const render = (schema: object): string => JSON.stringify(schema, null, 2) + '\n'

interface JsonSchema { properties?: Record<string, JsonSchema>, items?: JsonSchema, additionalProperties?: unknown, patternProperties?: Record<string, unknown> }

/** The sub-schema at a table path such as `proxies[].transport.useEncryption`. */
function at (schema: JsonSchema, path: string): JsonSchema | undefined {
  let cur: JsonSchema | undefined = schema
  for (const seg of path.split('.')) {
    const key = seg.replace('[]', '')
    cur = cur?.properties?.[key]
    if (seg.endsWith('[]')) cur = cur?.items
  }
  return cur
}

describe('JSON Schemas in configs/', () => {
  for (const [file, generate] of Object.entries(SCHEMAS)) {
    it(`${file} is what the zod schema generates (no drift)`, () => {
      const path = join(CONFIGS, file)
      if (process.env.UPDATE_SCHEMAS === '1') writeFileSync(path, render(generate()))
      expect(readFileSync(path, 'utf8')).toBe(render(generate()))
    })
  }

  it('reject unknown keys but allow top-level keys starting with "." (anchors)', () => {
    const schema = serverConfigJsonSchema() as JsonSchema
    expect(schema.additionalProperties).toBe(false)
    expect(Object.keys(schema.patternProperties ?? {})).toEqual(['^\\.'])
  })

  it('describe every ignored frp key and leave out every refused one', () => {
    for (const row of FRP_KEYS) {
      for (const side of row.sides) {
        const schema = (side === 'server' ? serverConfigJsonSchema() : clientConfigJsonSchema()) as JsonSchema
        const found = at(schema, row.path)
        if (row.action === 'ignore') expect(found, `${side} ${row.path}`).toBeDefined()
        else expect(found, `${side} ${row.path}`).toBeUndefined()
      }
    }
  })
})

describe('docs/config.md', () => {
  it('names every frp key the loader ignores or refuses', () => {
    const doc = readFileSync(join(CONFIGS, '..', 'docs', 'config.md'), 'utf8')
    for (const row of FRP_KEYS) {
      const short = row.path.replace(/^(?:proxies|visitors)\[\]\./, '')
      expect(doc.includes(`\`${row.path}\``) || doc.includes(`\`${short}\``), row.path).toBe(true)
    }
  })
})
