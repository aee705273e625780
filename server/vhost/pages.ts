// The small HTML pages the relay answers with itself (404, 502, ...): plain, no scripts or
// styles from elsewhere, naming the host so a visitor can tell which name went wrong.
// node:http's reason phrases are read when a page is made: a relay without vhost ports makes
// none and so does not load node:http at all (issue 21, idle memory).
import { nodeHttp } from '../../shared/lazy-builtins.js'

/** Longest custom404Page read (the page is kept in memory). */
export const MAX_CUSTOM_PAGE_BYTES = 64 * 1024

export function escapeHtml (text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
}

export function statusPage (status: number, host: string, detail: string): string {
  const title = `${status} ${nodeHttp().STATUS_CODES[status] ?? ''}`.trim()
  return '<!doctype html>\n<html><head><meta charset="utf-8"><title>' + title + '</title></head>\n' +
    `<body><h1>${title}</h1>\n<p>${escapeHtml(detail)}</p>\n<p><small>host: ${escapeHtml(host === '' ? '(none)' : host)}</small></p></body></html>\n`
}

export const DETAILS = {
  notFound: (host: string) => `No site is served for ${host === '' ? 'this address' : host} on this relay.`,
  badGateway: 'The service behind this site is not reachable right now.',
  gatewayTimeout: 'The service behind this site did not answer in time.',
  unauthorized: 'This site needs a user name and password.',
  forbidden: 'Your address may not visit this site.',
  badRequest: 'The request has no usable Host or path.',
  malformed: 'The request could not be read as HTTP/1.1, or its header was too large.',
  upgradeWithBody: 'A protocol upgrade cannot carry a request body here.',
} as const
