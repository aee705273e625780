// The flood scenario's UDP generator, a process of its own (as wrk is), so that offering the
// flood does not take the event loop of the bench process, which writes the TCP stream being
// measured: `node dist/bench/flood.js HOST PORT RATE SIZE MS`. Prints {"msg":"flood ready"} once
// its socket is connected; on the line `go` on stdin offers SIZE-byte datagrams at RATE per second
// for MS milliseconds, prints {"msg":"flood done","sent":N,"skipped":M,"seconds":S} and exits.
// Exits at once when stdin closes (the bench is gone).
import { createInterface } from 'node:readline'
import { offerDatagrams, openUdp } from './lib/load-udp.js'

function usage (): never {
  process.stderr.write('usage: node dist/bench/flood.js HOST PORT RATE SIZE MS\n')
  process.exit(2)
}

async function main (argv: readonly string[]): Promise<void> {
  if (argv.length !== 5) usage()
  const [host, port, rate, size, ms] = [argv[0] ?? '', ...argv.slice(1).map(Number)] as [string, number, number, number, number]
  if (![port, rate, size, ms].every((n) => Number.isFinite(n) && n > 0)) usage()
  const socket = await openUdp(host, port)
  const lines = createInterface({ input: process.stdin })
  lines.on('close', () => { process.exit(0) })
  const go = new Promise<void>((resolve) => { lines.on('line', (l) => { if (l.trim() === 'go') resolve() }) })
  process.stdout.write(`${JSON.stringify({ msg: 'flood ready' })}\n`)
  await go
  const offered = await offerDatagrams(socket, size, rate, ms)
  socket.close()
  process.stdout.write(`${JSON.stringify({ msg: 'flood done', ...offered })}\n`)
  process.exit(0)
}

main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`bench flood: ${String(err)}\n`)
  process.exit(1)
})
