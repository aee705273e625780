// The public face of server/group/: what load-balancing groups of every kind share (tcp groups
// in server/proxy, http groups in server/vhost, tcpmux groups in server/tcpmux).
export { type GroupMember, RoundRobin } from './balancer.js'
export { groupKeyDigest, groupKeyMatches, groupOwner, groupRefusal } from './group-key.js'
