// The relay's STUN server (xtcp clients learn their public address and NAT behaviour from it).
export { MAX_STUN_ANSWERS_PER_S, StunServer, type StunServerStats } from './stun-server.js'
