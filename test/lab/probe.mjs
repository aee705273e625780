// Lab probe, run inside a network namespace with `ip netns exec NS node probe.mjs ...`
// (the test process itself cannot open sockets in another namespace).
//   echo PORT                      TCP echo server (half-close aware) until killed; prints {"listening":PORT}
//   check HOST PORT BYTES [MS]     send BYTES random bytes, read the echo back, compare; prints JSON, exit 0/1
//   udpecho PORT                   UDP echo server until killed; prints {"listening":PORT}
//   udpcheck HOST PORT COUNT [MS]  send COUNT numbered datagrams (16 in flight), expect each echoed back; prints JSON, exit 0/1
//   proxyecho PORT                 TCP server that parses the PROXY header (v1/v2, with tunnel's own parser from dist/)
//                                  and answers one JSON line {version, family, source, destination}; until killed
//   readline HOST PORT [MS]        connect, read one line, print {ok, line}; exit 0/1
//   rr HOST PORT COUNT [MS]        COUNT sequential 64-byte round trips through an echo; prints {ok, count, p50Us, p99Us}
import { createHash, randomBytes } from 'node:crypto'
import { createSocket } from 'node:dgram'
import { connect, createServer, isIP } from 'node:net'

const [mode, ...args] = process.argv.slice(2)

if (mode === 'echo') {
  const port = Number(args[0])
  const server = createServer({ allowHalfOpen: true }, (s) => {
    s.on('error', () => {})
    s.pipe(s)
  })
  server.listen(port, '::', () => { process.stdout.write(JSON.stringify({ listening: server.address().port }) + '\n') })
  process.on('SIGTERM', () => process.exit(0))
} else if (mode === 'check') {
  const [host, portText, bytesText, msText] = args
  const total = Number(bytesText)
  const deadline = Number(msText ?? 20000)
  const started = performance.now()
  const sent = createHash('sha256')
  const got = createHash('sha256')
  let received = 0
  const finish = (ok, why) => {
    process.stdout.write(JSON.stringify({ ok, why, received, ms: Math.round(performance.now() - started) }) + '\n')
    process.exit(ok ? 0 : 1)
  }
  const timer = setTimeout(() => finish(false, 'timeout'), deadline)
  const s = connect({ host, port: Number(portText), allowHalfOpen: true })
  s.on('error', (err) => finish(false, err.code ?? err.message))
  s.on('data', (c) => { received += c.length; got.update(c) })
  s.on('end', () => {
    clearTimeout(timer)
    const a = sent.digest('hex')
    const b = got.digest('hex')
    finish(received === total && a === b, received === total ? (a === b ? 'match' : 'mismatch') : 'short')
  })
  s.on('connect', async () => {
    let left = total
    while (left > 0) {
      const chunk = randomBytes(Math.min(65536, left))
      left -= chunk.length
      sent.update(chunk)
      if (!s.write(chunk)) await new Promise((resolve) => s.once('drain', resolve))
    }
    s.end()
  })
} else if (mode === 'proxyecho') {
  const { parseProxyHeader } = await import(new URL('../../dist/shared/net/proxy-protocol.js', import.meta.url).href)
  const server = createServer((s) => {
    s.on('error', () => {})
    let buf = Buffer.alloc(0)
    s.on('data', (c) => {
      buf = Buffer.concat([buf, c])
      let h
      try { h = parseProxyHeader(buf) } catch (err) { s.end(JSON.stringify({ error: err.message }) + '\n'); return }
      if (h === undefined) return
      s.end(JSON.stringify({ version: h.version, family: h.family, source: h.source, destination: h.destination }) + '\n')
    })
  })
  server.listen(Number(args[0]), '::', () => { process.stdout.write(JSON.stringify({ listening: server.address().port }) + '\n') })
  process.on('SIGTERM', () => process.exit(0))
} else if (mode === 'readline') {
  const [host, portText, msText] = args
  let out = ''
  const finish = (ok, why) => { process.stdout.write(JSON.stringify({ ok, why, line: out.trim() }) + '\n'); process.exit(ok ? 0 : 1) }
  setTimeout(() => finish(false, 'timeout'), Number(msText ?? 5000))
  const s = connect({ host, port: Number(portText) })
  s.setEncoding('utf8')
  s.on('error', (err) => finish(false, err.code ?? err.message))
  s.on('data', (t) => { out += t; if (out.includes('\n')) finish(true, 'line') })
  s.on('end', () => finish(out.length > 0, 'end'))
} else if (mode === 'udpecho') {
  const sock = createSocket({ type: 'udp6' })
  sock.on('error', () => {})
  sock.on('message', (msg, rinfo) => { sock.send(msg, rinfo.port, rinfo.address) })
  sock.bind(Number(args[0]), '::', () => { process.stdout.write(JSON.stringify({ listening: sock.address().port }) + '\n') })
  process.on('SIGTERM', () => process.exit(0))
} else if (mode === 'udpcheck') {
  const [host, portText, countText, msText] = args
  const count = Number(countText)
  const started = performance.now()
  const sock = createSocket({ type: isIP(host) === 6 ? 'udp6' : 'udp4' })
  const seen = new Set()
  const finish = (ok, why) => {
    process.stdout.write(JSON.stringify({ ok, why, received: seen.size, ms: Math.round(performance.now() - started) }) + '\n')
    process.exit(ok ? 0 : 1)
  }
  setTimeout(() => finish(false, 'timeout'), Number(msText ?? 5000))
  sock.on('error', (err) => finish(false, err.code ?? err.message))
  // At most WINDOW datagrams in flight: UDP through any tunnel drops bursts beyond its queues.
  const WINDOW = 16
  let next = 0
  const sendNext = () => {
    if (next >= count) return
    const d = Buffer.alloc(1200)
    d.writeUInt32BE(next++, 0)
    sock.send(d)
  }
  sock.on('message', (msg) => {
    seen.add(msg.readUInt32BE(0))
    if (seen.size === count) finish(true, 'all')
    sendNext()
  })
  sock.connect(Number(portText), host, () => { for (let i = 0; i < WINDOW; i++) sendNext() })
} else if (mode === 'rr') {
  // rr HOST PORT COUNT [MS]: COUNT round trips of 64 bytes, one at a time, through an echo service.
  const [host, portText, countText, msText] = args
  const count = Number(countText)
  const rtts = []
  const started = performance.now()
  const finish = (ok, why) => {
    rtts.sort((a, b) => a - b)
    const q = (f) => (rtts.length === 0 ? null : Math.round(rtts[Math.min(rtts.length - 1, Math.floor(f * rtts.length))] * 1000))
    process.stdout.write(JSON.stringify({ ok, why, count: rtts.length, p50Us: q(0.5), p99Us: q(0.99), ms: Math.round(performance.now() - started) }) + '\n')
    process.exit(ok ? 0 : 1)
  }
  setTimeout(() => finish(false, 'timeout'), Number(msText ?? 20000))
  const s = connect({ host, port: Number(portText) })
  s.setNoDelay(true)
  s.on('error', (err) => finish(false, err.code ?? err.message))
  const msg = randomBytes(64)
  let got = 0
  let sentAt = 0
  const next = () => { got = 0; sentAt = performance.now(); s.write(msg) }
  s.on('data', (c) => {
    got += c.length
    if (got < msg.length) return
    rtts.push(performance.now() - sentAt)
    if (rtts.length >= count) { s.destroy(); finish(true, 'done') } else next()
  })
  s.on('connect', next)
} else {
  process.stderr.write('usage: probe.mjs echo PORT | check HOST PORT BYTES [MS]\n')
  process.exit(2)
}
