// Fleet lab probe, run inside a network namespace with `ip netns exec NS node fleet-probe.mjs ...`.
//   httpecho PORT                          HTTP service: a POST is answered with its body, anything else with "ok\n"; until killed;
//                                          prints {"listening":PORT}
//   httpcheck HOST PORT HOSTHDR BYTES [MS] POST BYTES random bytes with Host HOSTHDR, expect them back byte-exact; prints JSON, exit 0/1
import { createHash, randomBytes } from 'node:crypto'
import { createServer, request } from 'node:http'

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
} else {
  process.stderr.write(`fleet-probe: unknown mode ${mode}\n`)
  process.exit(2)
}
