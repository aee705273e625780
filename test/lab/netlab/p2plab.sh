#!/usr/bin/env bash
# p2plab.sh — two NAT'd sites and a relay, for xtcp (peer to peer) tests. Namespaces only; nothing
# is attached to the host's root namespace, and the lab's addresses are guarded on the host by
# unreachable routes (10.201.0.0/16, 192.168.88.0/23), removed again by `down`.
#
#   p2plab.sh up                 build (or reset) the lab; both NATs plain masquerade
#   p2plab.sh nat SITE KIND      SITE home|visitor; KIND cone (masquerade: endpoint-independent
#                                mapping, ports kept) or symmetric (masquerade random: a new port
#                                per destination)
#   p2plab.sh dropudp SITE on|off   drop (or not) every UDP packet the site's NAT forwards
#   p2plab.sh udptimeout SITE S  the site's NAT forgets an idle UDP mapping after S seconds
#                                (conntrack's udp_timeout; `nat` resets it to the kernel's 30)
#   p2plab.sh delay LINK MS      add MS of one-way delay on LINK (home: the home NAT's uplink;
#                                public: the relay's link) with netlab-impair.py (this kernel has
#                                no sch_netem); MS 0 takes it off
#   p2plab.sh down               remove it all
#
#   P-home 192.168.88.10 -- P-nath lan0 192.168.88.1 | wan0 10.201.1.2 --[P-wire ha=brh=hb]--+
#                                                                       P-inet 10.201.1.1 / 10.201.2.1 / 10.201.4.1
#   P-visitor 192.168.89.10 -- P-natv lan0 192.168.89.1 | wan0 10.201.4.2 ---------------+      |
#                                                          [P-wire pa=brp=pb]
#                                                               P-public 10.201.2.10 (the relay)
# Each NAT drops unsolicited inbound (conntrack), as a home router or a carrier NAT does. P-wire
# bridges two links at layer 2 (transparent) until `delay` has netlab-impair.py copy their frames.
set -euo pipefail

P=${P2PLAB_PREFIX:-tp}
HOME_NS=$P-home NATH_NS=$P-nath INET_NS=$P-inet PUBLIC_NS=$P-public NATV_NS=$P-natv VISITOR_NS=$P-visitor WIRE_NS=$P-wire
ALL_NS=("$HOME_NS" "$NATH_NS" "$INET_NS" "$PUBLIC_NS" "$NATV_NS" "$VISITOR_NS" "$WIRE_NS")
RUN_DIR=/run/p2plab
GUARD_V4=(10.201.0.0/16 192.168.88.0/23)

die() { echo "p2plab: $*" >&2; exit 1; }
[[ $(id -u) -eq 0 ]] || die "must run as root"
for t in ip nft; do command -v "$t" >/dev/null || die "missing '$t' (apt-get install -y iproute2 nftables)"; done

nsx() { local ns=$1; shift; ip netns exec "$ns" "$@"; }
sysw() { local ns=$1; shift; ip netns exec "$ns" sysctl -qw "$@" >/dev/null; }

ensure_ns() {
  [[ -e /run/netns/$1 ]] || ip netns add "$1"
  ip -n "$1" link set lo up
  sysw "$1" net.ipv6.conf.all.disable_ipv6=1
}

ensure_veth() {
  local na=$1 ia=$2 nb=$3 ib=$4
  if ! ip -n "$na" link show dev "$ia" >/dev/null 2>&1; then
    ip -n "$nb" link del dev "$ib" 2>/dev/null || true
    ip link add "$ia" netns "$na" type veth peer name "$ib" netns "$nb"
  fi
  ip -n "$na" link set dev "$ia" up
  ip -n "$nb" link set dev "$ib" up
}

addr() { ip -n "$1" addr replace "$3" dev "$2"; }

# nat NS KIND: the NAT's ruleset (masquerade, or masquerade random) and its firewall.
nat() {
  local ns=$1 kind=$2 masq=masquerade
  [[ $kind == symmetric ]] && masq="masquerade random"
  [[ $kind == cone || $kind == symmetric ]] || die "nat kind: cone or symmetric"
  nsx "$ns" conntrack -F >/dev/null 2>&1 || true
  sysw "$ns" net.netfilter.nf_conntrack_udp_timeout=30
  nsx "$ns" nft -f - <<EOF
flush ruleset
table ip nat {
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    oifname "wan0" $masq
  }
}
table inet filter {
  chain forward {
    type filter hook forward priority filter; policy drop;
    ct state established,related accept
    iifname "lan0" oifname "wan0" accept
  }
  chain input {
    type filter hook input priority filter; policy drop;
    iif "lo" accept
    ct state established,related accept
    iifname "lan0" accept
  }
}
EOF
}

site_ns() { case $1 in home) echo "$NATH_NS" ;; visitor) echo "$NATV_NS" ;; *) die "site: home or visitor" ;; esac; }

# alive PID: running and not a zombie.
alive() { local st; st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1; [[ $st != Z ]]; }

# undelay LINK: stop its forwarder (by the PID it recorded); the bridge takes the ports back.
undelay() {
  local pidf=$RUN_DIR/$P-$1-impair.pid pid
  [[ -s $pidf ]] || return 0
  pid=$(cat "$pidf")
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 60); do alive "$pid" || break; sleep 0.05; done
  alive "$pid" && kill -9 "$pid" 2>/dev/null
  rm -f "$pidf"
  local a b br; read -r a b br <<<"$(link_ports "$1")"
  ip -n "$WIRE_NS" link set dev "$a" master "$br" 2>/dev/null || true
  ip -n "$WIRE_NS" link set dev "$b" master "$br" 2>/dev/null || true
}

link_ports() { case $1 in home) echo "ha hb brh" ;; public) echo "pa pb brp" ;; *) die "link: home or public" ;; esac; }

delay() {
  local link=$1 ms=$2 a b br pidf
  [[ $ms =~ ^[0-9]+$ ]] || die "delay LINK MS"
  read -r a b br <<<"$(link_ports "$link")"
  undelay "$link"
  ((ms == 0)) && return 0
  command -v python3 >/dev/null || die "missing python3"
  mkdir -p "$RUN_DIR"
  pidf=$RUN_DIR/$P-$link-impair.pid
  ip netns exec "$WIRE_NS" python3 "$(dirname "$(readlink -f "$0")")/netlab-impair.py" \
    --a "$a" --b "$b" --bridge "$br" --delay "$ms" --pidfile "$pidf" >"$RUN_DIR/$P-$link-impair.log" 2>&1 </dev/null &
  local pid=$!
  for _ in $(seq 100); do [[ -s $pidf ]] && break; kill -0 "$pid" 2>/dev/null || break; sleep 0.02; done
  [[ -s $pidf ]] || { cat "$RUN_DIR/$P-$link-impair.log" >&2; die "delay forwarder did not start"; }
}

# A layer-2 wire in WIRE_NS: ports A and B on bridge BR.
ensure_bridge() {
  local br=$1 a=$2 b=$3
  ip -n "$WIRE_NS" link show dev "$br" >/dev/null 2>&1 || ip -n "$WIRE_NS" link add "$br" type bridge
  ip -n "$WIRE_NS" link set dev "$a" master "$br"
  ip -n "$WIRE_NS" link set dev "$b" master "$br"
  ip -n "$WIRE_NS" link set dev "$br" up
}

up() {
  # A lab built before the wire namespace existed: rebuild it.
  if [[ -e /run/netns/$INET_NS && ! -e /run/netns/$WIRE_NS ]]; then down; fi
  undelay home; undelay public
  for ns in "${ALL_NS[@]}"; do ensure_ns "$ns"; done
  ensure_veth "$HOME_NS" eth0 "$NATH_NS" lan0
  ensure_veth "$NATH_NS" wan0 "$WIRE_NS" ha
  ensure_veth "$WIRE_NS" hb "$INET_NS" r-home
  ensure_bridge brh ha hb
  ensure_veth "$VISITOR_NS" eth0 "$NATV_NS" lan0
  ensure_veth "$NATV_NS" wan0 "$INET_NS" r-visitor
  ensure_veth "$INET_NS" r-public "$WIRE_NS" pa
  ensure_veth "$WIRE_NS" pb "$PUBLIC_NS" eth0
  ensure_bridge brp pa pb

  addr "$HOME_NS" eth0 192.168.88.10/24
  ip -n "$HOME_NS" route replace default via 192.168.88.1
  addr "$NATH_NS" lan0 192.168.88.1/24
  addr "$NATH_NS" wan0 10.201.1.2/24
  ip -n "$NATH_NS" route replace default via 10.201.1.1
  sysw "$NATH_NS" net.ipv4.ip_forward=1

  addr "$VISITOR_NS" eth0 192.168.89.10/24
  ip -n "$VISITOR_NS" route replace default via 192.168.89.1
  addr "$NATV_NS" lan0 192.168.89.1/24
  addr "$NATV_NS" wan0 10.201.4.2/24
  ip -n "$NATV_NS" route replace default via 10.201.4.1
  sysw "$NATV_NS" net.ipv4.ip_forward=1

  addr "$INET_NS" r-home 10.201.1.1/24
  addr "$INET_NS" r-visitor 10.201.4.1/24
  addr "$INET_NS" r-public 10.201.2.1/24
  sysw "$INET_NS" net.ipv4.ip_forward=1
  addr "$PUBLIC_NS" eth0 10.201.2.10/24
  ip -n "$PUBLIC_NS" route replace default via 10.201.2.1

  nat "$NATH_NS" cone
  nat "$NATV_NS" cone
  for r in "${GUARD_V4[@]}"; do ip route replace unreachable "$r" metric 4243; done
}

down() {
  undelay home; undelay public
  for ns in "${ALL_NS[@]}"; do
    [[ -e /run/netns/$ns ]] || continue
    local pids
    pids=$(ip netns pids "$ns" 2>/dev/null || true)
    [[ -n $pids ]] && kill -9 $pids 2>/dev/null || true
    ip netns del "$ns"
  done
  for r in "${GUARD_V4[@]}"; do ip route del unreachable "$r" metric 4243 2>/dev/null || true; done
  rm -f "$RUN_DIR/$P-home-impair.log" "$RUN_DIR/$P-public-impair.log"
}

case ${1:-up} in
  up) up ;;
  down) down ;;
  nat) nat "$(site_ns "${2:-}")" "${3:-}" ;;
  dropudp)
    ns=$(site_ns "${2:-}")
    if [[ ${3:-} == on ]]; then nsx "$ns" nft insert rule inet filter forward meta l4proto udp drop
    else nat "$ns" cone; fi ;;
  delay) delay "${2:-}" "${3:-}" ;;
  udptimeout)
    ns=$(site_ns "${2:-}")
    [[ ${3:-} =~ ^[0-9]+$ ]] || die "udptimeout SITE SECONDS"
    sysw "$ns" net.netfilter.nf_conntrack_udp_timeout="$3" ;;
  *) die "usage: p2plab.sh up|down|nat SITE cone|symmetric|dropudp SITE on|off|udptimeout SITE S|delay home|public MS" ;;
esac
