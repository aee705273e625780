// The checks behind frp's healthCheck types: tcp connects to localIP:localPort; http sends
// GET path there (with the configured headers) and wants a 2xx answer. Each takes an AbortSignal
// (the monitor's timeout) and leaves no socket behind.
import { connect } from 'node:net'
import type { HealthCheckConfig } from '../../shared/config/index.js'
import { nodeHttp } from '../../shared/lazy-builtins.js'
import { formatHostPort } from '../../shared/net/index.js'
import type { HealthCheckFn } from './health-monitor.js'

/** Bytes of an http check's answer read at most (the rest is dropped with the connection). */
export const MAX_HEALTH_BODY_BYTES = 64 * 1024

export function tcpCheck (host: string, port: number): HealthCheckFn {
  return async (signal) => await new Promise<void>((resolve, reject) => {
    const socket = connect({ host, port })
    const done = (err?: Error): void => {
      signal.removeEventListener('abort', onAbort)
      socket.destroy()
      if (err === undefined) resolve()
      else reject(err)
    }
    const onAbort = (): void => { done(new Error('aborted')) }
    signal.addEventListener('abort', onAbort, { once: true })
    socket.once('connect', () => { done() })
    socket.once('error', (err) => { done(err) })
  })
}

export function httpCheck (host: string, port: number, path: string, headers: ReadonlyArray<{ name: string, value: string }>): HealthCheckFn {
  const target = path.startsWith('/') ? path : `/${path}`
  return async (signal) => await new Promise<void>((resolve, reject) => {
    const h: Record<string, string> = {}
    for (const { name, value } of headers) h[name.toLowerCase()] = value
    const req = nodeHttp().request({ host, port, path: target, method: 'GET', headers: h, agent: false, signal })
    req.once('error', (err) => { reject(err) })
    req.once('response', (res) => {
      const status = res.statusCode ?? 0
      let read = 0
      res.on('data', (chunk: Buffer) => {
        read += chunk.length
        if (read > MAX_HEALTH_BODY_BYTES) res.destroy()
      })
      res.once('error', () => {})
      res.once('close', () => {
        req.destroy()
        if (status >= 200 && status < 300) resolve()
        else reject(new Error(`GET ${formatHostPort(host, port)}${target} answered ${status}, not 2xx`))
      })
    })
    req.end()
  })
}

/** The check of a proxy's healthCheck block against its local service. */
export function checkFor (config: HealthCheckConfig, host: string, port: number): HealthCheckFn {
  return config.type === 'tcp' ? tcpCheck(host, port) : httpCheck(host, port, config.path, config.httpHeaders)
}
