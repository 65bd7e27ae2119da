"""The RADIUS test peers of radpeer.py, alone (no pmirrord): FreeRADIUS starts
in a namespace of the test's own and answers, radclient's Access, Accounting,
CoA and Disconnect exchanges succeed, the fake NAS answers with correct
authenticators and discards what does not verify, the analyzer listener
decodes jmirror, subscriber traffic flows on the namespace's lo.  The ERX LI
VSAs on the wire are checked here independently (hashlib): salt-encrypted
with the Access-Request's authenticator in an Access-Accept, with 16 zero
octets in a CoA-Request (RFC 2868 section 3.5; docs/radius.md), so that what
the pmirrord tests feed the daemon is what a real server sends.
"""
import hashlib
import os
import shutil
import socket
import struct
import subprocess
import tempfile
import unittest

import pmtest
import radpeer as rp
from pmtest import wait_for

SUB4, PEER4 = "198.18.10.5", "198.18.10.1"
SUB6 = "2001:2:0:6::5"


def pcap_udp(path):
    """(src, sport, dst, dport, payload) of the IPv4 UDP packets of a classic pcap (Ethernet)."""
    with open(path, "rb") as f:
        data = f.read()
    end = "<" if data[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    off = 24
    while off + 16 <= len(data):
        incl = struct.unpack(end + "IIII", data[off:off + 16])[2]
        pkt = data[off + 16:off + 16 + incl]
        off += 16 + incl
        if pkt[12:14] != b"\x08\x00":
            continue
        ip = pkt[14:]
        if ip[9] != 17:
            continue
        ihl = (ip[0] & 15) * 4
        sport, dport, ulen = struct.unpack("!HHH", ip[ihl:ihl + 6])
        yield socket.inet_ntoa(ip[12:16]), sport, socket.inet_ntoa(ip[16:20]), dport, ip[ihl + 8:ihl + ulen]


def erx_vsas(pkt):
    i = 20
    while i + 2 <= len(pkt):
        t, ln = pkt[i], pkt[i + 1]
        if ln < 2:
            break
        v = pkt[i + 2:i + ln]
        if t == 26 and len(v) > 6 and struct.unpack("!I", v[:4])[0] == 4874:
            yield v[4], v[6:6 + v[5] - 2]
        i += ln


def salt_decrypt(value, secret, vector):
    salt, c = value[:2], value[2:]
    p, prev = b"", vector + salt
    for k in range(0, len(c), 16):
        b = hashlib.md5(secret + prev).digest()
        p += bytes(x ^ y for x, y in zip(c[k:k + 16], b))
        prev = c[k:k + 16]
    n = p[0]
    return p[1:1 + n] if n <= len(p) - 1 and not any(p[1 + n:]) else None


class RadPeer(unittest.TestCase):
    def setUp(self):
        for exe in (rp.FREERADIUS, rp.RADCLIENT):
            if not os.access(exe, os.X_OK):
                self.fail("missing %s (scripts/deps installs freeradius and freeradius-utils)" % exe)
        self.dir = tempfile.mkdtemp(prefix="radpeer.")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.ns = rp.Netns()
        self.addCleanup(self.ns.delete)
        for a in (SUB4 + "/32", PEER4 + "/32", SUB6 + "/128"):
            self.ns.add_address(a)
        self.users = {
            "alice": ("alice-pw", [("Framed-IP-Address", SUB4)] + rp.li_vsas(4242, 0xbeef, port=30030)),
            "v6sub": ("v6-pw", [("Framed-IPv6-Prefix", "2001:2:0:6::/64")] + rp.li_vsas(77, None)),
            "plain": ("plain-pw", [("Framed-IP-Address", "198.18.10.7")]),
        }
        self.srv = rp.RadiusServer(self.ns, self.dir, self.users)
        self.addCleanup(self.srv.stop)

    def test_server_answers_and_stops_by_pid(self):
        self.srv.start()
        # listens on 127.0.0.1 only, in the namespace
        ss = self.ns.run(["ss", "-lunp"]).stdout
        self.assertIn("127.0.0.1:%d" % rp.AUTH_PORT, ss)
        self.assertIn("127.0.0.1:%d" % rp.ACCT_PORT, ss)
        self.assertNotIn("0.0.0.0:", ss.replace("0.0.0.0:*", ""))
        r = rp.auth(self.ns, "alice", "alice-pw", [("Calling-Station-Id", "02-00-00-00-00-01")])
        rp.assert_ok(self, r, "auth")
        self.assertIn("Received Access-Accept", r.stdout)
        self.assertIn("from 127.0.0.2:", r.stdout)
        for want in ("Framed-IP-Address = %s" % SUB4, "ERX-LI-Action = on",
                     "ERX-Med-Dev-Handle = 0x000010920000beef", "ERX-Med-Ip-Address = 127.0.0.3",
                     "ERX-Med-Port-Number = 30030"):
            self.assertIn(want, r.stdout)
        # a text attribute of digits stays text (the 4-byte handle's session ID source)
        r = rp.auth(self.ns, "alice", "alice-pw", [("Acct-Session-Id", "12345678901")])
        rp.assert_ok(self, r, "auth with Acct-Session-Id")
        self.assertIn('Acct-Session-Id = "12345678901"', r.stdout)
        r = rp.auth(self.ns, "v6sub", "v6-pw")
        rp.assert_ok(self, r, "auth v6")
        self.assertIn("Framed-IPv6-Prefix = 2001:2:0:6::/64", r.stdout)
        self.assertIn("ERX-Med-Dev-Handle = 0x4000004d", r.stdout)
        # a wrong password: Access-Reject with no reply item
        r = rp.auth(self.ns, "alice", "wrong", reject=True)
        rp.assert_ok(self, r, "reject")
        self.assertRegex(r.stdout, r"Received Access-Reject Id \d+ .* length 20\b")
        self.assertNotEqual(rp.auth(self.ns, "alice", "wrong").returncode, 0)
        for status, extra in (("Start", []), ("Interim-Update", [("Acct-Session-Time", "10")]),
                              ("Stop", [("Acct-Session-Time", "42"), ("Acct-Terminate-Cause", "User-Request")])):
            rp.assert_ok(self, rp.acct(self.ns, status, "alice", "sess-0001",
                                       [("Framed-IP-Address", SUB4)] + extra), status)
        self.assertEqual(self.srv.stop(), 0)
        self.assertIsNotNone(self.srv.proc.poll())

    def test_coa_disconnect_fake_nas_and_replay(self):
        self.srv.start()
        nas = rp.FakeNas(self.ns, self.dir)
        self.addCleanup(nas.stop)
        off = [("Acct-Session-Id", "sess-0001"), ("NAS-IP-Address", rp.NAS), ("ERX-LI-Action", "off")]
        r = rp.coa(self.ns, off)
        rp.assert_ok(self, r, "coa")
        self.assertIn("Received CoA-ACK", r.stdout)
        self.assertIn("from 127.0.0.1:", r.stdout)
        # a wrong secret: the NAS discards it (no answer, rc 1)
        r = rp.coa(self.ns, off, secret="not-the-secret", timeout=0.5)
        self.assertEqual(r.returncode, 1)
        r = rp.disconnect(self.ns, [("Acct-Session-Id", "sess-0001"), ("NAS-IP-Address", rp.NAS)])
        rp.assert_ok(self, r, "disconnect")
        self.assertIn("Received Disconnect-ACK", r.stdout)
        reqs = wait_for(lambda: len(nas.requests()) == 3 and nas.requests(), 5, what="three requests")
        self.assertEqual([(c, src, ok) for c, _, src, _, ok, _ in reqs],
                         [(43, rp.SERVER, True), (43, rp.SERVER, False), (40, rp.SERVER, True)])
        self.assertEqual(len(nas.answers()), 2)
        # the same octets again: the NAS (a real one too) answers; the authenticator is unchanged
        ans = rp.send_raw(self.ns, rp.SERVER, rp.NAS, rp.COA_PORT, reqs[0][5])
        self.assertEqual(ans[:2], "2c", ans)   # CoA-ACK
        wait_for(lambda: len(nas.requests()) == 4, 5, what="the replay at the NAS")
        self.assertEqual(nas.requests()[3][5], reqs[0][5])

    def test_nak_mode(self):
        nas = rp.FakeNas(self.ns, self.dir, nak=True)
        self.addCleanup(nas.stop)
        r = rp.coa(self.ns, [("Acct-Session-Id", "s"), ("ERX-LI-Action", "on")])
        self.assertEqual(r.returncode, 1)
        self.assertIn("Received CoA-NAK", r.stdout)

    def test_vsas_on_the_wire(self):
        """dumpcap in the namespace; the VSAs decrypt with the vectors docs/radius.md names."""
        self.srv.start()
        nas = rp.FakeNas(self.ns, self.dir)
        self.addCleanup(nas.stop)
        pcap = os.path.join(self.dir, "wire.pcap")
        log = os.path.join(self.dir, "tcpdump.out")
        # dumpcap (Wireshark's, as test_capsrc.py uses it): four packets, then it ends
        td = self.ns.popen(["dumpcap", "-i", "lo", "-P", "-c", "4", "-w", pcap, "-f",
                            "udp port %d or udp port %d" % (rp.AUTH_PORT, rp.COA_PORT)], log)
        self.addCleanup(rp.stop_pid, td)
        wait_for(lambda: "Capturing on" in pmtest.read_text(log), 20, what="dumpcap")
        rp.assert_ok(self, rp.auth(self.ns, "alice", "alice-pw"), "auth")
        on = [("Acct-Session-Id", "sess-0001")] + rp.li_vsas(4242, 2, port=30031)
        rp.assert_ok(self, rp.coa(self.ns, on), "coa")
        self.assertEqual(td.wait(20), 0, pmtest.read_text(log))
        pk = list(pcap_udp(pcap))
        secret = rp.SECRET.encode()
        req = [p for p in pk if p[4][0] == 1][0][4]
        acc = [p for p in pk if p[4][0] == 2][0][4]
        coa = [p for p in pk if p[4][0] == 43][0][4]
        got = {t: salt_decrypt(v, secret, req[4:20]) for t, v in erx_vsas(acc)}
        self.assertEqual(got, {58: b"\0\0\0\1", 59: bytes.fromhex("000010920000beef"),
                               60: socket.inet_aton("127.0.0.3"), 61: struct.pack("!I", 30030)})
        got = {t: salt_decrypt(v, secret, bytes(16)) for t, v in erx_vsas(coa)}
        self.assertEqual(got, {58: b"\0\0\0\1", 59: bytes.fromhex("0000109200000002"),
                               60: socket.inet_aton("127.0.0.3"), 61: struct.pack("!I", 30031)})
        # the CoA's own authenticator is not the vector
        self.assertIsNone(salt_decrypt(dict(erx_vsas(coa))[59], secret, coa[4:20]))

    def test_listener_and_subscriber_traffic(self):
        lis = rp.JmListener(self.ns, self.dir, "127.0.0.3:30030", "127.0.0.3:30031", "[::1]:30032")
        self.addCleanup(lis.stop)
        inner = subprocess.run([rp.PY, "-c", "import sys;from scapy.all import IP,UDP,raw;"
                                "sys.stdout.write(raw(IP(src='%s',dst='%s')/UDP(sport=7,dport=5000)/b'mark 0').hex())"
                                % (SUB4, PEER4)], capture_output=True, text=True).stdout
        jm = struct.pack("!II", 4242, 0xbeef) + bytes.fromhex(inner)
        self.ns.run([rp.PY, "-c", "import socket,sys;s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM);"
                     "s.sendto(bytes.fromhex(sys.argv[1]),('127.0.0.3',30031))", jm.hex()])
        d = wait_for(lambda: lis.datagrams(30031), 5, what="the jmirror datagram")[0]
        self.assertEqual((d.version, d.mid, d.sid), (0, 4242, 0xbeef))
        self.assertEqual(d.inner_udp(), (SUB4, PEER4, 7, 5000, b"mark 0"))
        self.assertEqual(len(lis.marked(b"mark", 30031)), 1)
        # subscriber addresses on the namespace's lo, IPv4 and IPv6
        rp.send_udp(self.ns, SUB4, "127.0.0.3", "v4", count=3, port=30030)
        rp.send_udp(self.ns, SUB6, "::1", "v6", count=1, port=30032)
        wait_for(lambda: len(lis.datagrams(30030)) == 3, 5, what="three datagrams")
        d = wait_for(lambda: lis.datagrams(30032), 5, what="the IPv6 datagram")[0]
        self.assertEqual((d.peer, d.data), (SUB6, b"v6 0"))


if __name__ == "__main__":
    unittest.main()
