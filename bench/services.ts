// The target services of the benchmark, run as their own process (`node dist/bench/services.js`):
// - sink: counts the bytes of a connection and, on the client's FIN, replies the count and a newline;
// - echo: writes back every byte it reads;
// - http: node:http keep-alive server answering every request with a fixed small body;
// - udpEcho: sends every datagram back to its sender;
// - udpSink: counts datagrams and bytes; answers `UDPSINK?report` with {count, bytes} and
//   `UDPSINK?reset` by zeroing them (control datagrams are not counted).
// Prints one JSON line with the ports on stdout; exits when stdin closes (the bench is gone)
// or on SIGTERM/SIGINT. Listens on loopback only.
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http'
import { createSocket, type Socket } from 'node:dgram'
import { createServer, type Server } from 'node:net'

const HOST = '127.0.0.1'
/** Size of the HTTP response body (nginx's default page is 615 bytes; this keeps the response small). */
const HTTP_BODY_BYTES = 128
const HTTP_KEEP_ALIVE_MS = 120_000

function sinkServer (): Server {
  return createServer({ allowHalfOpen: true, noDelay: true }, (socket) => {
    let bytes = 0
    socket.on('data', (chunk: Buffer) => { bytes += chunk.length })
    socket.on('end', () => { socket.end(`${bytes}\n`) })
    socket.on('error', () => { socket.destroy() })
  })
}

function echoServer (): Server {
  return createServer({ noDelay: true }, (socket) => {
    socket.on('error', () => { socket.destroy() })
    socket.pipe(socket)
  })
}

function httpServer (): HttpServer {
  const body = Buffer.alloc(HTTP_BODY_BYTES, 'x')
  const server = createHttpServer({ noDelay: true, keepAliveTimeout: HTTP_KEEP_ALIVE_MS }, (req, res) => {
    req.resume()
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': body.length })
    res.end(body)
  })
  server.maxRequestsPerSocket = 0
  server.on('clientError', (_err, socket) => { socket.destroy() })
  return server
}

/** Receive buffer of the UDP services, so bursts are not lost at them in either mode. */
const UDP_RECV_BUFFER_BYTES = 4 * 1024 * 1024
const SINK_MAGIC = Buffer.from('UDPSINK?')

function udpEcho (): Socket {
  const socket = createSocket({ type: 'udp4', recvBufferSize: UDP_RECV_BUFFER_BYTES })
  socket.on('message', (msg, rinfo) => { socket.send(msg, rinfo.port, rinfo.address) })
  socket.on('error', () => {})
  return socket
}

function udpSink (): Socket {
  const socket = createSocket({ type: 'udp4', recvBufferSize: UDP_RECV_BUFFER_BYTES })
  let count = 0
  let bytes = 0
  socket.on('message', (msg, rinfo) => {
    if (msg.length < 32 && msg.subarray(0, SINK_MAGIC.length).equals(SINK_MAGIC)) {
      if (msg.subarray(SINK_MAGIC.length).toString() === 'reset') { count = 0; bytes = 0 }
      socket.send(JSON.stringify({ count, bytes }), rinfo.port, rinfo.address)
      return
    }
    count++
    bytes += msg.length
  })
  socket.on('error', () => {})
  return socket
}

async function bindUdp (socket: Socket): Promise<number> {
  return await new Promise((resolve, reject) => {
    socket.once('error', reject)
    socket.bind(0, HOST, () => { socket.off('error', reject); resolve(socket.address().port) })
  })
}

async function listen (server: Server | HttpServer): Promise<number> {
  return await new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, HOST, () => {
      const addr = server.address()
      if (addr === null || typeof addr === 'string') reject(new Error('no port'))
      else resolve(addr.port)
    })
  })
}

async function main (): Promise<void> {
  const servers = { sink: sinkServer(), echo: echoServer(), http: httpServer() }
  const ports = {
    sink: await listen(servers.sink),
    echo: await listen(servers.echo),
    http: await listen(servers.http),
    udpEcho: await bindUdp(udpEcho()),
    udpSink: await bindUdp(udpSink()),
  }
  const stop = (): void => { process.exit(0) }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
  process.stdin.on('end', stop)
  process.stdin.on('close', stop)
  process.stdin.resume()
  process.stdout.write(`${JSON.stringify({ msg: 'services listening', ...ports })}\n`)
}

main().catch((err: unknown) => {
  process.stderr.write(`bench services: ${String(err)}\n`)
  process.exit(1)
})
