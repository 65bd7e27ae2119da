#!/usr/bin/python3
"""The pcap generator tests/tools/sigpcap.py checked against others: known-answer
vectors from a FreeRADIUS 3.2.1 capture (secret li-test-secret), tshark (Response
Authenticators, DHCP option 82, malformed packets), scapy (DHCP), and a second,
independent implementation of the RADIUS checks written here from the RFCs
(RFC 2865 section 3 and 5.2, RFC 2866 section 3, RFC 5176 section 2.3, RFC 3579
section 3.2, RFC 2868 section 3.5)."""
import hashlib
import hmac
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sigpcap as sp  # noqa: E402

SECRET = b"li-test-secret"

# One FreeRADIUS 3.2.1 run (radclient and radiusd on loopback, secret li-test-secret):
# the UDP payloads of an Access-Request, its Access-Accept with the four ERX LI VSAs,
# and a CoA-Request with ERX-LI-Action = off.
FR_REQUEST = bytes.fromhex(
    "010e004c433801607513701cd9ca2ba41a9cbf3c0107616c6963650212eab15c"
    "6f981ad9122f3361562b74724304067f0000010506000000641f1330322d3030"
    "2d30302d30302d30302d3031")
FR_ACCEPT = bytes.fromhex(
    "020e008223fdf95f06d49b121858d3606613cc000806c6120a051a1a0000130a"
    "3a14a070aafce6175e61cbe0d98d72e8da2e1a931a1a0000130a3b14a9d434f1"
    "9ef109a376f7e42b90bfcd9bcc6a1a1a0000130a3c14b3e048bccb9d6b15787f"
    "50202ac60b35603f1a1a0000130a3d14ba93e9fc5c0cc5b14a14263d3ac1df15"
    "d49b")
FR_COA = bytes.fromhex(
    "2be100461a3615c4528a727d86a3649adc76613f2c0b736573732d3030303101"
    "07616c69636504067f0000011a1a0000130a3a1480ce013a3a3f2eac99a4dc06"
    "a5c6bff6c495")


# -- the independent checker ----------------------------------------------------------
def ip_udp(pkt):
    """(src, sport, dst, dport, payload) of an IPv4/UDP packet, else None."""
    if not pkt or pkt[0] >> 4 != 4 or pkt[9] != 17:
        return None
    ihl = (pkt[0] & 15) * 4
    sport, dport, ulen = struct.unpack("!HHH", pkt[ihl:ihl + 6])
    return (socket.inet_ntoa(pkt[12:16]), sport, socket.inet_ntoa(pkt[16:20]), dport,
            pkt[ihl + 8:ihl + ulen])


def tiles(p):
    """Do the attributes fill the packet up to Length exactly (RFC 2865 section 5)?"""
    n, i = struct.unpack("!H", p[2:4])[0], 20
    while i + 2 <= n and p[i + 1] >= 2:
        i += p[i + 1]
    return i == n


def avps(p):
    n, i, out = struct.unpack("!H", p[2:4])[0], 20, []
    while i + 2 <= n:
        out.append((p[i], p[i + 2:i + p[i + 1]]))
        i += p[i + 1]
    return out


def unsalt(v, key, r):
    """RFC 2868 section 3.5, reversed: b1 = MD5(S + R + A), b(i) = MD5(S + c(i-1))."""
    a, c = v[:2], v[2:]
    out, last = b"", r + a
    for k in range(0, len(c), 16):
        pad = hashlib.md5(key + last).digest()
        out += bytes(i ^ j for i, j in zip(c[k:k + 16], pad))
        last = c[k:k + 16]
    ok = out[0] <= len(out) - 1 and not any(out[1 + out[0]:])
    return out[1:1 + out[0]] if ok else None


def erx(p):
    """[(vendor type, value)] of every ERX (4874) sub-attribute."""
    out = []
    for t, v in avps(p):
        if t == 26 and struct.unpack("!I", v[:4])[0] == 4874:
            j = 4
            while j + 2 <= len(v):
                out.append((v[j], v[j + 2:j + v[j + 1]]))
                j += v[j + 1]
    return out


def msgauth_ok(p, field):
    """Message-Authenticator: HMAC-MD5 over the packet with `field` as authenticator and the
    attribute's value zeroed; True/False, None when absent."""
    i, n = 20, len(p)
    while i < n:
        if p[i] == 80:
            z = p[:4] + field + p[20:i + 2] + bytes(16) + p[i + 18:]
            return hmac.new(SECRET, z, hashlib.md5).digest() == p[i + 2:i + 18]
        i += p[i + 1]
    return None


class Known(unittest.TestCase):
    def test_accept_from_a_freeradius_capture(self):
        """The Access-Accept FreeRADIUS sent, rebuilt octet for octet: same salts, the
        request's authenticator as vector, Framed-IP-Address first."""
        ra = FR_REQUEST[4:20]
        li = sp.LI(sp.LI_ON, handle=bytes.fromhex("0000109200000001"), analyzer="198.18.200.1",
                   port=32000)
        vsas = b""
        for (t, v), salt in zip(li.plaintexts(), (0xa070, 0xa9d4, 0xb3e0, 0xba93)):
            vsas += sp.vsa(4874, t, sp.salt_encrypt(v, SECRET, ra, struct.pack("!H", salt)))
        attrs = sp.a_ip(sp.FRAMED_IP_ADDRESS, "198.18.10.5") + vsas
        self.assertEqual(sp.sign_response(2, FR_REQUEST[1], ra, attrs, SECRET), FR_ACCEPT)
        self.assertEqual(sp.hide_password(b"alice-pw", SECRET, ra), avps(FR_REQUEST)[1][1])

    def test_coa_from_a_freeradius_capture(self):
        attrs = sp.attr(44, b"sess-0001") + sp.attr(1, b"alice") + sp.a_ip(4, "127.0.0.1")
        attrs += sp.vsa(4874, 58, sp.salt_encrypt(struct.pack("!I", 0), SECRET, bytes(16),
                                                  b"\x80\xce"))
        self.assertEqual(sp.sign_request(43, 0xe1, attrs, SECRET), FR_COA)
        # and sigpcap's own decryption: zeros work, the on-wire authenticator does not
        v = erx(FR_COA)[0][1]
        self.assertEqual(sp.salt_decrypt(v, SECRET, bytes(16)), bytes(4))
        self.assertIsNone(sp.salt_decrypt(v, SECRET, FR_COA[4:20]))

    def test_handles(self):
        self.assertEqual(sp.handle8(0x300, 0x90).hex(), "0000030000000090")
        self.assertEqual(sp.handle4(5).hex(), "40000005")


class Demo(unittest.TestCase):
    """A file with one exchange of every kind, in both link types."""

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="sigpcap.")
        cls.files = {link: sp.demo(os.path.join(cls.dir, link + ".pcap"), link)
                     for link in ("raw", "eth")}

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def tshark(self, path, *fields, extra=()):
        if not shutil.which("tshark"):
            self.fail("tshark missing (CI must not skip: install it)")
        r = subprocess.run(["tshark", "-n", "-r", path, "-o", "radius.shared_secret:" + SECRET.decode(),
                            "-o", "radius.validate_authenticator:TRUE", *extra, "-T", "fields",
                            "-E", "separator=|", *sum((["-e", f] for f in fields), [])],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        return [ln.split("|") for ln in r.stdout.splitlines()]

    def test_tshark_validates_every_response(self):
        for link, path in self.files.items():
            rows = self.tshark(path, "radius.code", "radius.authenticator.valid",
                               "radius.authenticator.invalid", "_ws.malformed",
                               extra=("-Y", "radius"))
            codes = [int(r[0]) for r in rows if r[0]]
            self.assertEqual(codes, [1, 2, 4, 5, 1, 2, 4, 5, 43, 44, 43, 45, 4, 5, 4, 5, 40, 41, 1, 3,
                                     1], link)
            for r in rows:
                if r[0] and int(r[0]) in (2, 3, 5, 41, 44, 45):
                    self.assertEqual(r[1:3], ["1", "0"], "%s: response authenticator %r" % (link, r))
            # the malformed RADIUS packet at the end is the only one tshark flags
            self.assertEqual(len([r for r in rows if r[3]]), 1, rows)

    def test_tshark_reads_dhcp_and_option82(self):
        rows = self.tshark(self.files["eth"], "dhcp.option.dhcp", "dhcp.ip.your", "dhcp.ip.relay",
                           "dhcp.ip.client", "dhcp.option.agent_information_option.agent_circuit_id",
                           "dhcp.option.agent_information_option.agent_remote_id",
                           extra=("-Y", "dhcp"))
        z, gi, yi = "0.0.0.0", "198.18.100.1", "198.18.100.20"
        want = [["1", z, gi, z], ["2", yi, gi, z], ["3", z, gi, z], ["5", yi, gi, z],
                ["3", z, z, yi], ["5", yi, z, yi], ["7", z, z, yi], ["4", z, gi, z]]
        self.assertEqual([r[:4] for r in rows[:8]], want)
        circuit = b"eth0/1/0:100".hex()
        for i in (0, 1, 2, 3, 7):
            self.assertEqual(rows[i][4:6], [circuit, "0011223344aa"], rows[i])
        for i in (4, 5, 6):
            self.assertEqual(rows[i][4:6], ["", ""], "a unicast message carries no option 82")

    def test_scapy_reads_dhcp(self):
        code = ("import sys\nfrom scapy.all import rdpcap, DHCP, BOOTP\n"
                "for p in rdpcap(sys.argv[1]):\n"
                "    if DHCP in p:\n"
                "        o = dict(x for x in p[DHCP].options if isinstance(x, tuple))\n"
                "        print(o.get('message-type'), p[BOOTP].yiaddr,"
                " o.get('relay_agent_information', b'').hex(), o.get('lease_time'))\n")
        r = subprocess.run(["/usr/bin/python3", "-c", code, self.files["raw"]], capture_output=True,
                           text=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = r.stdout.splitlines()
        o82 = (bytes([1, 12]) + b"eth0/1/0:100" + bytes([2, 6]) + bytes.fromhex("0011223344aa")).hex()
        self.assertEqual(lines[:4], ["1 0.0.0.0 %s None" % o82, "2 198.18.100.20 %s 3600" % o82,
                                     "3 0.0.0.0 %s None" % o82, "5 198.18.100.20 %s 3600" % o82])

    def test_independent_checker(self):
        """Every request and response authenticator, the Message-Authenticators, User-Password
        and the LI VSAs (Accept: the request's authenticator; CoA: zeros) check out."""
        for link, path in self.files.items():
            pending, seen = {}, []
            for ts, pkt in sp.read_pcap(path):
                u = ip_udp(pkt)
                if u is None or not {u[1], u[3]} & {1812, 1813, 3799}:
                    continue
                src, sport, dst, dport, p = u
                if len(p) < 20 or struct.unpack("!H", p[2:4])[0] != len(p) or not tiles(p):
                    seen.append("malformed")
                    continue
                code = p[0]
                if code in (1, 4, 40, 43):
                    pending[(src, sport, p[1])] = p
                    if code != 1:
                        zeroed = p[:4] + bytes(16) + p[20:]
                        self.assertEqual(hashlib.md5(zeroed + SECRET).digest(), p[4:20])
                    self.assertIn(msgauth_ok(p, p[4:20] if code == 1 else bytes(16)), (None, True))
                    vec = bytes(16)
                else:
                    req = pending.pop((dst, dport, p[1]))
                    self.assertEqual(hashlib.md5(p[:4] + req[4:20] + p[20:] + SECRET).digest(), p[4:20])
                    self.assertIn(msgauth_ok(p, req[4:20]), (None, True))
                    vec = req[4:20]
                li = {t: unsalt(v, SECRET, vec) for t, v in erx(p)}
                seen.append((code, msgauth_ok(p, bytes(16)) is not None,
                             {t: (v.hex() if v is not None else None) for t, v in li.items()}))
            self.assertEqual(pending, {}, link)
            on = struct.pack("!I", 1).hex()
            self.assertEqual(seen[1], (2, False, {58: on, 59: "0000030000000090", 60: "7f000002",
                                                  61: struct.pack("!I", 30030).hex()}))
            self.assertEqual(seen[5], (2, True, {58: on, 59: "40000005", 60: "7f000003",
                                                 61: struct.pack("!I", 30031).hex()}))
            self.assertEqual(seen[8], (43, False, {58: "00000000"}))
            self.assertEqual(seen[10][2][59], "0000000600000007")
            self.assertEqual(seen[-1], "malformed")

    def test_the_daemons_decoder_reads_every_frame(self):
        """pkt_decode() (through tests/tools/pkt_pcapcheck.c) takes every frame of both files,
        with the addresses and ports the generator wrote."""
        tool = os.environ.get("PM_PKT_PCAPCHECK") or os.path.join(
            os.environ.get("PM_BUILD_DIR", os.path.join(os.path.dirname(__file__), "../../build")),
            "pkt_pcapcheck")
        if not os.access(tool, os.X_OK):
            self.fail("missing %s (build the target pkt_pcapcheck)" % tool)
        for link, path in self.files.items():
            out = subprocess.run([tool, path], capture_output=True, text=True, timeout=60)
            self.assertEqual(out.returncode, 0, out.stderr)
            want = []
            for _, ip in sp.read_pcap(path):
                v4 = ip[0] >> 4 == 4
                a = socket.inet_ntop(socket.AF_INET if v4 else socket.AF_INET6, ip[12:16] if v4 else ip[8:24])
                b = socket.inet_ntop(socket.AF_INET if v4 else socket.AF_INET6, ip[16:20] if v4 else ip[24:40])
                sport, dport = struct.unpack("!HH", ip[20:24] if v4 else ip[40:44])
                want.append("rc=ok src=%s dst=%s ports=%d>%d" % (a, b, sport, dport))
            got = [" ".join(w for w in ln.split() if w.split("=")[0] in ("rc", "src", "dst", "ports"))
                   for ln in out.stdout.splitlines() if ln.startswith("rc=")]
            self.assertEqual(got, want, link)

    def test_timestamps_are_the_frames(self):
        w = sp.Wire(t0=1795000000.25)
        r = sp.Radius(w, SECRET)
        s = sp.Subscriber(user="u", ip="198.18.100.9", acct_sid="1")
        a = r.login(s)
        w.advance(30.5)
        b = r.acct(s, "start")
        t = w.tick(1795000100.0)
        path = os.path.join(self.dir, "t.pcap")
        w.write(path)
        got = [ts for ts, _ in sp.read_pcap(path)]
        self.assertEqual(got, [f.ts for f in a + b + [t]])
        self.assertEqual(got, [1795000000.25, 1795000000.252, 1795000030.752, 1795000030.754,
                               1795000100.0])
        # Acct-Session-Time of a Stop: time since the Start, unless given
        st = r.acct(s, "stop", term_cause=1)
        self.assertEqual(dict(avps(st[0].payload))[46], struct.pack("!I", int(st[0].ts - b[0].ts)))


if __name__ == "__main__":
    unittest.main()
