// The keys of load-balancing groups, health checks, tcpmux and relay plugins (frp's v1 names),
// as zod pieces that schema.ts spreads into frps.yml's and frpc.yml's schemas. Defaults are
// applied in group-load.ts; checks that span several keys are in group-checks.ts.
import { z } from 'zod'
import { isHeaderName, isHeaderValue } from '../http/index.js'
import { GROUP_LIMITS, METAS_LIMITS, VHOST_LIMITS } from '../wire/index.js'
import { GROUP_DEFAULTS, PLUGIN_OPS } from './types.js'

/** httpPlugins entries at most, and headers of one health check at most. */
export const MAX_HTTP_PLUGINS = 32
export const MAX_HEALTH_CHECK_HEADERS = 16
/** Characters of a health check path at most. */
export const MAX_HEALTH_CHECK_PATH_CHARS = 1024

const metas = z.record(z.string().min(1).max(METAS_LIMITS.keyChars), z.string().max(METAS_LIMITS.valueChars))
  .refine((m) => Object.keys(m).length <= METAS_LIMITS.entries, { error: `at most ${METAS_LIMITS.entries} entries` })

/** Seconds, where frp reads 0 (or less) as "the default". */
const secondsOrDefault = (max: number): z.ZodNumber => z.int().min(-86400).max(max)

const healthCheck = z.strictObject({
  type: z.enum(['tcp', 'http']).describe('tcp: the check connects to localIP:localPort; http: it sends GET path there and wants a 2xx answer.'),
  timeoutSeconds: secondsOrDefault(3600).optional().describe(`Seconds one check may take; 0 or less = the default, ${GROUP_DEFAULTS.healthCheckTimeoutSeconds}.`),
  maxFailed: z.int().min(-1000).max(1000).optional().describe(`Failed checks in a row that take a healthy proxy out (visitors go to the group's other members, or are refused); 0 or less = the default, ${GROUP_DEFAULTS.healthCheckMaxFailed}.`),
  intervalSeconds: secondsOrDefault(86400).optional().describe(`Seconds between checks; 0 or less = the default, ${GROUP_DEFAULTS.healthCheckIntervalSeconds}.`),
  path: z.string().max(MAX_HEALTH_CHECK_PATH_CHARS).optional().describe('http only: the path the check asks for, e.g. /healthz.'),
  httpHeaders: z.array(z.strictObject({
    name: z.string().refine(isHeaderName, { error: 'must be a header name (letters, digits and !#$%&\'*+-.^_`|~, at most 64)' }),
    value: z.string().refine(isHeaderValue, { error: `must be at most ${VHOST_LIMITS.headerValueChars} characters without line breaks` }),
  })).max(MAX_HEALTH_CHECK_HEADERS).optional().describe('http only: headers sent with the check (Host sets the request\'s host).'),
}).describe('frp\'s health check: the client checks the local service every intervalSeconds; after maxFailed failures in a row the relay stops sending it visitors, and after one success it gets them again. tcp, http and tcpmux proxies.')

const loadBalancer = z.strictObject({
  group: z.string().min(1).max(GROUP_LIMITS.nameChars).describe('Proxies with the same group (of one or several clients) share one remotePort (tcp) or domain (http, tcpmux); the relay spreads new visitors over the healthy ones in turn.'),
  groupKey: z.string().max(GROUP_LIMITS.keyChars).optional().describe('The group\'s credential: a proxy of another client key joins only with the same groupKey (an empty key admits only proxies of the client key that opened the group). Secret.'),
}).describe('frp\'s load-balancing group (tcp, http and tcpmux proxies).')

/** Keys of frpc.yml's proxies. */
export const groupProxyKeys = {
  loadBalancer: loadBalancer.optional(),
  healthCheck: healthCheck.optional(),
  metadatas: metas.optional().describe('frp\'s per-proxy metadata: sent with the proxy to the relay\'s plugins (httpPlugins, NewProxy), nowhere else.'),
  multiplexer: z.literal('httpconnect').optional().describe('tcpmux only: the multiplexer, httpconnect (the only one frp has). Default httpconnect.'),
  routeByHTTPUser: z.string().max(VHOST_LIMITS.credentialChars).optional().describe('http and tcpmux: only requests of this user reach this proxy (several proxies may share a domain and location, one per user; a proxy without it takes the other users). tcpmux: the CONNECT request\'s Proxy-Authorization user; http: the Authorization (basic) user, or Proxy-Authorization\'s for absolute-form (proxy-style) requests.'),
}

/** Top-level keys of frpc.yml. */
export const groupClientKeys = {
  metadatas: metas.optional().describe('frp\'s metadata: sent with the login to the relay\'s plugins (httpPlugins), nowhere else.'),
}

const plugin = z.strictObject({
  name: z.string().min(1).max(64).describe('A name for logs and errors; unique.'),
  addr: z.string().min(1).max(512).describe('Where the plugin service listens: host:port (http), or a URL base http://host:port or https://host:port.'),
  path: z.string().min(1).max(1024).describe('The path every request is POSTed to, e.g. /handler.'),
  ops: z.array(z.enum(PLUGIN_OPS)).min(1).max(PLUGIN_OPS.length).describe(`The operations sent to it: ${PLUGIN_OPS.join(', ')}.`),
  tlsVerify: z.boolean().optional().describe('https addr only: check the service\'s certificate. Default true.'),
})

/** Keys of frps.yml. */
export const groupServerKeys = {
  tcpmuxHTTPConnectPort: z.int().min(0).max(65535).optional().describe('Public port of tcpmux proxies: a visitor sends HTTP CONNECT host:port and gets the proxy serving that host; 0 or absent: none. Binds proxyBindAddr.'),
  tcpmuxPassthrough: z.boolean().optional().describe('true: the CONNECT request is passed on to the service, which answers it; false (default): the relay answers 200 and passes the bytes after it.'),
  httpPlugins: z.array(plugin).max(MAX_HTTP_PLUGINS).optional().describe('frp\'s server plugins: services asked (JSON over HTTP) before a login, a proxy, a visitor, ..., which may allow, reject or modify it. A plugin that fails or does not answer in time refuses the login, proxy or visitor.'),
}
