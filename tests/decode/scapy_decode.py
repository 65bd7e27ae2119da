#!/usr/bin/python3
"""The packet decoder against an independent encoder: scapy.

    scapy_decode.py check BUILD_DIR/pkt_pcapcheck   (ctest decode/scapy)
    scapy_decode.py seeds DIR                       (tests/fuzz/corpus/decode/)

`check` has scapy build frames of every link type and encapsulation the
decoder supports (Ethernet, 802.1Q, 802.1ad and 0x9100 QinQ, PPPoE session
and discovery, Linux cooked SLL and SLL2, raw IP, BSD loopback, IPv6
extension headers, IPv4 fragments from scapy's fragment()), writes them to
pcap files with the values they were given as the expected output, runs
pkt_pcapcheck (tests/tools/pkt_pcapcheck.c) on each file and compares line by
line.  `seeds` writes the same frames as fuzz_decode seeds (the format is in
tests/fuzz/fuzz_decode.c).
"""
import os
import struct
import subprocess
import sys
import tempfile

from scapy.all import (ARP, IP, TCP, UDP, CookedLinux, CookedLinuxV2, Dot1AD, Dot1Q, Ether,
                       IPv6, IPv6ExtHdrFragment, IPv6ExtHdrHopByHop, Loopback, PPP, PPPoE,
                       PPPoED, Raw, RawPcapWriter, fragment, fragment6)

MAC_A, MAC_B = "02:00:00:00:00:0a", "02:00:00:00:00:0b"
V4_A, V4_B = "192.0.2.10", "198.51.100.20"
V6_A, V6_B = "2001:db8::10", "2001:db8:1::20"
RADIUS = bytes([1, 7, 0, 20]) + bytes(range(16))  # Access-Request, id 7, length 20

# pcap LINKTYPE_ values (libpcap maps LINKTYPE_RAW 101 to DLT_RAW) and fuzz_decode's DLT index.
LINKTYPES = {"en10mb": (1, 0), "sll": (113, 1), "sll2": (276, 2), "raw": (101, 3), "null": (0, 6)}


def hexpay(b):
    return "%d:%s" % (len(b), b[:8].hex())


def line(mac=None, dmac=None, sll=None, vlans=(), pppoe=None, fam=0, src=None, dst=None, ttl=64,
         proto=None, ext=0, frag=None, ports=None, ulen=None, pay=b"", rc="ok"):
    """The line pkt_pcapcheck prints for a frame with these values."""
    out = ["rc=" + rc, "mac=" + (mac or "-"), "dmac=" + (dmac or "-"),
           "sll=" + ("%d/%d" % sll if sll else "-"),
           "vlans=" + (",".join("%04x/%d" % v for v in vlans) or "-"),
           "pppoe=" + (pppoe if isinstance(pppoe, str) else
                       "%d/%04x" % pppoe if pppoe else "-"),
           "fam=%d" % fam]
    if fam == 0:
        return " ".join(out + ["src=-", "dst=-", "ttl=-", "proto=-", "ext=-", "frag=-", "ports=-",
                               "ulen=-", "pay=-"])
    out += ["src=" + src, "dst=" + dst, "ttl=%d" % ttl, "proto=%d" % proto, "ext=%d" % ext,
            "frag=" + ("%d/%d/%x" % frag if frag else "-"),
            "ports=" + ("%d>%d" % ports if ports else "-"),
            "ulen=" + ("%d" % ulen if ulen is not None else "-"), "pay=" + hexpay(pay)]
    return " ".join(out)


def udp4(sport=50000, dport=1812, data=RADIUS, ttl=64):
    pkt = IP(src=V4_A, dst=V4_B, ttl=ttl) / UDP(sport=sport, dport=dport) / Raw(data)
    exp = dict(fam=4, src=V4_A, dst=V4_B, ttl=ttl, proto=17, ports=(sport, dport),
               ulen=8 + len(data), pay=data)
    return pkt, exp


def udp6(sport=50001, dport=1813, data=RADIUS, hlim=64):
    pkt = IPv6(src=V6_A, dst=V6_B, hlim=hlim) / UDP(sport=sport, dport=dport) / Raw(data)
    exp = dict(fam=6, src=V6_A, dst=V6_B, ttl=hlim, proto=17, ports=(sport, dport),
               ulen=8 + len(data), pay=data)
    return pkt, exp


def eth(dst=MAC_B, **kw):
    return Ether(src=MAC_A, dst=dst, **kw), dict(mac=MAC_A, dmac=dst)


def cases():
    """(file, [(frame bytes, [expected lines])])"""
    files = {k: [] for k in LINKTYPES}

    def add(f, pkt, *exps):
        files[f].append((bytes(pkt), [line(**e) for e in exps]))

    # Ethernet, IPv4 and IPv6.
    e, ee = eth()
    p, x = udp4()
    add("en10mb", e / p, {**ee, **x})
    p, x = udp6(data=b"ipv6 radius")
    add("en10mb", e / p, {**ee, **x})
    # 802.1Q, priority 3, VLAN 100.
    e, ee = eth()
    p, x = udp4(dport=1813)
    add("en10mb", e / Dot1Q(prio=3, vlan=100) / p, {**ee, **x, "vlans": [(0x8100, 100)]})
    # 802.1ad S-tag 200, C-tag 300.
    e, ee = eth(type=0x88a8)
    p, x = udp4(dport=3799)
    add("en10mb", e / Dot1AD(vlan=200) / Dot1Q(vlan=300) / p,
        {**ee, **x, "vlans": [(0x88a8, 200), (0x8100, 300)]})
    # Pre-standard QinQ: outer TPID 0x9100.
    e, ee = eth(type=0x9100)
    p, x = udp6(sport=547, dport=546, data=b"\x07dhcpv6 reply")
    add("en10mb", e / Dot1Q(vlan=10) / Dot1Q(vlan=20) / p,
        {**ee, **x, "vlans": [(0x9100, 10), (0x8100, 20)]})
    # PPPoE session, IPv4 DHCP-sized UDP.
    e, ee = eth()
    p, x = udp4(sport=68, dport=67, data=bytes(range(200)) + bytes(100))
    add("en10mb", e / PPPoE(sessionid=0x1234) / PPP(proto=0x0021) / p,
        {**ee, **x, "pppoe": (0x1234, 0x0021)})
    # PPPoE session in a VLAN, IPv6.
    e, ee = eth()
    p, x = udp6()
    add("en10mb", e / Dot1Q(vlan=7) / PPPoE(sessionid=0xbeef) / PPP(proto=0x0057) / p,
        {**ee, **x, "vlans": [(0x8100, 7)], "pppoe": (0xbeef, 0x0057)})
    # PPPoE discovery (PADI): reported, not decoded.
    e, ee = eth(dst="ff:ff:ff:ff:ff:ff")
    add("en10mb", e / PPPoED(code=0x09), {**ee, "pppoe": "disc"})
    # ARP: no IP.
    e, ee = eth()
    add("en10mb", e / ARP(psrc=V4_A, pdst=V4_B), ee)
    # IPv4 with options, TCP SYN|ACK with data.
    e, ee = eth()
    tcp = IP(src=V4_A, dst=V4_B, ttl=9, options=b"\x01\x01\x01\x00") / \
        TCP(sport=2083, dport=40000, flags="SA") / Raw(b"radsec")
    add("en10mb", e / tcp, {**ee, "fam": 4, "src": V4_A, "dst": V4_B, "ttl": 9, "proto": 6,
                            "ports": (2083, 40000), "pay": b"radsec"})
    # IPv6: hop-by-hop, then a first fragment (M set).
    e, ee = eth()
    data = bytes(range(100, 124))
    p6 = IPv6(src=V6_A, dst=V6_B, hlim=3) / IPv6ExtHdrHopByHop() / \
        IPv6ExtHdrFragment(offset=0, m=1, id=0xabc) / UDP(sport=1, dport=1812) / Raw(data)
    add("en10mb", e / p6, {**ee, "fam": 6, "src": V6_A, "dst": V6_B, "ttl": 3, "proto": 17,
                           "ext": 2, "frag": (0, 1, 0xabc), "ports": (1, 1812),
                           "ulen": 8 + len(data), "pay": data})
    # A 4000-byte RADIUS datagram in scapy's IPv4 fragments, then reassembled.
    big = bytes(1 + i % 251 for i in range(4000))
    dgram = IP(src=V4_A, dst=V4_B, id=0x4242) / UDP(sport=1645, dport=1812) / Raw(big)
    frags = fragment(dgram, fragsize=1000)
    udp = bytes(dgram[UDP])
    for i, fr in enumerate(frags):
        e, ee = eth()
        off = fr.frag * 8
        last = i == len(frags) - 1
        exp = {**ee, "fam": 4, "src": V4_A, "dst": V4_B, "proto": 17,
               "frag": (off, 0 if last else 1, 0x4242)}
        chunk = udp[off:off + 1000]
        if off == 0:
            exp.update(ports=(1645, 1812), ulen=len(udp), pay=chunk[8:])
        else:
            exp.update(pay=chunk)
        exps = [exp]
        if last:
            exps.append({"fam": 4, "src": V4_A, "dst": V4_B, "proto": 17, "ports": (1645, 1812),
                         "ulen": len(udp), "pay": big})
        add("en10mb", e / fr, *exps)
        if last:
            files["en10mb"][-1][1][1] = "reasm %d " % (20 + len(udp)) + files["en10mb"][-1][1][1]

    # Linux cooked capture v1: an Ethernet device, outgoing; a VLAN; a ppp device.
    mac = bytes.fromhex(MAC_A.replace(":", "")) + b"\0\0"
    p, x = udp4()
    add("sll", CookedLinux(pkttype=4, lladdrtype=1, lladdrlen=6, src=mac) / p,
        {**x, "mac": MAC_A, "sll": (4, 0)})
    p, x = udp4(dport=1813)
    add("sll", CookedLinux(pkttype=0, lladdrtype=1, lladdrlen=6, src=mac) / Dot1Q(vlan=42) / p,
        {**x, "mac": MAC_A, "sll": (0, 0), "vlans": [(0x8100, 42)]})
    p, x = udp6()
    add("sll", CookedLinux(pkttype=0, lladdrtype=512, lladdrlen=0, src=b"\0" * 8, proto=0x86dd) / p,
        {**x, "sll": (0, 0)})
    # Linux cooked capture v2 (the `any` device): interface index 7, from another host.
    p, x = udp4(sport=1812, dport=50000, ttl=255)
    add("sll2", CookedLinuxV2(ifindex=7, lladdrtype=1, pkttype=3, lladdrlen=6, src=mac) / p,
        {**x, "mac": MAC_A, "sll": (3, 7)})
    p, x = udp6(hlim=1)
    add("sll2", CookedLinuxV2(ifindex=9, lladdrtype=1, pkttype=0, lladdrlen=6, src=mac) / p,
        {**x, "mac": MAC_A, "sll": (0, 9)})
    # Raw IP, both versions.
    p, x = udp4(data=b"raw")
    add("raw", p, x)
    p, x = udp6(data=b"raw6")
    add("raw", p, x)
    # BSD loopback (AF_INET in host byte order).
    p, x = udp4(data=b"lo")
    add("null", Loopback(type=2) / p, x)
    return files


def check(tool):
    failed = 0
    with tempfile.TemporaryDirectory(prefix="pm-decode-") as tmp:
        for name, frames in cases().items():
            path = os.path.join(tmp, name + ".pcap")
            w = RawPcapWriter(path, linktype=LINKTYPES[name][0])
            for f, _ in frames:
                w.write(f)
            w.close()
            expected = [e for _, exps in frames for e in exps]
            got = subprocess.run([tool, path], check=True, capture_output=True,
                                 text=True).stdout.splitlines()
            for i in range(max(len(got), len(expected))):
                g = got[i] if i < len(got) else "(missing)"
                e = expected[i] if i < len(expected) else "(none)"
                if g != e:
                    failed += 1
                    print("%s line %d:\n  expected %s\n  decoded  %s" % (name, i + 1, e, g))
            print("%s: %d frames, %d lines" % (name, len(frames), len(got)))
    if failed:
        print("FAIL: %d lines differ" % failed)
        return 1
    print("ok")
    return 0


def seeds(outdir):
    os.makedirs(outdir, exist_ok=True)
    for name, frames in cases().items():
        idx = LINKTYPES[name][1]
        for i, (f, _) in enumerate(frames):
            with open(os.path.join(outdir, "%s-%02d" % (name, i)), "wb") as fh:
                fh.write(bytes([idx, 0]) + struct.pack(">H", len(f)) + f)
        if name == "en10mb":  # every frame in one input: the fragments reassemble
            with open(os.path.join(outdir, "en10mb-all"), "wb") as fh:
                fh.write(bytes([idx, 0]) + b"".join(struct.pack(">H", len(f)) + f
                                                     for f, _ in frames))
            # IPv6 fragments that reassemble; IPv4 fragments that overlap (RFC 5722).
            d6 = IPv6(src=V6_A, dst=V6_B) / IPv6ExtHdrHopByHop() / IPv6ExtHdrFragment(id=5) / \
                UDP(sport=1, dport=1812) / Raw(bytes(3000))
            d4 = IP(src=V4_A, dst=V4_B, id=9) / UDP(sport=1, dport=1812) / Raw(bytes(range(200)))
            f4 = fragment(d4, fragsize=64)
            lap = IP(bytes(f4[1]))
            lap.frag -= 2
            lap.chksum = None
            for n, pkts in (("raw-ip6frags", fragment6(d6, 1280)),
                            ("raw-overlap", f4[:2] + [lap] + f4[2:])):
                with open(os.path.join(outdir, n), "wb") as fh:
                    fh.write(bytes([LINKTYPES["raw"][1], 0]) +
                             b"".join(struct.pack(">H", len(bytes(p))) + bytes(p) for p in pkts))
            f = frames[0][0]  # snapped: 40 bytes captured, 32 * 8 more on the wire
            with open(os.path.join(outdir, "en10mb-snapped"), "wb") as fh:
                fh.write(bytes([idx, 32]) + struct.pack(">H", 40) + f[:40])
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "check":
        sys.exit(check(sys.argv[2]))
    if len(sys.argv) == 3 and sys.argv[1] == "seeds":
        sys.exit(seeds(sys.argv[2]))
    print(__doc__, file=sys.stderr)
    sys.exit(2)
