// The static_file plugin fed with real mux streams: conditional GETs (304 by ETag and by date),
// byte ranges (a slice, a suffix, one past the end), index.html, the redirect of a folder
// without its slash, stripPrefix, and the paths it refuses (.., dotfiles, bad escapes, a
// symlink that leads out of the folder, a target that is not a path).
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { closePluginMux, exchange, pluginHarness } from '../helpers/plugin-mux.js'

let dir = ''
let outside = ''

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tunnel-static-'))
  outside = mkdtempSync(join(tmpdir(), 'tunnel-static-out-'))
  writeFileSync(join(dir, 'data.txt'), '0123456789')
  writeFileSync(join(dir, '.secret'), 'hidden')
  mkdirSync(join(dir, 'site'))
  writeFileSync(join(dir, 'site', 'index.html'), '<h1>home</h1>')
  mkdirSync(join(dir, 'plain'))
  writeFileSync(join(dir, 'plain', 'a&b <c>.txt'), 'x')
  writeFileSync(join(outside, 'passwd'), 'root:x:0:0')
  symlinkSync(join(outside, 'passwd'), join(dir, 'escape'))
})

afterEach(async () => {
  await closePluginMux()
  rmSync(dir, { recursive: true, force: true })
  rmSync(outside, { recursive: true, force: true })
})

async function get (path: string, headers: Record<string, string> = {}, method = 'GET', stripPrefix = ''): Promise<{ status: number, headers: Record<string, string>, body: string }> {
  const { visit } = await pluginHarness({ type: 'static_file', localPath: dir, stripPrefix, credentials: null })
  const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')
  const text = (await exchange(visit(), `${method} ${path} HTTP/1.1\r\nHost: a\r\n${extra}Connection: close\r\n\r\n`)).data.toString()
  const split = text.indexOf('\r\n\r\n')
  const lines = text.slice(0, split).split('\r\n')
  const status = Number(lines[0]?.split(' ')[1])
  const out: Record<string, string> = {}
  for (const l of lines.slice(1)) {
    const i = l.indexOf(':')
    out[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim()
  }
  return { status, headers: out, body: text.slice(split + 4) }
}

describe('static_file plugin', () => {
  it('answers 304 without a body to a GET whose ETag or date still matches, and 200 when it does not', async () => {
    const first = await get('/data.txt')
    expect(first.status).toBe(200)
    expect(first.body).toBe('0123456789')
    const etag = first.headers.etag ?? ''
    const modified = first.headers['last-modified'] ?? ''
    expect(etag).not.toBe('')
    const byTag = await get('/data.txt', { 'If-None-Match': etag })
    expect(byTag.status).toBe(304)
    expect(byTag.body).toBe('')
    expect((await get('/data.txt', { 'If-Modified-Since': modified })).status).toBe(304)
    expect((await get('/data.txt', { 'If-None-Match': '"other"' })).status).toBe(200)
  })

  it('serves byte ranges: a slice, a suffix, and 416 for a range past the end', async () => {
    const slice = await get('/data.txt', { Range: 'bytes=2-4' })
    expect(slice.status).toBe(206)
    expect(slice.body).toBe('234')
    expect(slice.headers['content-range']).toBe('bytes 2-4/10')
    const suffix = await get('/data.txt', { Range: 'bytes=-3' })
    expect(suffix.body).toBe('789')
    const past = await get('/data.txt', { Range: 'bytes=20-30' })
    expect(past.status).toBe(416)
    expect(past.headers['content-range']).toBe('bytes */10')
  })

  it('serves a folder\'s index.html, redirects a folder asked without its slash (keeping the query), and lists one without index escaped', async () => {
    const index = await get('/site/')
    expect(index.status).toBe(200)
    expect(index.body).toBe('<h1>home</h1>')
    const moved = await get('/site?x=1')
    expect(moved.status).toBe(301)
    expect(moved.headers.location).toBe('/site/?x=1')
    const list = await get('/plain/')
    expect(list.body).toContain('<a href="a%26b%20%3Cc%3E.txt">a&#38;b &#60;c&#62;.txt</a>')
    const head = await get('/plain/', {}, 'HEAD')
    expect(head.status).toBe(200)
    expect(Number(head.headers['content-length'])).toBe(Buffer.byteLength(list.body))
    expect(head.body).toBe('')
  })

  it('serves only under stripPrefix, with the prefix taken off the path', async () => {
    expect((await get('/files/data.txt', {}, 'GET', 'files')).body).toBe('0123456789')
    expect((await get('/data.txt', {}, 'GET', 'files')).status).toBe(404)
  })

  it('refuses paths out of the folder, dotfiles, bad escapes, and a symlink that leads outside', async () => {
    expect((await get('/%2e%2e/etc/passwd')).status).toBe(403)
    expect((await get('/.secret')).status).toBe(404)
    expect((await get('/%E0%A4%A')).status).toBe(400)
    expect((await get('/a%5Cb')).status).toBe(400)
    expect((await get('/nothing-here')).status).toBe(404)
    const escape = await get('/escape')
    expect(escape.status).toBe(404)
    expect(escape.body).not.toContain('root:')
  })

  it('answers 400 to a request target that is not a path', async () => {
    expect((await get('http://a/data.txt')).status).toBe(400)
  })
})
