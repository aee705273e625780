// frp's client plugins (`plugin: { type: ..., ... }` on a proxy), one strict zod object per type
// with frp v1's keys: the JSON Schema an editor completes and the runtime checks. A plugin takes
// the place of localIP/localPort: the client hands each visitor stream to it instead of dialling
// a local service. Cross-field checks (files, header names, credentials) are in plugin-checks.ts.
import { z } from 'zod'
import { isHeaderValue } from '../http/index.js'
import { parseHostPort } from '../net/index.js'
import { VHOST_LIMITS } from '../wire/index.js'

/** The plugin types this version runs, in frp's order. */
export const PLUGIN_TYPES = ['http_proxy', 'socks5', 'static_file', 'unix_domain_socket', 'http2https', 'https2http', 'https2https', 'http2http', 'tls2raw'] as const
export type PluginType = typeof PLUGIN_TYPES[number]

/** frp plugin types this version does not run, with why (the message names them instead of "not a plugin"). */
export const UNSUPPORTED_PLUGINS: Readonly<Record<string, string>> = {
  virtual_net: 'virtual_net is frp\'s experimental virtual network over stcp, which this version does not have',
}

/**
 * frp's experimental virtual network (a TUN device behind its VirtualNet feature gate): a proxy or
 * visitor whose plugin is virtual_net is not started here, with a warning; the rest of the file runs.
 */
export const VIRTUAL_NET = 'virtual_net'

/** A proxy or visitor entry whose plugin is frp's virtual_net. */
export function isVirtualNet (entry: unknown): boolean {
  if (typeof entry !== 'object' || entry === null || !('plugin' in entry)) return false
  const plugin: unknown = entry.plugin
  return typeof plugin === 'object' && plugin !== null && 'type' in plugin && plugin.type === VIRTUAL_NET
}

/** RFC 1929 carries the user name and password in one length byte each. */
export const MAX_SOCKS_CREDENTIAL_BYTES = 255

const localAddr = z.string().superRefine((v, ctx) => {
  const r = parseHostPort(v)
  if ('error' in r) ctx.addIssue({ code: 'custom', message: `must be host:port of the local service (${r.error})` })
}).describe('host:port of the local service, e.g. 127.0.0.1:8080 or [::1]:443.')

const headerSet = z.strictObject({
  set: z.record(
    z.string(), // names are checked in plugin-checks.ts (a message naming the key's place)
    z.string().refine(isHeaderValue, { error: `must be at most ${VHOST_LIMITS.headerValueChars} characters without line breaks` }),
  ).refine((m) => Object.keys(m).length <= VHOST_LIMITS.headers, { error: `at most ${VHOST_LIMITS.headers} headers` }).optional(),
})

const httpUser = z.string().max(VHOST_LIMITS.credentialChars).optional()
const httpPassword = z.string().max(VHOST_LIMITS.credentialChars).optional()
const socksCredential = z.string().refine((v) => Buffer.byteLength(v) <= MAX_SOCKS_CREDENTIAL_BYTES, { error: `must be at most ${MAX_SOCKS_CREDENTIAL_BYTES} bytes (RFC 1929)` }).optional()
const rewrite = {
  hostHeaderRewrite: z.string().max(VHOST_LIMITS.domainChars).optional().describe('The Host header the local service gets instead of the visitor\'s.'),
  requestHeaders: headerSet.optional().describe('`set:` headers (name: value) set on every request to the local service.'),
}
const certificate = {
  crtPath: z.string().min(1).optional().describe('PEM certificate (chain) visitors are shown; relative to this file\'s directory. With keyPath; without both a self-signed certificate is made at start.'),
  keyPath: z.string().min(1).optional().describe('PEM private key of crtPath; relative to this file\'s directory.'),
}

export const pluginSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('http_proxy'),
    httpUser: httpUser.describe('Proxy-Authorization (Basic) user visitors must give; with httpPassword.'),
    httpPassword: httpPassword.describe('Proxy-Authorization password (secret; use {{ .Envs.NAME }}). Without credentials anyone who reaches the port can use the proxy.'),
  }).describe('http_proxy: an HTTP proxy (CONNECT and absolute-form requests) into the client\'s network.'),
  z.strictObject({
    type: z.literal('socks5'),
    username: socksCredential.describe('RFC 1929 user name visitors must give; with password.'),
    password: socksCredential.describe('RFC 1929 password (secret; use {{ .Envs.NAME }}). Without credentials anyone who reaches the port can use the proxy.'),
  }).describe('socks5: a SOCKS5 proxy (CONNECT, IPv4, IPv6 and domain names) into the client\'s network.'),
  z.strictObject({
    type: z.literal('static_file'),
    localPath: z.string().min(1).describe('The folder served; relative to this file\'s directory. Nothing outside it is served, through symlinks neither.'),
    stripPrefix: z.string().max(VHOST_LIMITS.locationChars).optional().describe('A path prefix removed from request paths (`static` serves /static/a.txt from localPath/a.txt); other paths get 404.'),
    httpUser: httpUser.describe('Basic auth user visitors must give; with httpPassword.'),
    httpPassword: httpPassword.describe('Basic auth password (secret; use {{ .Envs.NAME }}).'),
  }).describe('static_file: serves a folder over HTTP (GET and HEAD, ranges, conditional requests).'),
  z.strictObject({
    type: z.literal('unix_domain_socket'),
    unixPath: z.string().min(1).describe('The Unix socket each visitor is connected to; relative to this file\'s directory.'),
  }).describe('unix_domain_socket: connects each visitor to a Unix domain socket.'),
  z.strictObject({
    type: z.literal('http2https'),
    localAddr,
    ...rewrite,
  }).describe('http2https: takes plain HTTP, sends it to an HTTPS service at localAddr (its certificate is not checked).'),
  z.strictObject({
    type: z.literal('https2http'),
    localAddr,
    ...rewrite,
    ...certificate,
    enableHTTP2: z.boolean().optional().describe('Offer HTTP/2 to visitors (ALPN h2). Default true.'),
  }).describe('https2http: ends TLS with crtPath/keyPath, sends plain HTTP to localAddr.'),
  z.strictObject({
    type: z.literal('https2https'),
    localAddr,
    ...rewrite,
    ...certificate,
    enableHTTP2: z.boolean().optional().describe('Offer HTTP/2 to visitors (ALPN h2). Default true.'),
  }).describe('https2https: ends TLS with crtPath/keyPath, sends HTTPS to localAddr (its certificate is not checked).'),
  z.strictObject({
    type: z.literal('http2http'),
    localAddr,
    ...rewrite,
  }).describe('http2http: passes HTTP to localAddr with hostHeaderRewrite and requestHeaders applied.'),
  z.strictObject({
    type: z.literal('tls2raw'),
    localAddr,
    ...certificate,
  }).describe('tls2raw: ends TLS with crtPath/keyPath, connects the plain bytes to localAddr.'),
]).describe('frp\'s client plugin: replaces localIP/localPort; the client hands every visitor connection to it (tcp, http and https proxies).')

export type PluginInput = z.output<typeof pluginSchema>

/** The keys a plugin of `type` takes (for unknown-key messages), or undefined for another type. */
export function pluginKeys (type: unknown): string[] | undefined {
  const option = pluginSchema.options.find((o) => o.shape.type.value === type)
  return option === undefined ? undefined : Object.keys(option.shape)
}
