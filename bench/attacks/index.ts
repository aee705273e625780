// Every attack of the attack bench, in the order it runs them.
import type { Attack } from './attack.js'
import { adminIdle } from './admin-idle.js'
import { pingNoRead } from './ping-no-read.js'
import { sniOneByteRecords } from './sni-one-byte-records.js'
import { vhostRoutes } from './vhost-routes.js'

export type { Attack, AttackResult, AttackTarget } from './attack.js'

export const ATTACKS: readonly Attack[] = [
  pingNoRead,
  vhostRoutes,
  sniOneByteRecords,
  adminIdle,
]
