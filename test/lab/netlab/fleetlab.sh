#!/usr/bin/env bash
# fleetlab.sh — the relay fleet's lab: one flat LAN of network namespaces, one machine each.
#
#   fleetlab.sh up      build it (idempotent)
#   fleetlab.sh down    kill what still runs inside its namespaces (by `ip netns pids`, only ours)
#                       and delete them
#
#   fl-r1 10.203.0.11   fl-r2 10.203.0.12   fl-r3 10.203.0.13    three relays
#   fl-store 10.203.0.5                                          the etcd cluster (three members)
#   fl-home 10.203.0.20                                          the clients and their services
#   fl-home2 10.203.0.21                                         a second client machine (registration races)
#   fl-edge 10.203.0.30                                          visitors (and a load balancer)
#   each eth0 ---- v-<name> in fl-lan, all on fl-lan's bridge br0 (nothing touches the host's
#   root namespace, so no lab packet can leave this machine)
set -euo pipefail

LAN=fl-lan
NODES=(r1:11 r2:12 r3:13 store:5 home:20 home2:21 edge:30)
die() { echo "fleetlab: $*" >&2; exit 1; }
[[ $(id -u) -eq 0 ]] || die "must run as root"
command -v ip >/dev/null || die "missing 'ip' (apt-get install -y iproute2)"

up() {
  [[ -e /run/netns/$LAN ]] || ip netns add "$LAN"
  ip -n "$LAN" link set lo up
  ip -n "$LAN" link show br0 >/dev/null 2>&1 || ip -n "$LAN" link add br0 type bridge
  ip -n "$LAN" link set br0 up
  for node in "${NODES[@]}"; do
    local name=${node%%:*} host=${node#*:} ns=fl-${node%%:*}
    [[ -e /run/netns/$ns ]] || ip netns add "$ns"
    ip -n "$ns" link set lo up
    if ! ip -n "$ns" link show eth0 >/dev/null 2>&1; then
      ip -n "$LAN" link del "v-$name" 2>/dev/null || true
      ip link add eth0 netns "$ns" type veth peer name "v-$name" netns "$LAN"
    fi
    ip -n "$LAN" link set "v-$name" master br0 up
    ip -n "$ns" addr replace "10.203.0.$host/24" dev eth0
    ip -n "$ns" link set eth0 up
  done
}

down() {
  local all=("$LAN") pids=()
  for node in "${NODES[@]}"; do all+=("fl-${node%%:*}"); done
  for ns in "${all[@]}"; do
    [[ -e /run/netns/$ns ]] && mapfile -t -O "${#pids[@]}" pids < <(ip netns pids "$ns" 2>/dev/null)
  done
  if ((${#pids[@]})); then
    kill "${pids[@]}" 2>/dev/null || true
    sleep 0.5
    kill -9 "${pids[@]}" 2>/dev/null || true
  fi
  for ns in "${all[@]}"; do [[ -e /run/netns/$ns ]] && ip netns del "$ns"; done
  return 0
}

case ${1:-up} in
  up) up ;;
  down) down ;;
  *) die "usage: fleetlab.sh up|down" ;;
esac
