// Every attack of the attack bench, in the order it runs them.
import type { Attack } from './attack.js'
import { adminIdle } from './admin-idle.js'
import { helloDh, helloWrongToken } from './hello-flood.js'
import { idleVisitorsOneSource } from './idle-visitors-one-source.js'
import { loginLockout } from './login-lockout.js'
import { noCredit } from './no-credit.js'
import { pingNoRead } from './ping-no-read.js'
import { sniOneByteRecords } from './sni-one-byte-records.js'
import { takeover } from './takeover.js'
import { udpSourcePorts } from './udp-source-ports.js'
import { unknownDataNoRead } from './unknown-data-no-read.js'
import { vhostRoutes } from './vhost-routes.js'

export type { Attack, AttackResult, AttackTarget } from './attack.js'

export const ATTACKS: readonly Attack[] = [
  loginLockout,
  takeover,
  helloWrongToken,
  helloDh,
  pingNoRead,
  unknownDataNoRead,
  noCredit,
  idleVisitorsOneSource,
  udpSourcePorts,
  vhostRoutes,
  sniOneByteRecords,
  adminIdle,
]
