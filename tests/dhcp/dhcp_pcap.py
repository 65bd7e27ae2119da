#!/usr/bin/python3
"""DHCPv4 bindings from a pcap file scapy writes (ctest dhcp/pcap).

    dhcp_pcap.py BUILD_DIR/dhcp_pcapcheck

A relay (198.18.1.1, giaddr 198.18.100.1) and a trusted server (198.18.1.2)
exchange DISCOVER, OFFER, REQUEST and ACK with option 82 (RFC 3046); the
relay's copy of the ACK towards the client and a rogue server's ACK are not
believed; the client renews by unicast (ciaddr, no option 82) and releases;
a second client DECLINEs its address; a third client's lease runs out.
Every frame is Ethernet/IPv4/UDP as a capture sees it; dhcp_pcapcheck
(tests/tools/dhcp_pcapcheck.c) runs them through pkt_decode() and the
tracker and prints the facts, compared here line by line.
"""
import itertools
import os
import subprocess
import sys
import tempfile

from scapy.all import BOOTP, DHCP, IP, UDP, Ether, wrpcap

RELAY, SERVER, ROGUE = "198.18.1.1", "198.18.1.2", "198.18.1.66"
GIADDR = "198.18.100.1"
T0 = 1700000000


def mac(n):
    return "02:00:00:00:00:%02x" % n


def chaddr(n):
    return bytes.fromhex(mac(n).replace(":", "")) + bytes(10)


def opt82(circuit, remote):
    return bytes([1, len(circuit)]) + circuit + bytes([2, len(remote)]) + remote


def frame(t, src, dst, sport, dport, bootp, options):
    p = (Ether(src="02:00:00:00:01:01", dst="02:00:00:00:01:02") / IP(src=src, dst=dst) /
         UDP(sport=sport, dport=dport) / bootp / DHCP(options=options + ["end"]))
    p.time = t
    return p


def to_server(t, n, msg, extra, rai, ciaddr="0.0.0.0", src=RELAY, dst=SERVER, giaddr=GIADDR):
    opts = [("message-type", msg)] + extra
    if rai is not None:
        opts.append(("relay_agent_information", rai))
    return frame(t, src, dst, 67 if giaddr != "0.0.0.0" else 68, 67,
                 BOOTP(op=1, hops=1, xid=n, ciaddr=ciaddr, giaddr=giaddr, chaddr=chaddr(n)), opts)


def from_server(t, n, msg, yiaddr, rai, lease=3600, src=SERVER, dst=RELAY, ciaddr="0.0.0.0",
                giaddr=GIADDR):
    opts = [("message-type", msg), ("server_id", SERVER), ("lease_time", lease)]
    if rai is not None:
        opts.append(("relay_agent_information", rai))
    return frame(t, src, dst, 67, 67 if giaddr != "0.0.0.0" else 68,
                 BOOTP(op=2, hops=1, xid=n, ciaddr=ciaddr, yiaddr=yiaddr, giaddr=giaddr,
                       chaddr=chaddr(n)), opts)


def exchange():
    a1, a2, a3 = "198.18.100.10", "198.18.100.11", "198.18.100.12"
    r1 = opt82(b"eth0/1/0:100", bytes.fromhex("0011223344aa"))
    r2 = opt82(b"eth0/1/0:200", b"\x00" * 3 + b"remote-two")
    r3 = opt82(b"eth0/1/0:300", b"r3")
    pk = [
        to_server(T0, 1, "discover", [], r1),
        from_server(T0, 1, "offer", a1, r1),
        to_server(T0 + 1, 1, "request", [("requested_addr", a1), ("server_id", SERVER)], r1),
        from_server(T0 + 1, 1, "ack", a1, r1),
        # the relay's copy towards the client: not from the server
        from_server(T0 + 1, 1, "ack", a1, r1, src=GIADDR, dst=a1),
        # a rogue server binding another client's circuit: counted, ignored
        from_server(T0 + 2, 9, "ack", "198.18.100.99", r1, src=ROGUE),
        # a unicast renewal: ciaddr set, no option 82, no relay
        to_server(T0 + 1800, 1, "request", [], None, ciaddr=a1, src=a1, giaddr="0.0.0.0"),
        from_server(T0 + 1800, 1, "ack", a1, None, dst=a1, ciaddr=a1, giaddr="0.0.0.0"),
        # client 2 binds, then declines (ARP found the address in use)
        from_server(T0 + 1900, 2, "ack", a2, r2),
        to_server(T0 + 1901, 2, "decline", [("requested_addr", a2), ("server_id", SERVER)], r2),
        # client 3 binds for 60 s
        from_server(T0 + 2000, 3, "ack", a3, r3, lease=60),
        # client 1 releases (unicast to the server)
        to_server(T0 + 2100, 1, "release", [("server_id", SERVER)], None, ciaddr=a1, src=a1,
                  giaddr="0.0.0.0"),
    ]
    hx = lambda b: b.hex()
    c1 = "chaddr=%s circuit=%s remote=%s opt82=%s" % (
        mac(1), hx(b"eth0/1/0:100"), "0011223344aa", hx(r1))
    c2 = "chaddr=%s circuit=%s remote=%s opt82=%s" % (
        mac(2), hx(b"eth0/1/0:200"), hx(b"\x00" * 3 + b"remote-two"), hx(r2))
    c3 = "chaddr=%s circuit=%s remote=%s opt82=%s" % (mac(3), hx(b"eth0/1/0:300"), hx(b"r3"), hx(r3))
    want = [
        "fact ack ts=%d.000000 ip=%s peer=%s %s lease=3600" % (T0 + 1, a1, GIADDR, c1),
        "fact ack ts=%d.000000 ip=%s peer=%s %s lease=3600" % (T0 + 1900, a2, GIADDR, c2),
        "fact decline ts=%d.000000 ip=%s peer=%s %s lease=0" % (T0 + 1901, a2, GIADDR, c2),
        "fact ack ts=%d.000000 ip=%s peer=%s %s lease=60" % (T0 + 2000, a3, GIADDR, c3),
        "fact expire ts=%d.000000 ip=%s peer=%s %s lease=0" % (T0 + 2060, a3, GIADDR, c3),
        "fact release ts=%d.000000 ip=%s peer=%s %s lease=0" % (T0 + 2100, a1, GIADDR, c1),
        "stats parsed=10 malformed=0 untrusted=2 acks=3 renewals=1 releases=1 declines=1 "
        "expired=1 bindings=0 full=0 facts=6",
    ]
    return pk, want


def main():
    tool = sys.argv[1]
    pk, want = exchange()
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "dhcp.pcap")
        wrpcap(path, pk)
        out = subprocess.run([tool, SERVER + ",198.18.1.3", path, str(T0 + 100000)],
                             capture_output=True, text=True, check=True).stdout.splitlines()
    if out != want:
        for w, o in itertools.zip_longest(want, out, fillvalue=""):
            print(("   " if w == o else "!! ") + "want: " + w + "\n     got:  " + o)
        sys.exit("dhcp_pcap: the facts differ")
    print("dhcp_pcap: %d packets, %d facts as expected" % (len(pk), len(want) - 1))


if __name__ == "__main__":
    main()
