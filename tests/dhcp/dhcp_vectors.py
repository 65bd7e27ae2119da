#!/usr/bin/python3
"""DHCPv4 messages written by an independent encoder: scapy.

    dhcp_vectors.py c              print the C arrays of tests/unit/test_dhcp_codec.c
    dhcp_vectors.py check FILE     ctest dhcp/vectors: FILE holds exactly those arrays
    dhcp_vectors.py seeds DIR      write the fuzz_dhcp seeds (format: tests/fuzz/fuzz_dhcp.c)

The exchange is a relayed one with option 82 (RFC 3046): DISCOVER, OFFER,
REQUEST, ACK and RELEASE between a relay (giaddr 198.18.100.1) and a server
(198.18.1.2), the server echoing option 82 with circuit ID "eth0/1/0:100"
and remote ID 00:11:22:33:44:aa.  Only the BOOTP message (the UDP payload).
"""
import os
import struct
import sys

from scapy.all import BOOTP, DHCP

GIADDR, YIADDR, SERVER_IP = "198.18.100.1", "198.18.100.10", "198.18.1.2"
CHADDR = bytes.fromhex("020000000001") + bytes(10)
CIRCUIT_ID = b"eth0/1/0:100"
REMOTE_ID = bytes.fromhex("0011223344aa")
OPT82 = bytes([1, len(CIRCUIT_ID)]) + CIRCUIT_ID + bytes([2, len(REMOTE_ID)]) + REMOTE_ID
XID = 0x1a2b3c4d
NAMES = ["discover", "offer", "request", "ack", "release"]


def to_server(msg, extra, ciaddr="0.0.0.0"):
    return (BOOTP(op=1, hops=1, xid=XID, ciaddr=ciaddr, giaddr=GIADDR, chaddr=CHADDR) /
            DHCP(options=[("message-type", msg)] + extra +
                 [("relay_agent_information", OPT82), "end"]))


def to_relay(msg):
    return (BOOTP(op=2, hops=1, xid=XID, yiaddr=YIADDR, siaddr=SERVER_IP, giaddr=GIADDR,
                  chaddr=CHADDR) /
            DHCP(options=[("message-type", msg), ("server_id", SERVER_IP), ("lease_time", 3600),
                          ("subnet_mask", "255.255.255.0"), ("router", GIADDR),
                          ("relay_agent_information", OPT82), "end"]))


def messages():
    return {
        "discover": bytes(to_server("discover", [("client_id", b"\x01" + CHADDR[:6])])),
        "offer": bytes(to_relay("offer")),
        "request": bytes(to_server("request", [("requested_addr", YIADDR),
                                               ("server_id", SERVER_IP)])),
        "ack": bytes(to_relay("ack")),
        "release": bytes(to_server("release", [("server_id", SERVER_IP)], ciaddr=YIADDR)),
    }


def c_arrays():
    out = []
    for name, b in messages().items():
        out.append("/* %s (%d octets) */" % (name, len(b)))
        out.append("static const uint8_t scapy_%s[] = {" % name)
        for i in range(0, len(b), 16):
            out.append("    " + ", ".join("0x%02x" % x for x in b[i:i + 16]) + ",")
        out.append("};")
    return "\n".join(out) + "\n"


def seeds(d):
    """fuzz_dhcp: byte 0 a mode (0: one message; 1: records for the tracker),
    records of flags (bit 0 from a server, bit 1 to a server, bits 2-7 minutes
    to advance the clock), a 2-byte length and the message."""
    os.makedirs(d, exist_ok=True)
    m = messages()
    for name, b in m.items():
        with open(os.path.join(d, "msg-" + name), "wb") as f:
            f.write(b"\x00" + b)

    def rec(flags, b):
        return bytes([flags]) + struct.pack(">H", len(b)) + b

    flows = {
        "flow-bind-release": [(2, "discover"), (1, "offer"), (2, "request"), (1, "ack"),
                              (2, "release")],
        "flow-bind-expire": [(1, "ack"), (1 | (63 << 2), "request"), (1 | (63 << 2), "ack")],
        "flow-untrusted": [(0, "ack"), (2, "release")],
        "flow-renew": [(1, "ack"), (1 | (10 << 2), "ack"), (2, "release")],
    }
    for name, recs in flows.items():
        with open(os.path.join(d, name), "wb") as f:
            f.write(b"\x01" + b"".join(rec(fl, m[n]) for fl, n in recs))


if __name__ == "__main__":
    if sys.argv[1] == "c":
        sys.stdout.write(c_arrays())
    elif sys.argv[1] == "check":
        text = open(sys.argv[2]).read()
        if c_arrays() not in text:
            sys.exit("%s does not hold the arrays scapy writes; run: dhcp_vectors.py c" % sys.argv[2])
    elif sys.argv[1] == "seeds":
        seeds(sys.argv[2])
    else:
        sys.exit(__doc__)
