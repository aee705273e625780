// The dashboard's page and its code, served by the admin API behind the same checks as every
// endpoint (Host, Origin, credentials): GET / is a small HTML page naming the role; its script,
// style and icon come from /assets/, read once from the package's dist/web/ (web/build.mjs).
// The page holds no inline script or style and names no other host, so the strict
// Content-Security-Policy of http.ts applies as it is. All URLs are relative, so the dashboard
// also works behind a reverse proxy under a path prefix.
import type { WebAssetName } from '../web-assets.js'
import { DASHBOARD_PATH } from './endpoints.js'
import { text, type AdminResponse } from './http.js'
import type { AdminRoute } from './server.js'

export type DashboardRole = 'relay' | 'client'

const TYPES: Readonly<Record<string, string>> = {
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  svg: 'image/svg+xml',
}

/** The assets the page loads, by URL path. */
const SERVED: ReadonlyArray<{ path: string, name: WebAssetName }> = [
  { path: '/assets/dashboard.js', name: 'dashboard.js' },
  { path: '/assets/dashboard.css', name: 'dashboard.css' },
  { path: '/assets/icon.svg', name: 'icon.svg' },
]

export function dashboardPage (role: DashboardRole): string {
  return [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>tunnel ${role}</title>`,
    '<link rel="icon" href="assets/icon.svg" type="image/svg+xml">',
    '<link rel="stylesheet" href="assets/dashboard.css">',
    '<script type="module" src="assets/dashboard.js"></script>',
    '</head>',
    `<body data-role="${role}">`,
    '<main id="app"><noscript>The dashboard needs JavaScript. The same data is at api/status (JSON).</noscript></main>',
    '</body>',
    '</html>',
    '',
  ].join('\n')
}

const notBuilt = (): AdminResponse => text(503, 'the dashboard was not built: run `npm run build` (it writes dist/web/)\n', 'text/plain; charset=utf-8')

/**
 * GET / and its assets. `assets` undefined (a checkout that was not built): / answers 503 saying
 * so, and the JSON API is unaffected.
 */
export function dashboardRoutes (role: DashboardRole, assets: ReadonlyMap<WebAssetName, string> | undefined): AdminRoute[] {
  const page = dashboardPage(role)
  const routes: AdminRoute[] = [{
    method: 'GET',
    path: DASHBOARD_PATH,
    handle: () => (assets === undefined ? notBuilt() : text(200, page, 'text/html; charset=utf-8')),
  }]
  for (const { path, name } of SERVED) {
    const ext = name.slice(name.lastIndexOf('.') + 1)
    routes.push({
      method: 'GET',
      path,
      handle: () => {
        const body = assets?.get(name)
        return body === undefined ? notBuilt() : text(200, body, TYPES[ext] ?? 'application/octet-stream', { 'cache-control': 'no-cache' })
      },
    })
  }
  return routes
}
