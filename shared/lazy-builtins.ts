// Node's built-in modules that only some configs use, loaded the first time one is asked for
// instead of with the module that uses them (issue 21, idle memory): a relay or a client with plain
// TCP proxies never touches node:http, node:https, node:http2, node:tls or node:perf_hooks, and
// loading them costs an idle process 2-3 MiB (their own JavaScript and the parts of the node
// binary it runs). The admin API, vhosts, HTTP plugins, health checks, TLS transports and
// certificate checks ask for them where they need them. Node's own require cache makes every later
// call a lookup. A failure to load (there is none for a built-in) is thrown, never swallowed.
// test/e2e/idle-builtins.test.ts fails when an idle relay or client loads one of them again.
import { createRequire } from 'node:module'
import type * as Http from 'node:http'
import type * as Http2 from 'node:http2'
import type * as Https from 'node:https'
import type * as PerfHooks from 'node:perf_hooks'
import type * as Tls from 'node:tls'

const requireBuiltin = createRequire(import.meta.url)

export const nodeHttp = (): typeof Http => requireBuiltin('node:http') as typeof Http
export const nodeHttps = (): typeof Https => requireBuiltin('node:https') as typeof Https
export const nodeHttp2 = (): typeof Http2 => requireBuiltin('node:http2') as typeof Http2
export const nodeTls = (): typeof Tls => requireBuiltin('node:tls') as typeof Tls
export const nodePerfHooks = (): typeof PerfHooks => requireBuiltin('node:perf_hooks') as typeof PerfHooks
