import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import { shebangNodeFlags } from '../../bench/lib/shebang.js'

let dir: string | undefined
afterEach(async () => { if (dir !== undefined) await rm(dir, { recursive: true, force: true }); dir = undefined })

async function script (firstLine: string): Promise<string> {
  dir ??= await mkdtemp(join(tmpdir(), 'shebang-'))
  const file = join(dir, `main-${Math.random().toString(36).slice(2)}.js`)
  await writeFile(file, `${firstLine}\nconsole.log(1)\n`)
  return file
}

describe('the node flags a CLI build asks for on its first line', () => {
  it('are the flags after `env -S node`', async () => {
    expect(shebangNodeFlags(await script('#!/usr/bin/env -S node --max-semi-space-size=2 --foo'))).toEqual(['--max-semi-space-size=2', '--foo'])
  })

  it('are none for a plain `env node` line, no shebang or a missing file', async () => {
    expect(shebangNodeFlags(await script('#!/usr/bin/env node'))).toEqual([])
    expect(shebangNodeFlags(await script('// no shebang'))).toEqual([])
    expect(shebangNodeFlags('/nonexistent/main.js')).toEqual([])
  })

  it('are the ones the CLI source declares', () => {
    const main = fileURLToPath(new URL('../../cli/main.ts', import.meta.url))
    expect(shebangNodeFlags(main)).toEqual(['--max-semi-space-size=2'])
  })
})
