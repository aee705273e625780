// Services that say who they are: each connection first gets `banner\n` (as an SSH server's
// greeting), then an echo of what it sends. A visitor through a group or the tcpmux port reads the
// banner to learn which service it reached; counts per banner are the spread.
import type { Socket } from 'node:net'
import { connectTo, startServer, type TestServer } from './services.js'

export function startBannerServer (banner: string): Promise<TestServer> {
  return startServer((socket) => {
    socket.write(`${banner}\n`)
    socket.pipe(socket)
  })
}

/** Reads until the first line; resolves with it (no newline), or with undefined when the socket closes first. */
export function firstLine (socket: Socket, timeoutMs = 10_000): Promise<string | undefined> {
  return new Promise((resolve) => {
    let buf = ''
    const done = (line: string | undefined): void => {
      clearTimeout(timer)
      socket.off('data', onData)
      socket.off('close', onClose)
      resolve(line)
    }
    const onData = (chunk: Buffer): void => {
      buf += chunk.toString('latin1')
      const nl = buf.indexOf('\n')
      if (nl !== -1) done(buf.slice(0, nl))
    }
    const onClose = (): void => { done(undefined) }
    const timer = setTimeout(() => { done(undefined) }, timeoutMs)
    socket.on('data', onData)
    socket.once('close', onClose)
    socket.on('error', () => {})
  })
}

/** Connects to `port` and returns the banner of the service it reached (undefined: reset or closed without one). */
export async function bannerAt (port: number): Promise<string | undefined> {
  let socket: Socket
  try {
    socket = await connectTo(port)
  } catch {
    return undefined
  }
  const line = await firstLine(socket)
  socket.destroy()
  return line
}
