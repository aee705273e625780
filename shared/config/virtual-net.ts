// frp's experimental virtual network (the virtual_net plugin on an stcp proxy and on a visitor, a
// TUN device behind frp's VirtualNet feature gate): this tunnel has no TUN device. Such a proxy or
// visitor is not started, with a warning at its plugin's type; the rest of the file runs
// (validate.ts's unsupportedProxies skips it; featureGates and virtualNet are ignored keys).
import type { ConfigLocation } from '../errors.js'
import { locate } from './locate.js'
import { isVirtualNet } from './plugin-schema.js'
import { valueAt, type CheckContext } from './validate.js'

/** A warning, as checks.ts's ConfigWarning (not imported from there: checks.ts imports this file). */
interface Warning {
  message: string
  location: ConfigLocation
}

/** One warning per enabled proxy or visitor with the virtual_net plugin. */
export function virtualNetWarnings (ctx: CheckContext): Warning[] {
  if (ctx.side !== 'client') return []
  const out: Warning[] = []
  for (const list of ['proxies', 'visitors'] as const) {
    const entries = valueAt(ctx.data, [list])
    if (!Array.isArray(entries)) continue
    entries.forEach((entry: unknown, i) => {
      if (!isVirtualNet(entry) || valueAt(entry, ['enabled']) === false) return
      const what = list === 'proxies' ? 'proxy' : 'visitor'
      out.push({
        message: `${list}[${i}].plugin virtual_net is frp's experimental virtual network: not supported, this ${what} is not started (the rest of the file runs)`,
        location: locate(ctx.doc, ctx.map, [list, i, 'plugin', 'type'], { key: false }),
      })
    })
  }
  return out
}
