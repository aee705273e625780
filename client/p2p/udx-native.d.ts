// Types of what tunnel uses of udx-native (holepunch's reliable, congestion-controlled streams
// over UDP; the package ships no types). Its streams are streamx Duplexes.
declare module 'udx-native' {
  import type { EventEmitter } from 'node:events'

  interface UdxAddress { host: string, family: number, port: number }

  export class UdxSocket extends EventEmitter {
    bind (port?: number, host?: string): void
    address (): UdxAddress
    send (buffer: Buffer, port: number, host: string): Promise<boolean>
    trySend (buffer: Buffer, port: number, host: string): void
    close (): Promise<void>
    readonly bytesTransmitted: number
    readonly bytesReceived: number
    on (event: 'message', listener: (message: Buffer, from: UdxAddress) => void): this
    on (event: 'close' | 'listening', listener: () => void): this
    on (event: 'error', listener: (err: Error) => void): this
    off (event: 'message', listener: (message: Buffer, from: UdxAddress) => void): this
  }

  export class UdxStream extends EventEmitter {
    readonly id: number
    readonly connected: boolean
    readonly destroyed: boolean
    readonly rtt: number
    readonly bytesTransmitted: number
    readonly bytesReceived: number
    /** streamx internals: bytes accepted by write() and not yet handed to the native side. */
    readonly _writableState: { buffered: number }
    connect (socket: UdxSocket, remoteId: number, port: number, host: string): void
    setKeepalive (ms: number): void
    write (data: Buffer): boolean
    end (): void
    destroy (err?: Error): void
    pause (): void
    resume (): void
    on (event: 'data', listener: (chunk: Buffer) => void): this
    on (event: 'drain' | 'end' | 'close' | 'finish', listener: () => void): this
    on (event: 'error', listener: (err: Error) => void): this
  }

  export default class UDX {
    createSocket (opts?: { ipv6Only?: boolean }): UdxSocket
    createStream (id: number, opts?: { firewall?: (socket: UdxSocket, port: number, host: string) => boolean }): UdxStream
  }
}
