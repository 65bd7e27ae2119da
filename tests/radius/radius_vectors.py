#!/usr/bin/env python3
"""radius_vectors.py - the test vectors of tests/unit/test_radius_codec.c,
computed with Python's hashlib/hmac only (independent of the C code).

    radius_vectors.py            print the vectors as C arrays
    radius_vectors.py seeds DIR  write the fuzz seed corpus (tests/fuzz/corpus/radius/)
    radius_vectors.py check FILE the C file holds exactly these arrays (ctest radius/vectors)

RFC 2865 section 3 (Response Authenticator), RFC 2866 section 3 and
RFC 5176 section 2.3 (Request Authenticator over 16 zero octets),
RFC 3579 section 3.2 (Message-Authenticator), RFC 2868 section 3.5 (salt).
"""
import hashlib
import hmac
import os
import re
import struct
import sys

ZERO = bytes(16)


def md5(*parts):
    return hashlib.md5(b"".join(parts)).digest()


def attr(t, v):
    return bytes([t, 2 + len(v)]) + v


def vsa(vendor, vt, v):
    return attr(26, struct.pack(">I", vendor) + bytes([vt, 2 + len(v)]) + v)


def salt_encrypt(plain, salt, secret, vector):
    p = bytes([len(plain)]) + plain
    p += bytes(-len(p) % 16)
    return salt_raw(p, salt, secret, vector)


def salt_raw(p, salt, secret, vector):
    """Encrypts p (length octet, data and padding already in place)."""
    out, prev = b"", vector + salt
    for i in range(0, len(p), 16):
        b = md5(secret, prev)
        c = bytes(x ^ y for x, y in zip(p[i:i + 16], b))
        out += c
        prev = c
    return salt + out


def header(code, ident, attrs, auth):
    return bytes([code, ident]) + struct.pack(">H", 20 + len(attrs)) + auth + attrs


def with_msgauth(code, ident, attrs, auth_field, secret):
    """attrs + Message-Authenticator: HMAC-MD5 over the packet whose
    authenticator field is auth_field and whose attribute value is zero."""
    pkt = header(code, ident, attrs + attr(80, ZERO), auth_field)
    mac = hmac.new(secret, pkt, hashlib.md5).digest()
    return attrs + attr(80, mac)


def request_md5(code, ident, attrs, secret):
    """Accounting-, CoA-, Disconnect-Request: MD5 over zeros as authenticator."""
    auth = md5(header(code, ident, attrs, ZERO), secret)
    return header(code, ident, attrs, auth)


def response(code, ident, attrs, req_auth, secret):
    auth = md5(header(code, ident, attrs, req_auth), secret)
    return header(code, ident, attrs, auth)


def erx_li(secret, vector, handle, salt0):
    li = b""
    vals = [(58, struct.pack(">I", 1)), (59, handle), (60, bytes([192, 0, 2, 7])),
            (61, struct.pack(">I", 30000))]
    for i, (t, v) in enumerate(vals):
        li += vsa(4874, t, salt_encrypt(v, struct.pack(">H", salt0 + i), secret, vector))
    return li


def vectors():
    v = {}
    # RFC 2865 section 7.1: Access-Request and Access-Accept, secret "xyzzy5461".
    s = b"xyzzy5461"
    ra = bytes.fromhex("0f403f9473978057bd83d5cb98f4227a")
    pw = b"arctangent".ljust(16, b"\0")
    upw = bytes(x ^ y for x, y in zip(pw, md5(s, ra)))
    assert upw.hex() == "0dbe708d93d413ce3196e43f782a0aee"
    req = header(1, 0, attr(1, b"nemo") + attr(2, upw) + attr(4, bytes([192, 168, 1, 16])) +
                 attr(5, struct.pack(">I", 3)), ra)
    acc = response(2, 0, attr(6, struct.pack(">I", 1)) + attr(15, struct.pack(">I", 0)) +
                   attr(14, bytes([192, 168, 1, 3])), ra, s)
    assert acc[4:20].hex() == "86fe220e7624ba2a1005f6bf9b55e0b2"  # the RFC's value
    v["rfc_req"], v["rfc_acc"] = req, acc

    s = b"li-test-secret"
    # Accounting-Request (RFC 2866) and its Accounting-Response.
    acct = request_md5(4, 7, attr(1, b"alice") + attr(40, struct.pack(">I", 1)) +
                       attr(44, b"0A1B2C3D"), s)
    v["acct_req"] = acct
    v["acct_resp"] = response(5, 7, b"", acct[4:20], s)

    # CoA-Request: ERX LI VSAs salt-encrypted with 16 zero octets, 8-byte handle,
    # Message-Authenticator with a zero authenticator field, then the Request
    # Authenticator over the finished packet.
    attrs = attr(44, b"0A1B2C3D") + erx_li(s, ZERO, bytes.fromhex("0000030000000090"), 0x8001)
    attrs = with_msgauth(43, 9, attrs, ZERO, s)
    coa = request_md5(43, 9, attrs, s)
    v["coa_req"] = coa
    v["coa_ack"] = response(44, 9, with_msgauth(44, 9, b"", coa[4:20], s), coa[4:20], s)

    # Access-Request with a Message-Authenticator, and an Access-Accept with the
    # LI VSAs encrypted with its authenticator (4-byte handle).
    ra2 = bytes(range(0x10, 0x20))
    areq_attrs = with_msgauth(1, 3, attr(1, b"bob"), ra2, s)
    v["acc_req2"] = header(1, 3, areq_attrs, ra2)
    aattrs = with_msgauth(2, 3, erx_li(s, ra2, bytes.fromhex("40000abc"), 0x9a00), ra2, s)
    v["acc_li"] = response(2, 3, aattrs, ra2, s)

    # A bare salt-encryption vector: "hello" with salt 0x8123, R = 0x01..0x10.
    v["salt_hello"] = salt_encrypt(b"hello", b"\x81\x23", s, bytes(range(1, 17)))
    # 30 octets: two blocks.
    v["salt_two"] = salt_encrypt(bytes(range(30)), b"\xc0\x01", s, bytes(range(1, 17)))
    # Refused: "hello" followed by a non-zero padding octet; "hello" in two
    # blocks (one more than its length needs).
    r = bytes(range(1, 17))
    v["salt_badpad"] = salt_raw(b"\x05hello\x01".ljust(16, b"\0"), b"\x81\x24", s, r)
    v["salt_extra"] = salt_raw(b"\x05hello".ljust(32, b"\0"), b"\x81\x25", s, r)
    return v


def carray(name, b):
    lines = [f"static const uint8_t {name}[] = {{"]
    for i in range(0, len(b), 12):
        lines.append("    " + " ".join(f"0x{x:02x}," for x in b[i:i + 12]))
    lines.append("};")
    return "\n".join(lines)


def seeds(d):
    """Inputs of tests/fuzz/fuzz_radius.c: byte 0 is the mode (bit 0: a
    request/response pair, 2-byte length of the request first; bit 1: secret
    "xyzzy5461" instead of "li-test-secret"), then the packet(s)."""
    v = vectors()
    os.makedirs(d, exist_ok=True)
    z = ZERO
    one = {
        "acct_req": v["acct_req"],
        "coa_req": v["coa_req"],
        "acc_req2": v["acc_req2"],
        "short": v["acct_req"][:19],
        "length-small": v["acct_req"][:2] + b"\x00\x10" + v["acct_req"][4:],
        "truncated": v["acct_req"][:-1],
        "attr-header": header(4, 1, b"\x01\x03a\x05", z),
        "attr-len-1": header(4, 1, b"\x01\x01ab", z),
        "attr-overrun": header(4, 1, b"\x01\x09ab", z),
        "vsa-short": header(4, 1, attr(26, b"\0\0\x13"), z),
        "vsa-raw": header(4, 1, attr(26, b"\0\0\x01\x37\x05\x09ab"), z),
        "msgauth-len": header(1, 1, attr(80, b"short"), z),
        "msgauth-dup": header(1, 1, attr(80, z) + attr(80, z), z),
        "trailing": v["acct_req"] + b"\0\0\0",
    }
    pairs = {
        "rfc-pair": (2, v["rfc_req"], v["rfc_acc"]),
        "acct-pair": (0, v["acct_req"], v["acct_resp"]),
        "coa-pair": (0, v["coa_req"], v["coa_ack"]),
        "access-li-pair": (0, v["acc_req2"], v["acc_li"]),
    }
    for name, b in one.items():
        with open(os.path.join(d, name), "wb") as f:
            f.write(b"\x00" + b)
    for name, (mode, req, resp) in pairs.items():
        with open(os.path.join(d, name), "wb") as f:
            f.write(bytes([1 | mode]) + struct.pack(">H", len(req)) + req + resp)


def check(path):
    """Each vector appears in path as `static const uint8_t NAME[] = {...};`
    with the same octets (clang-format may have re-wrapped the lines)."""
    text = open(path).read()
    bad = 0
    for name, b in vectors().items():
        m = re.search(r"static const uint8_t %s\[\] = \{([^}]*)\};" % name, text)
        got = bytes(int(x, 16) for x in re.findall(r"0x([0-9a-f]{2})", m.group(1))) if m else None
        if got != b:
            print(f"{path}: {name} differs from the Python vector", file=sys.stderr)
            bad = 1
    return bad


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "seeds":
        seeds(sys.argv[2])
    elif len(sys.argv) == 3 and sys.argv[1] == "check":
        sys.exit(check(sys.argv[2]))
    else:
        for name, b in vectors().items():
            print(carray(name, b))
