#!/usr/bin/env python3
"""Independent multicast/broadcast peer for sockbox tests, using plain socket options.

Modes (one JSON object per line on stdout; the first line is {"event": "ready", "port": N}):
  recv GROUP PORT IFNAME COUNT TIMEOUT [LEAVE_AFTER]
      join GROUP on IFNAME, print each datagram with its TTL / hop limit (IP_RECVTTL,
      IPV6_RECVHOPLIMIT) and arrival interface (pktinfo); with LEAVE_AFTER, drop the
      membership after that many datagrams and print {"event": "left"}.
  send GROUP PORT IFNAME TTL MSG...
      send each MSG to GROUP:PORT out of IFNAME with the given TTL / hop limit; a MSG
      written hex:HEX is sent as those bytes.
  echo GROUP PORT IFNAME TIMEOUT
      join GROUP and send every datagram back to its sender (a multicast responder).
  bcast PORT COUNT TIMEOUT
      receive broadcasts on 0.0.0.0:PORT, print them, answer each with "ack:" + data.
  bcast-send ADDR PORT MSG...
      send each MSG to the broadcast address ADDR:PORT (SO_BROADCAST).
"""
import json
import select
import socket
import struct
import sys
import time

IP_RECVTTL = getattr(socket, "IP_RECVTTL", 12)
IP_PKTINFO = getattr(socket, "IP_PKTINFO", 8)
IPV6_RECVHOPLIMIT = getattr(socket, "IPV6_RECVHOPLIMIT", 51)
IPV6_HOPLIMIT = getattr(socket, "IPV6_HOPLIMIT", 52)
IPV6_RECVPKTINFO = getattr(socket, "IPV6_RECVPKTINFO", 49)
IPV6_PKTINFO = getattr(socket, "IPV6_PKTINFO", 50)


def out(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def family_of(group):
    return socket.AF_INET6 if ":" in group else socket.AF_INET


def mreq(group, ifindex):
    if family_of(group) == socket.AF_INET:
        return struct.pack("4s4si", socket.inet_aton(group), socket.inet_aton("0.0.0.0"), ifindex)
    return socket.inet_pton(socket.AF_INET6, group) + struct.pack("@I", ifindex)


def join(group, port, ifname):
    fam = family_of(group)
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ifindex = socket.if_nametoindex(ifname)
    if fam == socket.AF_INET:
        s.bind(("0.0.0.0", port))
        s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreq(group, ifindex))
        s.setsockopt(socket.IPPROTO_IP, IP_RECVTTL, 1)
        s.setsockopt(socket.IPPROTO_IP, IP_PKTINFO, 1)
    else:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        s.bind(("::", port))
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP, mreq(group, ifindex))
        s.setsockopt(socket.IPPROTO_IPV6, IPV6_RECVHOPLIMIT, 1)
        s.setsockopt(socket.IPPROTO_IPV6, IPV6_RECVPKTINFO, 1)
    return s, ifindex


def leave(s, group, ifindex):
    if family_of(group) == socket.AF_INET:
        s.setsockopt(socket.IPPROTO_IP, socket.IP_DROP_MEMBERSHIP, mreq(group, ifindex))
    else:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_LEAVE_GROUP, mreq(group, ifindex))


def parse_cmsgs(anc):
    info = {}
    for level, ctype, data in anc:
        if level == socket.IPPROTO_IP and ctype == socket.IP_TTL:
            info["ttl"] = struct.unpack("@i", data[:4])[0]
        elif level == socket.IPPROTO_IP and ctype == IP_PKTINFO:
            ifindex, _spec, addr = struct.unpack("@i4s4s", data[:12])
            info["ifindex"] = ifindex
            info["to"] = socket.inet_ntoa(addr)
        elif level == socket.IPPROTO_IPV6 and ctype == IPV6_HOPLIMIT:
            info["ttl"] = struct.unpack("@i", data[:4])[0]
        elif level == socket.IPPROTO_IPV6 and ctype == IPV6_PKTINFO:
            info["to"] = socket.inet_ntop(socket.AF_INET6, data[:16])
            info["ifindex"] = struct.unpack("@I", data[16:20])[0]
    return info


def wait_readable(s, deadline):
    left = deadline - time.monotonic()
    if left <= 0:
        return False
    r, _, _ = select.select([s], [], [], left)
    return bool(r)


def mode_recv(group, port, ifname, count, timeout, leave_after=None):
    s, ifindex = join(group, int(port), ifname)
    out({"event": "ready", "port": s.getsockname()[1], "ifindex": ifindex})
    deadline = time.monotonic() + float(timeout)
    got = 0
    while got < int(count) and wait_readable(s, deadline):
        data, anc, _flags, addr = s.recvmsg(65536, 256)
        got += 1
        ev = {"event": "datagram", "data": data.decode("utf-8", "replace"), "from": addr[0]}
        ev.update(parse_cmsgs(anc))
        out(ev)
        if leave_after is not None and got == int(leave_after):
            leave(s, group, ifindex)
            out({"event": "left"})
    out({"event": "done", "received": got})


def mode_send(group, port, ifname, ttl, *msgs):
    fam = family_of(group)
    s = socket.socket(fam, socket.SOCK_DGRAM)
    ifindex = socket.if_nametoindex(ifname)
    if fam == socket.AF_INET:
        s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, struct.pack("4s4si", b"\0" * 4, b"\0" * 4, ifindex))
        s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, int(ttl))
    else:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, ifindex)
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, int(ttl))
    out({"event": "ready", "port": 0})
    for m in msgs:
        data = bytes.fromhex(m[4:]) if m.startswith("hex:") else m.encode()
        s.sendto(data, (group, int(port)))
        out({"event": "sent", "data": m})
        time.sleep(0.05)


def mode_echo(group, port, ifname, timeout):
    s, _ifindex = join(group, int(port), ifname)
    out({"event": "ready", "port": s.getsockname()[1]})
    deadline = time.monotonic() + float(timeout)
    while wait_readable(s, deadline):
        data, addr = s.recvfrom(65536)
        s.sendto(data, addr)
        out({"event": "echoed", "from": addr[0], "bytes": len(data)})


def mode_bcast(port, count, timeout):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", int(port)))
    out({"event": "ready", "port": s.getsockname()[1]})
    deadline = time.monotonic() + float(timeout)
    got = 0
    while got < int(count) and wait_readable(s, deadline):
        data, addr = s.recvfrom(65536)
        got += 1
        out({"event": "datagram", "data": data.decode("utf-8", "replace"), "from": addr[0]})
        s.sendto(b"ack:" + data, addr)
    out({"event": "done", "received": got})


def mode_bcast_send(addr, port, *msgs):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    out({"event": "ready", "port": 0})
    for m in msgs:
        s.sendto(m.encode(), (addr, int(port)))
        out({"event": "sent", "data": m})


if __name__ == "__main__":
    mode, args = sys.argv[1], sys.argv[2:]
    modes = {
        "recv": mode_recv,
        "send": mode_send,
        "echo": mode_echo,
        "bcast": mode_bcast,
        "bcast-send": mode_bcast_send,
    }
    modes[mode](*args)
