#!/usr/bin/env python3
# punch-forger.py — an on-path attacker for the xtcp lab (run inside the "internet" router's
# namespace, tp-inet). It watches the UDP packets the router forwards for xtcp punch packets
# ('TXP1', 46 bytes) and, for each of the first --max it sees in each direction, sends the
# receiver three forgeries that look like they come from the real sender (source address and port
# spoofed, so the receiving NAT lets them through like the real ones):
#   badmac  the captured packet with its MAC altered
#   replay  the captured packet again, byte for byte (its nonce was seen already)
#   wrongkey a well-formed packet (a PUNCH, and an ACK echoing the receiver's own last nonce) MAC'd
#            under a key that is not the path's
# It prints {"ready":true} once listening, and a JSON summary of what it saw and sent on SIGTERM or
# after --seconds. Bounded: --seconds, --max captured packets per direction.
import argparse
import hashlib
import hmac
import json
import os
import signal
import socket
import struct
import sys
import time

MAGIC = b'TXP1'
PACKET_BYTES = 4 + 1 + 1 + 12 + 12 + 16
ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4

ap = argparse.ArgumentParser()
ap.add_argument('--seconds', type=float, default=30.0)
ap.add_argument('--max', type=int, default=20)
args = ap.parse_args()

sniff = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
sniff.settimeout(0.2)
raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
raw.setsockopt(socket.IPPROTO_IP, socket.IP_HDRINCL, 1)

stats = {'seen': 0, 'sent': {'badmac': 0, 'replay': 0, 'wrongkey': 0}, 'targets': []}
per_direction = {}
last_nonce = {}  # (addr, port) -> the nonce of the last punch packet seen from it
stop = False


def on_term(_sig, _frame):
    global stop
    stop = True


signal.signal(signal.SIGTERM, on_term)
signal.signal(signal.SIGINT, on_term)


def send_spoofed(src, sport, dst, dport, payload):
    udp_len = 8 + len(payload)
    udp = struct.pack('!HHHH', sport, dport, udp_len, 0) + payload  # checksum 0: none (IPv4)
    ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + udp_len, 0, 0, 64, socket.IPPROTO_UDP, 0,
                     socket.inet_aton(src), socket.inet_aton(dst))
    raw.sendto(ip + udp, (dst, 0))


def wrong_key_packet(kind, role, echo):
    key = os.urandom(32)
    head = MAGIC + bytes([kind, role]) + os.urandom(12) + echo
    return head + hmac.new(key, head, hashlib.sha256).digest()[:16]


print(json.dumps({'ready': True}), flush=True)
deadline = time.monotonic() + args.seconds
while not stop and time.monotonic() < deadline:
    try:
        frame, addr = sniff.recvfrom(65535)
    except socket.timeout:
        continue
    except InterruptedError:
        continue
    if addr[2] == PACKET_OUTGOING or len(frame) < 14 + 20 + 8:
        continue
    if struct.unpack('!H', frame[12:14])[0] != 0x0800:
        continue
    ip = frame[14:]
    ihl = (ip[0] & 0x0f) * 4
    if ip[9] != socket.IPPROTO_UDP:
        continue
    src, dst = socket.inet_ntoa(ip[12:16]), socket.inet_ntoa(ip[16:20])
    udp = ip[ihl:]
    sport, dport = struct.unpack('!HH', udp[0:4])
    payload = udp[8:]
    if len(payload) != PACKET_BYTES or payload[:4] != MAGIC:
        continue
    stats['seen'] += 1
    last_nonce[(src, sport)] = payload[6:18]
    key = (src, sport, dst, dport)
    n = per_direction.get(key, 0)
    if n >= args.max:
        continue
    # Punches at a site's private (local) candidates reach the router but lead nowhere from it.
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as route:
            route.connect((dst, 9))  # a route lookup only: nothing is sent
    except OSError:
        stats['unroutable'] = stats.get('unroutable', 0) + 1
        per_direction[key] = args.max
        continue
    per_direction[key] = n + 1
    target = f'{dst}:{dport}'
    if target not in stats['targets']:
        stats['targets'].append(target)
    bad = bytearray(payload)
    bad[-1] ^= 0xff
    send_spoofed(src, sport, dst, dport, bytes(bad))
    stats['sent']['badmac'] += 1
    send_spoofed(src, sport, dst, dport, payload)
    stats['sent']['replay'] += 1
    role = payload[5]
    # An ACK for the receiver's own last PUNCH (what would get it "through"), under the wrong key.
    theirs = last_nonce.get((dst, dport), os.urandom(12))
    send_spoofed(src, sport, dst, dport, wrong_key_packet(1, role, bytes(12)))
    send_spoofed(src, sport, dst, dport, wrong_key_packet(2, role, theirs))
    stats['sent']['wrongkey'] += 2

print(json.dumps(stats), flush=True)
sys.exit(0)
