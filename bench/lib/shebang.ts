// The node flags a CLI build asks for on its first line (`#!/usr/bin/env -S node FLAGS`): the
// installed `tunnel` command runs with them, so the bench starts the relay and client of that
// build with them too (a build without any, such as an older --base, runs as it always did).
import { readFileSync } from 'node:fs'

/** Bytes of the file read for its first line. */
const SHEBANG_READ_BYTES = 512

export function shebangNodeFlags (cliJs: string): string[] {
  let head: string
  try {
    head = readFileSync(cliJs, { encoding: 'utf8' }).slice(0, SHEBANG_READ_BYTES)
  } catch {
    return []
  }
  const first = head.split('\n', 1)[0] ?? ''
  const m = /^#!\S*env\s+-S\s+node\s+(.*)$/.exec(first)
  if (m === null) return []
  return (m[1] ?? '').trim().split(/\s+/).filter((f) => f.startsWith('--'))
}
