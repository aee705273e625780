// Load-balancing groups of tcp proxies (frp's loadBalancer.group on tcp): the proxies of one
// group, of one client or several, share one public port. The first member binds it (through the
// port allocator, as its owner: the group when it has a key, else the member's client key); later
// members join when their remotePort is the group's and their groupKey is the group's (compared
// in constant time); each new visitor goes to the next healthy member in turn (server/group).
// The port closes when the last member leaves. A member is a TcpProxy without a port of its own
// (TcpProxy.member), so its limits, source filter and counters work as for any tcp proxy.
import { createServer, type Server, type Socket } from 'node:net'
import type { Logger } from 'pino'
import { TunnelError } from '../../shared/errors.js'
import { listenOrClose } from '../../shared/net/index.js'
import type { ConnectionBudget } from '../connection-budget.js'
import { groupKeyDigest, groupOwner, groupRefusal, RoundRobin, type GroupMember } from '../group/index.js'
import type { PortAllocator } from './port-allocator.js'

/** Times a join retries when the group it waited for failed to open (another member opens it then). */
const MAX_JOIN_ATTEMPTS = 3

export interface TcpGroupMember extends GroupMember {
  /** Takes a visitor the group picked for it. */
  accept: (socket: Socket) => void
}

export interface TcpGroupJoin {
  group: string
  groupKey: string
  /** As the member asked for it (0 = any): every member of a group asks for the same. */
  remotePort: number
  /** The member's client key. */
  identity: string
  member: TcpGroupMember
}

/** What a member holds: the group's port, and how it leaves. */
export interface TcpGroupTicket {
  port: number
  /** Who the port is reserved for when its members' sessions end (the ownership grace). */
  owner: string
  leave: () => void
  /** The group's members and how many are healthy, for status. */
  view: () => { name: string, members: number, healthy: number }
}

class TcpGroup {
  readonly name: string
  readonly keyDigest: Buffer
  readonly keyless: boolean
  readonly creator: string
  readonly owner: string
  readonly remotePort: number
  readonly members = new RoundRobin<TcpGroupMember>()
  /** Resolves once the port is open (rejects when it could not be). */
  readonly ready: Promise<void>
  server: Server | undefined
  port = 0
  /** Visitors reset because no member was healthy. */
  noMember = 0
  closed = false

  constructor (join: TcpGroupJoin, open: (g: TcpGroup) => Promise<void>) {
    this.name = join.group
    this.keyDigest = groupKeyDigest(join.groupKey)
    this.keyless = join.groupKey === ''
    this.creator = join.identity
    this.owner = groupOwner(join.group, join.groupKey, join.identity)
    this.remotePort = join.remotePort
    this.ready = open(this)
  }
}

export class TcpGroups {
  readonly #groups = new Map<string, TcpGroup>()
  readonly #ports: PortAllocator
  readonly #budget: ConnectionBudget | undefined
  readonly #log: Logger

  constructor (ports: PortAllocator, budget: ConnectionBudget | undefined, log: Logger) {
    this.#ports = ports
    this.#budget = budget
    this.#log = log
  }

  get size (): number { return this.#groups.size }

  /** Joins (or opens) the group; throws TUN_GROUP_MISMATCH, TUN_GROUP_KEY or what binding the port throws. */
  async join (join: TcpGroupJoin): Promise<TcpGroupTicket> {
    for (let attempt = 1; ; attempt++) {
      const found = this.#groups.get(join.group)
      const g = found ?? this.#open(join)
      if (g.remotePort !== join.remotePort) {
        throw new TunnelError('TUN_GROUP_MISMATCH', `group ${join.group} serves remotePort ${g.remotePort === 0 ? '0 (any)' : g.remotePort}, this proxy asks for ${join.remotePort === 0 ? '0 (any)' : join.remotePort}: members of a group share one port`)
      }
      const refusal = groupRefusal(g, join.groupKey, join.identity)
      if (refusal !== undefined) throw new TunnelError('TUN_GROUP_KEY', refusal)
      try {
        await g.ready
      } catch (err) {
        // The member that opened the group gets the error; one that waited for it tries to open it itself.
        if (found === undefined || attempt >= MAX_JOIN_ATTEMPTS) throw err
        continue
      }
      if (!g.closed) return this.#add(g, join.member)
      if (attempt >= MAX_JOIN_ATTEMPTS) throw new TunnelError('TUN_GROUP_MISMATCH', `group ${join.group} closed while this proxy joined it: register it again`)
    }
  }

  #open (join: TcpGroupJoin): TcpGroup {
    const g = new TcpGroup(join, async (group) => {
      try {
        await this.#ports.bind(join.remotePort, group.owner, async (host, port) => {
          const server = createServer({ allowHalfOpen: true, noDelay: true })
          const addr = await listenOrClose(server, host, port)
          group.server = server
          group.port = addr.port
        })
      } catch (err) {
        if (this.#groups.get(group.name) === group) this.#groups.delete(group.name)
        group.closed = true
        throw err
      }
      this.#budget?.holdSocket()
      group.server?.on('connection', (socket) => { this.#onVisitor(group, socket) })
      this.#log.info({ group: group.name, remotePort: group.port }, 'load-balancing group listening')
    })
    // The opener sees the error through its own await; nobody else must see an unhandled one.
    g.ready.catch(() => {})
    this.#groups.set(g.name, g)
    return g
  }

  #onVisitor (g: TcpGroup, socket: Socket): void {
    socket.on('error', () => {})
    const m = g.members.pick()
    if (m === undefined) {
      g.noMember++
      socket.resetAndDestroy()
      return
    }
    m.accept(socket)
  }

  #add (g: TcpGroup, member: TcpGroupMember): TcpGroupTicket {
    g.members.add(member)
    this.#log.info({ group: g.name, proxy: member.name, remotePort: g.port, members: g.members.size }, 'proxy joined a load-balancing group')
    let left = false
    return {
      port: g.port,
      owner: g.owner,
      leave: () => {
        if (left) return
        left = true
        g.members.remove(member)
        if (g.members.size > 0 || g.closed) return
        g.closed = true
        g.server?.close()
        this.#budget?.releaseSocket()
        if (this.#groups.get(g.name) === g) this.#groups.delete(g.name)
        this.#log.info({ group: g.name, remotePort: g.port, picks: g.members.picks, noMember: g.noMember }, 'load-balancing group closed: its last member left')
      },
      view: () => ({ name: g.name, members: g.members.size, healthy: g.members.healthyCount }),
    }
  }
}
