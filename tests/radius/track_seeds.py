#!/usr/bin/env python3
"""track_seeds.py DIR - write the seed corpus of tests/fuzz/fuzz_radius_track.c.

Each seed is a flags byte and records (flow byte, seconds, 2-byte length,
packet); see the comment at the top of fuzz_radius_track.c.  Flow bit 7
asks the target to sign the packet; the LI VSAs are salt-encrypted here
(RFC 2868 section 3.5) with the vector the target will use: the
Access-Request's authenticator in an Accept, 16 zero octets in a CoA.
"""
import hashlib
import os
import struct
import sys

SECRET = b"li-test-secret"
ZERO = bytes(16)
SIGN = 0x80
NOW = 1800000000

KAT_REQ = bytes.fromhex(
    "010e004c433801607513701cd9ca2ba41a9cbf3c0107616c6963650212eab15c"
    "6f981ad9122f3361562b74724304067f0000010506000000641f1330322d3030"
    "2d30302d30302d30302d3031")
KAT_ACC = bytes.fromhex(
    "020e008223fdf95f06d49b121858d3606613cc000806c6120a051a1a0000130a"
    "3a14a070aafce6175e61cbe0d98d72e8da2e1a931a1a0000130a3b14a9d434f1"
    "9ef109a376f7e42b90bfcd9bcc6a1a1a0000130a3c14b3e048bccb9d6b15787f"
    "50202ac60b35603f1a1a0000130a3d14ba93e9fc5c0cc5b14a14263d3ac1df15"
    "d49b")
KAT_COA = bytes.fromhex(
    "2be100461a3615c4528a727d86a3649adc76613f2c0b736573732d3030303101"
    "07616c69636504067f0000011a1a0000130a3a1480ce013a3a3f2eac99a4dc06"
    "a5c6bff6c495")


def attr(t, v):
    return bytes([t, 2 + len(v)]) + v


def vsa(vendor, vt, v):
    return attr(26, struct.pack(">I", vendor) + bytes([vt, 2 + len(v)]) + v)


def salt_encrypt(plain, salt, secret, vector):
    p = bytes([len(plain)]) + plain
    p += bytes(-len(p) % 16)
    out, prev = b"", vector + struct.pack(">H", salt)
    for i in range(0, len(p), 16):
        b = hashlib.md5(secret + prev).digest()
        c = bytes(x ^ y for x, y in zip(p[i:i + 16], b))
        out += c
        prev = c
    return struct.pack(">H", salt) + out


def li(vector, action=1, handle=bytes.fromhex("0000030000000090"), med=bytes([127, 0, 0, 9]),
       port=30000, secret=SECRET):
    out = vsa(4874, 58, salt_encrypt(struct.pack(">I", action), 0x8001, secret, vector))
    if handle is not None:
        out += vsa(4874, 59, salt_encrypt(handle, 0x8002, secret, vector))
    if med is not None:
        out += vsa(4874, 60, salt_encrypt(med, 0x8003, secret, vector))
    if port is not None:
        out += vsa(4874, 61, salt_encrypt(struct.pack(">I", port), 0x8004, secret, vector))
    return out


def pkt(code, ident, auth, attrs, msgauth=False):
    if msgauth:
        attrs += attr(80, ZERO)
    return bytes([code, ident]) + struct.pack(">H", 20 + len(attrs)) + auth + attrs


def rec(flow, dt, p):
    return bytes([flow, dt]) + struct.pack(">H", len(p)) + p


def seeds():
    ra = bytes(range(1, 17))
    ra2 = bytes(range(17, 33))
    ident = attr(1, b"bob") + attr(87, b"ge-0/0/1.100") + attr(4, bytes([198, 18, 0, 2])) \
        + vsa(3561, 1, b"circuit-7") + vsa(3561, 2, b"remote-9") + vsa(4874, 159, b"\x01\x02ab")
    acc = attr(8, bytes([198, 18, 10, 5])) + attr(97, bytes([0, 56]) + bytes.fromhex("20010db8123456")) \
        + attr(123, bytes([0, 64]) + bytes.fromhex("20010db8aabbccdd")) + attr(44, b"acct-42")
    req = pkt(1, 7, ra, ident, msgauth=True)
    coa_attrs = attr(44, b"s-9") + attr(1, b"dave") + attr(55, struct.pack(">I", NOW))
    out = {
        "kat-access": b"\x00" + rec(0, 0, KAT_REQ) + rec(1, 0, KAT_ACC),
        "kat-coa": b"\x00" + rec(4, 0, KAT_COA) + rec(4, 1, KAT_COA),
        "access-li": b"\x00" + rec(SIGN | 0, 0, req)
        + rec(SIGN | 1, 0, pkt(2, 7, ZERO, acc + li(ra), msgauth=True)),
        "access-li-errors": b"\x00" + rec(SIGN | 0, 0, req)
        + rec(SIGN | 1, 0, pkt(2, 7, ZERO, li(ra, port=None, med=bytes(4)))),
        "access-reject-v6-msgauth": b"\x03" + rec(SIGN | 8, 0, pkt(1, 9, ra2, ident, True))
        + rec(SIGN | 9, 0, pkt(3, 9, ZERO, b"", True)),
        "acct": b"\x00"
        + rec(SIGN | 2, 0, pkt(4, 1, ZERO, attr(40, struct.pack(">I", 1)) + ident))
        + rec(SIGN | 3, 0, pkt(5, 1, ZERO, b""))
        + rec(SIGN | 2, 5, pkt(4, 2, ZERO, attr(40, struct.pack(">I", 2)) + ident
                                + attr(49, struct.pack(">I", 1)) + attr(46, struct.pack(">I", 5))))
        + rec(SIGN | 3, 0, pkt(5, 2, ZERO, b"")),
        "coa-nak-replay": b"\x00"
        + rec(SIGN | 4, 0, pkt(43, 1, ZERO, coa_attrs + li(ZERO)))
        + rec(SIGN | 5, 0, pkt(45, 1, ZERO, attr(101, struct.pack(">I", 405))))
        + rec(SIGN | 4, 0, pkt(43, 1, ZERO, coa_attrs + li(ZERO))),
        "disconnect": b"\x01"
        + rec(SIGN | 6, 0, pkt(40, 2, ZERO, coa_attrs, True))
        + rec(SIGN | 7, 0, pkt(41, 2, ZERO, b"", True)),
        "ambiguous-timeout": b"\x04"
        + rec(SIGN | 0, 0, pkt(1, 3, ra, ident)) + rec(SIGN | 0, 0, pkt(1, 3, ra2, ident))
        + rec(SIGN | 1, 0, pkt(2, 3, ZERO, b""))
        + rec(SIGN | 0, 0, pkt(1, 4, ra, ident)) + rec(SIGN | 1, 40, pkt(2, 4, ZERO, b"")),
        "not-peer-malformed": b"\x00" + rec(10, 0, KAT_REQ) + rec(11, 0, KAT_ACC)
        + rec(0, 0, KAT_REQ[:30]) + rec(0, 0, b"\x01\x01\x00\x05" + bytes(16)),
    }
    return out


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: track_seeds.py DIR")
    os.makedirs(sys.argv[1], exist_ok=True)
    for name, data in seeds().items():
        with open(os.path.join(sys.argv[1], name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
