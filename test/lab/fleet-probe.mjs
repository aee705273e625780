// Fleet lab probe, run inside a network namespace with `ip netns exec NS node fleet-probe.mjs ...`.
//   httpecho PORT                          HTTP service: a POST is answered with its body, anything else with "ok\n"; until killed;
//                                          prints {"listening":PORT}
//   httpcheck HOST PORT HOSTHDR BYTES [MS] POST BYTES random bytes with Host HOSTHDR, expect them back byte-exact; prints JSON, exit 0/1
//   trickle HOST PORT BYTES TICK_MS        a visitor that stays connected to an echo: BYTES random bytes every TICK_MS, a line
//                                          {"sent","received"} after each; on "stop" (a line on stdin) it ends its side, reads
//                                          the rest of the echo and prints {"done":true,"ok","why","sent","received"}, exit 0/1
import { createHash, randomBytes } from 'node:crypto'
import { createServer, request } from 'node:http'
import { connect } from 'node:net'

const [mode, ...args] = process.argv.slice(2)

if (mode === 'httpecho') {
  const server = createServer((req, res) => {
    if (req.method !== 'POST') {
      req.resume()
      res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': '3' })
      res.end('ok\n')
      return
    }
    res.writeHead(200, { 'Content-Type': 'application/octet-stream' })
    req.pipe(res)
  })
  server.keepAliveTimeout = 30_000
  server.listen(Number(args[0]), '127.0.0.1', () => { process.stdout.write(JSON.stringify({ listening: server.address().port }) + '\n') })
  process.on('SIGTERM', () => process.exit(0))
} else if (mode === 'httpcheck') {
  const [host, portText, hostHeader, bytesText, msText] = args
  const body = randomBytes(Number(bytesText))
  const want = createHash('sha256').update(body).digest('hex')
  const got = createHash('sha256')
  let received = 0
  const done = (ok, why) => {
    process.stdout.write(JSON.stringify({ ok, why, received }) + '\n')
    process.exit(ok ? 0 : 1)
  }
  setTimeout(() => { done(false, 'timeout') }, Number(msText ?? 20000)).unref()
  const req = request({ host, port: Number(portText), method: 'POST', path: '/echo', agent: false, headers: { Host: hostHeader, 'Content-Length': String(body.length) } }, (res) => {
    res.on('data', (c) => { got.update(c); received += c.length })
    res.on('end', () => {
      if (res.statusCode !== 200) done(false, `status ${res.statusCode}`)
      else done(received === body.length && got.digest('hex') === want, received === body.length ? 'digest' : 'length')
    })
    res.on('error', (err) => { done(false, err.message) })
  })
  req.on('error', (err) => { done(false, err.message) })
  req.end(body)
} else if (mode === 'trickle') {
  const [host, portText, bytesText, tickText] = args
  const chunkBytes = Number(bytesText)
  const sentHash = createHash('sha256')
  const gotHash = createHash('sha256')
  let sent = 0
  let received = 0
  let stopping = false
  let timer
  const say = (o) => { process.stdout.write(JSON.stringify(o) + '\n') }
  const done = (ok, why) => {
    clearInterval(timer)
    say({ done: true, ok, why, sent, received })
    process.exit(ok ? 0 : 1)
  }
  const s = connect({ host, port: Number(portText), allowHalfOpen: true })
  s.on('error', (err) => { done(false, err.code ?? err.message) })
  s.on('data', (c) => { received += c.length; gotHash.update(c) })
  s.on('end', () => {
    if (!stopping) { done(false, 'the echo ended before the visitor did'); return }
    if (received !== sent) { done(false, 'length'); return }
    done(gotHash.digest('hex') === sentHash.digest('hex'), 'digest')
  })
  s.on('connect', () => {
    say({ connected: true, sent, received })
    timer = setInterval(() => {
      const b = randomBytes(chunkBytes)
      sentHash.update(b)
      sent += b.length
      s.write(b)
      say({ sent, received })
    }, Number(tickText))
  })
  process.stdin.setEncoding('utf8').on('data', (t) => {
    if (stopping || !t.includes('stop')) return
    stopping = true
    clearInterval(timer)
    s.end()
    setTimeout(() => { done(false, 'the echo did not end') }, 20000).unref()
  })
} else {
  process.stderr.write(`fleet-probe: unknown mode ${mode}\n`)
  process.exit(2)
}
