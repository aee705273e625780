// Per-proxy source filtering on the relay: allow and deny lists of CIDRs (IPv4 and IPv6, or single
// addresses), matched on the visitor's normalised address with node:net BlockList. Deny wins; a
// non-empty allow list admits only what it matches. IPv4 rules also match IPv4-mapped IPv6 input.
import { BlockList, isIP } from 'node:net'
import { normalizeAddress } from './address.js'

export interface Cidr {
  address: string
  prefix: number
  family: 'ipv4' | 'ipv6'
}

/** `10.0.0.0/8`, `2001:db8::/32`, or a bare address (a /32 or /128); undefined when invalid. */
export function parseCidr (text: string): Cidr | undefined {
  if (text.length > 64) return undefined
  const slash = text.indexOf('/')
  const address = slash === -1 ? text : text.slice(0, slash)
  const v = isIP(address)
  if (v === 0) return undefined
  const max = v === 4 ? 32 : 128
  let prefix = max
  if (slash !== -1) {
    const p = text.slice(slash + 1)
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p) || Number(p) > max) return undefined
    prefix = Number(p)
  }
  return { address, prefix, family: v === 4 ? 'ipv4' : 'ipv6' }
}

export function isCidr (text: string): boolean {
  return parseCidr(text) !== undefined
}

export class SourceFilter {
  readonly #allow: BlockList | undefined
  readonly #deny: BlockList | undefined

  /** Throws on an invalid entry (callers validate first: config schema, register parser). */
  constructor (allow: readonly string[], deny: readonly string[]) {
    this.#allow = allow.length === 0 ? undefined : blockList(allow)
    this.#deny = deny.length === 0 ? undefined : blockList(deny)
  }

  /** True when the filter lets everyone in (no rules at all). */
  get open (): boolean {
    return this.#allow === undefined && this.#deny === undefined
  }

  /** Whether a visitor from `address` (raw or normalised) may use the proxy. */
  admits (address: string): boolean {
    if (this.open) return true
    const bare = normalizeAddress(address).split('%')[0] ?? ''
    const v = isIP(bare)
    if (v === 0) return false
    const family = v === 4 ? 'ipv4' : 'ipv6'
    if (this.#deny?.check(bare, family) === true) return false
    return this.#allow === undefined || this.#allow.check(bare, family)
  }
}

function blockList (rules: readonly string[]): BlockList {
  const list = new BlockList()
  for (const rule of rules) {
    const cidr = parseCidr(rule)
    if (cidr === undefined) throw new TypeError(`invalid source rule ${JSON.stringify(rule)}`)
    list.addSubnet(cidr.address, cidr.prefix, cidr.family)
  }
  return list
}
