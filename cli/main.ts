#!/usr/bin/env node
// The `tunnel` command. Only the V8 settings load statically, so they are in place before any
// other module is read: V8 grows its young generation while modules load (to 16 MiB semi-spaces,
// kept for as long as the process runs idle), and v8-tuning.ts holds that growth off until the
// command has started (issue 21: 12 MiB of an idle relay's or client's RSS). Then the program.
import './v8-tuning.js'

await import('./program.js')
