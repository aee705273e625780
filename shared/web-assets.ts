// The browser side of the package (dashboard and bench report code), built by `npm run build`
// into dist/web/ (web/build.mjs) and read from there at run time: from dist/shared/ it is
// ../web/; when this module runs from source (the tests), ../dist/web/. Nothing is fetched from
// anywhere else.
import { existsSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

export const DASHBOARD_ASSETS = ['dashboard.js', 'dashboard.css', 'icon.svg'] as const
export const REPORT_ASSETS = ['report.js', 'report.css'] as const
export type WebAssetName = typeof DASHBOARD_ASSETS[number] | typeof REPORT_ASSETS[number]

/** Where dist/web is, or undefined when the package was not built. */
export function webAssetDir (): string | undefined {
  for (const rel of ['../web/', '../dist/web/']) {
    const dir = fileURLToPath(new URL(rel, import.meta.url))
    if (existsSync(`${dir}dashboard.js`)) return dir
  }
  return undefined
}

/** The named assets' text, or undefined when one is missing (the package was not built). */
export function readWebAssets (names: readonly WebAssetName[] = DASHBOARD_ASSETS, dir = webAssetDir()): ReadonlyMap<WebAssetName, string> | undefined {
  if (dir === undefined) return undefined
  const out = new Map<WebAssetName, string>()
  for (const name of names) {
    try {
      out.set(name, readFileSync(`${dir}${name}`, 'utf8'))
    } catch {
      return undefined
    }
  }
  return out
}
