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
#   p2plab.sh down               remove it all
#
#   P-home 192.168.88.10 -- P-nath lan0 192.168.88.1 | wan0 10.201.1.2 --+
#                                                                       P-inet 10.201.1.1 / 10.201.2.1 / 10.201.4.1
#   P-visitor 192.168.89.10 -- P-natv lan0 192.168.89.1 | wan0 10.201.4.2 --+      |
#                                                               P-public 10.201.2.10 (the relay)
# Each NAT drops unsolicited inbound (conntrack), as a home router or a carrier NAT does.
set -euo pipefail

P=${P2PLAB_PREFIX:-tp}
HOME_NS=$P-home NATH_NS=$P-nath INET_NS=$P-inet PUBLIC_NS=$P-public NATV_NS=$P-natv VISITOR_NS=$P-visitor
ALL_NS=("$HOME_NS" "$NATH_NS" "$INET_NS" "$PUBLIC_NS" "$NATV_NS" "$VISITOR_NS")
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

up() {
  for ns in "${ALL_NS[@]}"; do ensure_ns "$ns"; done
  ensure_veth "$HOME_NS" eth0 "$NATH_NS" lan0
  ensure_veth "$NATH_NS" wan0 "$INET_NS" r-home
  ensure_veth "$VISITOR_NS" eth0 "$NATV_NS" lan0
  ensure_veth "$NATV_NS" wan0 "$INET_NS" r-visitor
  ensure_veth "$INET_NS" r-public "$PUBLIC_NS" eth0

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
  for ns in "${ALL_NS[@]}"; do
    [[ -e /run/netns/$ns ]] || continue
    local pids
    pids=$(ip netns pids "$ns" 2>/dev/null || true)
    [[ -n $pids ]] && kill -9 $pids 2>/dev/null || true
    ip netns del "$ns"
  done
  for r in "${GUARD_V4[@]}"; do ip route del unreachable "$r" metric 4243 2>/dev/null || true; done
}

case ${1:-up} in
  up) up ;;
  down) down ;;
  nat) nat "$(site_ns "${2:-}")" "${3:-}" ;;
  dropudp)
    ns=$(site_ns "${2:-}")
    if [[ ${3:-} == on ]]; then nsx "$ns" nft insert rule inet filter forward meta l4proto udp drop
    else nat "$ns" cone; fi ;;
  udptimeout)
    ns=$(site_ns "${2:-}")
    [[ ${3:-} =~ ^[0-9]+$ ]] || die "udptimeout SITE SECONDS"
    sysw "$ns" net.netfilter.nf_conntrack_udp_timeout="$3" ;;
  *) die "usage: p2plab.sh up|down|nat SITE cone|symmetric|dropudp SITE on|off|udptimeout SITE S" ;;
esac
