#!/usr/bin/env node
// The `tunnel` command. Only the V8 settings load statically, so they are in place before any
// other module is read: V8 grows its young generation while modules load (to 16 MiB semi-spaces,
// kept for as long as the process runs idle), and v8-tuning.ts holds that growth off until the
// command has started (issue 21: 12 MiB of an idle relay's or client's RSS). Then the program:
// the bundle `npm run build` makes of it (tools/bundle-cli.mjs; 5-8 MiB less RSS than the
// separate modules), or the modules themselves when there is no bundle or V8 coverage is being
// recorded (NODE_V8_COVERAGE: the coverage report maps to the modules, not to the bundle).
import './v8-tuning.js'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const bundle = new URL('../bundle/program.js', import.meta.url)
const useBundle = process.env.NODE_V8_COVERAGE === undefined && existsSync(fileURLToPath(bundle))
await import(useBundle ? bundle.href : './program.js')
