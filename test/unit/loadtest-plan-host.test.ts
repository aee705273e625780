// `tunnel bench http --host`: the Host header for a website behind a vhost port.
import { describe, expect, it } from 'vitest'
import { planBench } from '../../loadtest/index.js'

describe('bench --host', () => {
  it('defaults to the target and takes a host name (with a port) for http', () => {
    expect(planBench({ protocol: 'http', target: '127.0.0.1:8080' }).hostHeader).toBe('127.0.0.1:8080')
    expect(planBench({ protocol: 'http', target: '127.0.0.1:80', host: 'blog.example.com' }).hostHeader).toBe('blog.example.com')
    expect(planBench({ protocol: 'http', target: '127.0.0.1:80', host: 'blog.example.com:8080' }).hostHeader).toBe('blog.example.com:8080')
  })

  it('refuses a malformed name and --host on tcp or udp', () => {
    expect(() => planBench({ protocol: 'http', target: '127.0.0.1:80', host: 'a b\r\nX: y' })).toThrow(expect.objectContaining({ code: 'TUN_USAGE', message: expect.stringContaining('expected a host name') }))
    expect(() => planBench({ protocol: 'tcp', target: '127.0.0.1:80', host: 'a.test' })).toThrow(expect.objectContaining({ code: 'TUN_USAGE', message: '--host applies to http only (it is the Host header)' }))
  })
})
