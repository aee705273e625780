// `tunnel demo`: a relay, a client and a small HTTP service, all on loopback in one process,
// wired exactly as `tunnel server` + `tunnel client` would be. Prints the mapped address.
import { ExitCode } from '../exit-codes.js'
import { randomBytes } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { CommandModule } from 'yargs'
import { Client } from '../../client/index.js'
import { Relay } from '../../server/index.js'
import { parseClientConfig, parseServerConfig } from '../../shared/config/index.js'
import { newKeyPair } from '../../shared/transport/index.js'
import { makeLogger, withLogOptions, type LogArgs } from '../common.js'
import { untilSignal } from '../run-until-signal.js'

interface Args extends LogArgs {
  remotePort: number
}

export async function runDemo (args: Args): Promise<number> {
  const log = makeLogger({ ...args, logLevel: args.logLevel ?? 'warn' }, 'warn')
  const signalled = untilSignal(log)
  const token = randomBytes(16).toString('base64url')
  const service = await startDemoService()
  const servicePort = (service.address() as AddressInfo).port
  // A fresh relay key pair, pinned by the client: the demo runs the same Noise NKpsk0 handshake
  // and encrypted records as a real deployment.
  const keys = newKeyPair()
  const env = { DEMO_TOKEN: token, DEMO_RELAY_KEY: keys.privateKey }
  const server = parseServerConfig('bindAddr: 127.0.0.1\nbindPort: 0\nauth:\n  token: "{{ .Envs.DEMO_TOKEN }}"\n  privateKey: "{{ .Envs.DEMO_RELAY_KEY }}"\n', '<demo frps.yml>', env).config
  const relay = new Relay(server, log.child({ side: 'relay' }))
  const { port: relayPort } = await relay.start()
  const client = parseClientConfig([
    'serverAddr: 127.0.0.1',
    `serverPort: ${relayPort}`,
    `auth:\n  token: "{{ .Envs.DEMO_TOKEN }}"\n  serverKey: "${keys.publicKey}"`,
    'proxies:',
    '  - name: demo-web',
    '    type: tcp',
    '    localIP: 127.0.0.1',
    `    localPort: ${servicePort}`,
    `    remotePort: ${args.remotePort}`,
  ].join('\n'), '<demo frpc.yml>', env).config
  const agent = new Client(client, log.child({ side: 'client' }))
  const registered = new Promise<number>((resolve, reject) => {
    agent.once('proxy', (r) => {
      if (r.ok) resolve(r.remotePort ?? 0)
      else reject(new Error(r.message ?? 'proxy refused'))
    })
  })
  const running = agent.run()
  running.catch(() => {})
  let mapped: number
  try {
    mapped = await registered
  } catch (err) {
    process.stderr.write(`tunnel demo: ${(err as Error).message}\n`)
    relay.destroy(); service.close()
    return ExitCode.FAILED
  }
  process.stdout.write([
    'tunnel demo is running (relay, client and demo service, all on loopback):',
    `  relay          127.0.0.1:${relayPort}`,
    `  demo service   127.0.0.1:${servicePort}  (HTTP, behind the "NAT")`,
    `  mapped port    127.0.0.1:${mapped}  -> demo service, through the tunnel`,
    '',
    `Try:  curl http://127.0.0.1:${mapped}/`,
    'Press Ctrl-C to stop.',
    '',
  ].join('\n'))
  await signalled
  agent.close(1000)
  await running.catch(() => {})
  await relay.close(1000)
  service.closeAllConnections()
  service.close()
  return ExitCode.OK
}

function startDemoService (): Promise<Server> {
  let hits = 0
  const server = createServer((req, res) => {
    hits++
    res.setHeader('content-type', 'text/plain; charset=utf-8')
    res.end(`Hello from behind the NAT! This reply crossed the tunnel.\nrequest #${hits}: ${req.method ?? ''} ${req.url ?? ''}\n`)
  })
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => { resolve(server) })
  })
}

export const demoCommand: CommandModule<object, Args> = {
  command: 'demo',
  describe: 'Run a relay, a client and a demo HTTP service on loopback, and print the mapped address',
  builder: (y) => withLogOptions(y)
    .option('remote-port', { type: 'number', default: 0, describe: 'Public port on the relay (0 = any free port)' }) as never,
  handler: async (args) => { process.exitCode = await runDemo(args) },
}
