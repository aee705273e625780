// Every attack of the attack bench, in the order it runs them.
import type { Attack } from './attack.js'
import { pingNoRead } from './ping-no-read.js'

export type { Attack, AttackResult, AttackTarget } from './attack.js'

export const ATTACKS: readonly Attack[] = [
  pingNoRead,
]
