// The etcd client of the fleet store, in a module of its own: etcd3 brings gRPC and protobufjs
// (about 130 modules, several MiB of heap), so etcd-store.ts imports it only when a relay joins
// a fleet (issue 21: a relay without a fleet block does not load them).
import { readFileSync } from 'node:fs'
import { circuitBreaker, ConsecutiveBreaker, handleWhen, retry } from 'cockatiel'
import { Etcd3, isRecoverableError, type IOptions } from 'etcd3'
import type { FleetConfig } from '../../shared/config/index.js'

/** After this many failures in a row, one etcd endpoint is skipped for HOST_HALF_OPEN_MS. */
const HOST_FAILURES = 3
const HOST_HALF_OPEN_MS = 1_000
/**
 * gRPC's reconnect backoff toward etcd, capped low: its default grows to 2 minutes, so after a
 * long outage the store would stay unreachable long after etcd is back.
 */
const MAX_RECONNECT_BACKOFF_MS = 1_000
const INITIAL_RECONNECT_BACKOFF_MS = 250
/** Tries of one request over the endpoints (the first included). */
const REQUEST_ATTEMPTS = 2

/** A client of the fleet's etcd endpoints (not connected until its first request). */
export function openEtcdClient (config: FleetConfig): Etcd3 {
  return new Etcd3(clientOptions(config))
}

/** etcd3's options from the fleet block: endpoints, TLS files, and fault handling that gives up fast (the caller fails closed). */
function clientOptions (config: FleetConfig): IOptions {
  const { endpoints, caFile, certFile, keyFile } = config.etcd
  const tls = endpoints.every((e) => e.startsWith('https://'))
  const custom = tls && (caFile !== null || certFile !== null)
  return {
    hosts: endpoints,
    ...(custom
      ? {
          credentials: {
            // grpc's createSsl takes null for "the system's CAs"; etcd3's type asks for a Buffer.
            rootCertificate: caFile === null ? null as unknown as Buffer : readFileSync(caFile),
            ...(certFile === null || keyFile === null ? {} : { certChain: readFileSync(certFile), privateKey: readFileSync(keyFile) }),
          },
        }
      : {}),
    grpcOptions: { 'grpc.initial_reconnect_backoff_ms': INITIAL_RECONNECT_BACKOFF_MS, 'grpc.max_reconnect_backoff_ms': MAX_RECONNECT_BACKOFF_MS },
    faultHandling: {
      host: () => circuitBreaker(handleWhen(isRecoverableError), { halfOpenAfter: HOST_HALF_OPEN_MS, breaker: new ConsecutiveBreaker(HOST_FAILURES) }),
      global: retry(handleWhen(isRecoverableError), { maxAttempts: REQUEST_ATTEMPTS - 1 }),
    },
  }
}
