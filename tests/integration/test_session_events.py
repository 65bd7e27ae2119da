"""Every row of the event table (README, "Sessions and events"; docs/sessions.md) from
signalling replayed out of a pcap file.

Each test writes a pcap with tests/tools/sigpcap.py (RADIUS with real authenticators and
salt-encrypted ERX LI VSAs, relayed DHCPv4 with option 82, data, explicit packet times),
starts snmptrapd (decoding with Juniper-PACKET-MIRROR-MIB) and pmirrord with
`capture pcap:FILE pace fast`, the radiusServer/dhcpServer/mirror lines of the case and one
trapHost, and checks the notifications that arrive: exactly the expected ones, in order,
each with every varbind value, and no other.

How "no other" is known without sleeping: every file ends with the login of a marker
subscriber whose Access-Accept carries LI VSAs (mirror ID MARK_ID; RADIUS-provisioned, so
it depends on no trigger table); notifications leave in the order of their events, so when
the marker's SessionStart is at snmptrapd everything the file caused before it is there
too.  Times are packet times: a "tick" datagram moves the
daemon's packet clock (sessionStartTimeout, lease expiry, warrant windows) without wall
time passing.  Analyzers are 127.0.0.x only.
"""
import calendar
import ipaddress
import os
import re
import socket
import struct
import subprocess
import sys
import time
import unittest

import pmtest
import test_capsrc as capsrc
import test_notify as tn
from pmtest import wait_for

sys.path.insert(0, os.path.join(pmtest.SRC, "tests", "tools"))
import sigpcap as sp  # noqa: E402

SECRET = "rows-radius-secret"
NAS, SERVER = "198.18.0.2", "198.18.0.9"
DHCP_SERVER, RELAY, GIADDR = "198.18.1.2", "198.18.1.1", "198.18.100.1"
PEER = "198.51.100.7"                      # the far end of subscribers' data
AN1, AN2, AN3 = "127.0.0.2", "127.0.0.3", "127.0.0.4"
MARK_ID = 999999
MARK_USER = "zz-marker"
MARK_AN = "127.0.0.9"

M = "Juniper-PACKET-MIRROR-MIB::juniPacketMirror"
SHORT = {v: k for k, v in tn.ABBR.items()}          # "DateAndTime" -> "DT"
NAME = {v[0]: k for k, v in tn.TRAPS.items()}       # "SessionStart" -> 5

CS = {0: "radiusLogin(0)", 1: "radiusCoa(1)", 2: "cliTrigger(2)", 3: "cliStatic(3)"}
TT = {0: "interfaceString(0)", 1: "ipAddress(1)", 2: "nasPortId(2)", 3: "username(3)",
      4: "callingStationId(4)", 5: "acctSessionId(5)", 6: "dhcpOption82(6)", 7: "agentCircuitId(7)",
      8: "agentRemoteId(8)"}
EC = {1: "noResourcesAvailable(1)", 4: "invalidAnalyzerAddress(4)", 5: "noSuchUserOrInterface(5)",
      7: "missingOrInvalidAttribute(7)"}
TRM = {0: "genericFailure(0)", 1: "userRequest(1)", 4: "idleTimeout(4)", 5: "sessionTimeout(5)",
       6: "adminReset(6)", 17: "userError(17)"}
INGRESS, EGRESS = "ingress(0)", "egress(1)"
ANY = object()          # a varbind that must be there, with a value of its type


def u32(addr):
    return int(ipaddress.IPv4Address(addr))


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def sid_from_acct_session_id(s):
    """SessionIdentifier from Acct-Session-Id: all decimal digits: the value mod 2^32; all hex
    digits: the last 8 of them; otherwise its last 4 octets, big-endian (written out here
    independently of the daemon)."""
    if s.isdigit():
        return int(s) % (1 << 32)
    if all(c in "0123456789abcdefABCDEF" for c in s):
        return int(s[-8:], 16)
    b = s.encode()[-4:]
    return int.from_bytes(bytes(4 - len(b)) + b, "big")


# -- reading what snmptrapd logged ---------------------------------------------------
def parse_value(v):
    """'TYPE: value' as snmptrapd prints it -> a python value."""
    typ, _, val = v.partition(": ")
    if typ == "Gauge32" or typ == "Unsigned32":
        return int(val)
    if typ == "INTEGER":
        return val
    if typ == "IpAddress":
        return val
    if typ == "Hex-STRING":
        return bytes.fromhex(val.replace(" ", ""))
    if typ == "STRING":
        if val.startswith('"') and val.endswith('"'):
            val = val[1:-1]
        return val.encode()
    if v == '""':
        return b""
    return v


def date_and_time(b):
    """DateAndTime as Net-SNMP prints it with the MIB (2026-11-27,13:5:0.3,+0:0) -> seconds."""
    m = re.match(rb"^(\d+)-(\d+)-(\d+),(\d+):(\d+):(\d+)\.(\d),([+-])(\d+):(\d+)$", b)
    if not m:
        raise AssertionError("not a DateAndTime: %r" % b)
    y, mo, d, h, mi, s, ds = (int(x) for x in m.groups()[:7])
    off = (int(m.group(9)) * 3600 + int(m.group(10)) * 60) * (1 if m.group(8) == b"+" else -1)
    return calendar.timegm((y, mo, d, h, mi, s)) + ds / 10.0 - off


def decode(line):
    """(notification name, {short name: value}) of one snmptrapd line."""
    _, vbs = tn.varbinds(line)
    trap, out = None, {}
    for name, val in vbs:
        if name == "SNMPv2-MIB::snmpTrapOID.0":
            trap = val.split(M, 1)[1]
        elif name.startswith(M) and name.endswith(".0"):
            out[SHORT[name[len(M):-2]]] = parse_value(val)
    return trap, out


def ev(trap, **want):
    """An expected notification: its name and the values (DT a packet time or a (lo, hi)
    range; ANY: present)."""
    return (trap, want)


class Session:
    """The varbinds a session's notifications share."""

    def __init__(self, cs, tt, tr, rid, mid, sid, an, tip="0.0.0.0", direction=INGRESS):
        self.v = dict(CS=CS[cs], TT=TT[tt], TR=tr, RID=rid, MID=mid, SID=sid, PN="spl_%08x" % mid,
                      PID=mid, DIR=direction, TIP=tip, AA=an)

    def ev(self, trap, dt, **more):
        objs = tn.TRAPS[NAME[trap]][1]
        v = {k: x for k, x in self.v.items() if k in objs}
        v.update(more)
        v["DT"] = dt
        if "AN" in objs:
            v.setdefault("AN", "policyManager(0)")
            v.setdefault("ES", ANY)
        return ev(trap, **v)


class RowsCase(tn.NotifyCase):
    """A private world per test: snmptrapd with the MIB, pmirrord replaying one pcap."""

    def setUp(self):
        super().setUp()
        self.t0 = float(int(time.time()) - 100)   # packet times: the recent past
        self.w = sp.Wire(t0=self.t0)
        self.r = sp.Radius(self.w, SECRET, nas=NAS, server=SERVER)
        self.d = sp.Dhcp(self.w, server=DHCP_SERVER, relay=RELAY, giaddr=GIADDR)
        # identities must not reach the ordinary log; the RADIUS server's address may
        self.env.secrets.update({"alice", "bob", "carol", "dave", "eth0/1/0:", MARK_USER})
        self.env.secrets.discard(SERVER)
        self.mark = sp.Subscriber(user=MARK_USER, csid="02-00-00-00-ff-ff", ip="198.18.100.250",
                                  acct_sid="9999")

    # -- running ---------------------------------------------------------------------
    def conf(self, pcap, extra):
        return "\n".join([
            "trapEnable true",
            self.env.trap_host(),
            "capture pcap:%s pace fast" % pcap,
            "radiusServer %s secret %s" % (SERVER, SECRET),
            "dhcpServer %s" % DHCP_SERVER,
            extra, ""])

    def end_with_marker(self):
        self.w.advance(1)
        self.r.login(self.mark, li=sp.LI(mirror_id=MARK_ID, session_id=1, analyzer=MARK_AN, port=30099))
        self.r.acct(self.mark, "start")
        return self.w.frames[-1].ts

    def check_pcap(self, path, invalid=0):
        """tshark pairs every RADIUS response with its request and finds its Response
        Authenticator right (but for `invalid` of them, signed with another secret): what the
        daemon is given is correct RADIUS."""
        r = subprocess.run(["tshark", "-n", "-r", path, "-o", "radius.shared_secret:" + SECRET,
                            "-o", "radius.validate_authenticator:TRUE", "-Y", "radius", "-T", "fields",
                            "-E", "separator=|", "-e", "radius.code", "-e", "radius.authenticator.valid"],
                           capture_output=True, text=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)
        verdicts = [ln.split("|")[1] for ln in r.stdout.splitlines()
                    if ln.split("|")[0].isdigit() and int(ln.split("|")[0]) in sp.RESPONSES]
        self.assertEqual((verdicts.count("1"), verdicts.count("0")),
                         (len(verdicts) - invalid, invalid), "tshark's verdicts on the responses")

    def replay(self, extra="", marker=True, invalid=0):
        """Writes the pcap (with the marker login at the end), checks it with tshark, starts
        the world, returns the notifications before the marker's, decoded.
        PM_ROWS_PCAP_ONLY=1: stop after the check (the generator alone, no daemon).
        PM_ROWS_PACE=recorded: see below."""
        if marker:
            self.mark_ts = self.end_with_marker()
        conf = self.conf("@PCAP@", extra)
        wait = 30
        if os.environ.get("PM_ROWS_PACE") == "recorded":
            # diagnosis: a 3 s head start (a datagram 3 s before the first packet), then the
            # file in recorded time; for a daemon whose configuration's rules are in force
            # only some time after it starts reading
            self.w.add_ip(sp.udp_packet("198.18.254.1", 9, "198.18.254.2", 9, b"head"), "head",
                          ts=min(f.ts for f in self.w.frames) - 3)
            conf = conf.replace("pace fast", "pace recorded")
            wait += max(f.ts for f in self.w.frames) - min(f.ts for f in self.w.frames)
        pcap = self.w.write(self.env.path("signalling.pcap"))
        self.check_pcap(pcap, invalid)
        if os.environ.get("PM_ROWS_PCAP_ONLY"):
            raise unittest.SkipTest("PM_ROWS_PCAP_ONLY: the pcap is right; no daemon")
        self.start_trapd_with_mibs("snmptrapd", self.env.trap_port)
        self.env.start_pmirrord(conf.replace("@PCAP@", pcap))
        if not marker:
            return None
        return self.until_marker(timeout=wait)

    def lines(self):
        return [decode(ln) for ln in self.env.trap_lines()]

    def until_marker(self, n=1, timeout=30):
        """The notifications before the n-th marker notification (MID or PolicyId MARK_ID)."""
        def marked():
            got = self.lines()
            idx = [i for i, (_, v) in enumerate(got) if MARK_ID in (v.get("MID"), v.get("PID"))]
            if len(idx) >= n:
                return got[:idx[n - 1]], got[idx[n - 1]]
            self.assertAlive()
            return None
        try:
            before, mark = wait_for(marked, timeout, what="the marker notification")
        except AssertionError:
            raise AssertionError("no marker; notifications: %r\n--- pmirrord:\n%s" % (
                self.lines(), self.env.read_log("pmirrord")[-3000:]))
        return [x for x in before if MARK_ID not in (x[1].get("MID"), x[1].get("PID"))]

    def ctl(self, *words):
        r = self.env.ctl(*words, secret=pmtest.MIRROR_SECRET)
        return r

    # -- checking ----------------------------------------------------------------------
    def assertEvents(self, got, want):
        names = [g[0] for g in got]
        self.assertEqual(names, [w[0] for w in want], "notifications: %r" % got)
        for (name, vals), (wname, wvals) in zip(got, want):
            objs = tn.TRAPS[NAME[name]][1]
            self.assertEqual(sorted(vals), sorted(objs), "%s: varbinds" % name)
            for k in objs:
                self.assertIn(k, wvals, "%s: the test gives no %s" % (name, k))
                self.assertValue(name, k, vals[k], wvals[k])

    def assertValue(self, trap, k, got, want):
        what = "%s %s: %r, want %r" % (trap, tn.ABBR[k], got, want)
        if want is ANY:
            self.assertIsNotNone(got, what)
            if k == "ES":
                self.assertTrue(got, what)
            return
        if k == "DT":
            t = date_and_time(got)
            lo, hi = want if isinstance(want, tuple) else (want, want)
            # DateAndTime holds deciseconds
            self.assertTrue(lo - 0.15 <= t <= hi + 0.15, "%s (%.2f not in %.2f..%.2f)" % (what, t, lo, hi))
            return
        if isinstance(want, (set, frozenset)):
            self.assertIn(got, {w.encode() if isinstance(w, str) and isinstance(got, bytes) else w
                                for w in want}, what)
            return
        if isinstance(want, str) and isinstance(got, bytes):
            want = want.encode()
        self.assertEqual(got, want, what)

    def mirror_stats(self):
        j = self.env.ctl_json("show", "mirror", "statistics")
        return [(c["source"], c["counter"], c["value"]) for c in j.get("counters", [])]

    def counter(self, proto, name):
        """A RADIUS or DHCP counter of `show mirror statistics`, whatever row it is in: a
        source named after the protocol with the counter `name`, or a counter `proto_name`."""
        total, found = 0, False
        for src, c, v in self.mirror_stats():
            if (proto in src.lower() and c == name) or c == "%s_%s" % (proto, name):
                total, found = total + v, True
        return total if found else None

    def assertCounter(self, proto, name, want, at_least=False):
        """The counter reaches want (or at least want) within 5 s: the capture process sends
        its counters about once a second."""
        def ok():
            v = self.counter(proto, name)
            return v is not None and (v >= want if at_least else v == want)
        try:
            wait_for(ok, 5, interval=0.2, what="%s %s %s%d" % (proto, name, ">= " if at_least else "", want))
        except AssertionError:
            raise AssertionError("%s %s is %r, want %s%d; counters: %r" % (
                proto, name, self.counter(proto, name), ">= " if at_least else "", want, self.mirror_stats()))


# ========================================================================================
class TestSessionStart(RowsCase):
    def test_login_with_li_vsas_one_event(self):
        """Access-Accept with a framed address and the LI VSAs (8-byte handle), then
        Accounting-Start and an Interim-Update: one SessionStart at the Accept's time,
        radiusLogin, trigger = the first of the Access-Request's attributes in JUNOSe
        precedence (Calling-Station-Id: no Acct-Session-Id in the request)."""
        alice = sp.Subscriber(user="alice", csid="02-00-00-00-00-01", ip="198.18.100.10",
                              acct_sid="4711", nas_port_id="eth0/1/0:100")
        acc = self.r.login(alice, li=sp.LI(mirror_id=0x300, session_id=0x90, analyzer=AN1,
                                           port=30030))
        self.w.advance(0.5)
        self.r.acct(alice, "start")
        self.w.advance(30)
        self.r.acct(alice, "interim")
        got = self.replay()
        s = Session(0, 4, "02-00-00-00-00-01", u32(NAS), 0x300, 0x90, AN1, tip="198.18.100.10")
        self.assertEvents(got, [s.ev("SessionStart", acc[1].ts)])

    def test_login_without_framed_address_starts_at_accounting_start(self):
        """No Framed-IP-Address in the Accept: the session starts with the Accounting-Start
        that carries it (joined by NAS-IP-Address, NAS-Port and User-Name: the Access-Request
        has no Acct-Session-Id); 4-byte handle: SessionIdentifier from Acct-Session-Id."""
        bob = sp.Subscriber(user="bob", ip="198.18.100.11", acct_sid="4294967301", nas_port=7)
        self.r.login(bob, framed=False, li=sp.LI(mirror_id=17, short=True, analyzer=AN2, port=30031))
        self.w.advance(2)
        st = self.r.acct(bob, "start")
        got = self.replay()
        s = Session(0, 3, "bob", u32(NAS), 17, 5, AN2, tip="198.18.100.11")
        self.assertEvents(got, [s.ev("SessionStart", st[1].ts)])

    def test_message_authenticator_and_router_id_from_the_source(self):
        """requireMessageAuthenticator on: a login with Message-Authenticators counts, one
        without is refused.  RouterId: NAS-IP-Address when there is one (even if it is not the
        source address), else the NAS's source address."""
        ma = sp.Radius(self.w, SECRET, nas=NAS, server=SERVER, msgauth=True)
        carol = sp.Subscriber(user="carol", ip="198.18.100.12", acct_sid="c1", nas_ip=False)
        dave = sp.Subscriber(user="dave", ip="198.18.100.13", acct_sid="d1")
        self.r.login(dave, li=sp.LI(mirror_id=18, session_id=1, analyzer=AN1, port=30030))
        self.w.advance(1)
        acc = ma.login(carol, li=sp.LI(mirror_id=19, session_id=2, analyzer=AN1, port=30030))
        ma.acct(carol, "start")
        self.w.advance(1)
        erin = sp.Subscriber(user="erin", ip="198.18.100.14", acct_sid="e1", nas_ip="198.18.7.7")
        acc_e = ma.login(erin, li=sp.LI(mirror_id=20, session_id=3, analyzer=AN1, port=30030))
        ma.acct(erin, "start")
        self.r = ma                                   # the marker signs too
        got = self.replay("requireMessageAuthenticator on")
        self.assertEvents(got, [
            Session(0, 3, "carol", u32(NAS), 19, 2, AN1, tip=carol.ip).ev("SessionStart", acc[1].ts),
            Session(0, 3, "erin", u32("198.18.7.7"), 20, 3, AN1, tip=erin.ip).ev("SessionStart", acc_e[1].ts)])
        self.assertCounter("radius", "msgauth_missing", 1, at_least=True)

    def test_session_identifier_derivations(self):
        """4-byte handles: from Acct-Session-Id in the Access-Request (all digits: mod 2^32;
        all hex digits: the last 8; otherwise the last 4 octets); a trigger's `session` wins."""
        cases = [("u1", "12345678901234567890"), ("u2", "00A1B2C3D4"), ("u3", "sess-ABCD"),
                 ("u4", "ab")]
        want = []
        for i, (user, asid) in enumerate(cases):
            sub = sp.Subscriber(user=user, ip="198.18.101.%d" % (i + 1), acct_sid=asid,
                                request_acct_sid=True)
            acc = self.r.login(sub, li=sp.LI(mirror_id=100 + i, short=True, analyzer=AN1, port=30030))
            self.r.acct(sub, "start")
            s = Session(0, 5, asid, u32(NAS), 100 + i, sid_from_acct_session_id(asid), AN1,
                        tip=sub.ip)
            want.append(s.ev("SessionStart", acc[1].ts))
            self.w.advance(1)
        self.assertEqual([w[1]["SID"] for w in want], [12345678901234567890 % (1 << 32), 0xA1B2C3D4,
                                                        0x41424344, 0xab])
        eve = sp.Subscriber(user="eve", ip="198.18.101.9", acct_sid="77")
        self.r.login(eve)
        st = self.r.acct(eve, "start")
        want.append(Session(2, 3, "eve", u32(NAS), 120, 4242, AN2, tip=eve.ip).ev("SessionStart",
                                                                                    st[1].ts))
        got = self.replay("mirror username eve analyzer %s:30030 id 120 session 4242" % AN2)
        self.assertEvents(got, want)

    def test_cli_triggers_of_every_radius_type(self):
        """Config triggers on each RADIUS identity (JUNOSe keywords and MIB labels, text and
        0x octets, an address prefix): cliTrigger, the trigger's type and value, direction."""
        subs = [
            ("username", "alice", sp.Subscriber(user="alice", ip="198.18.102.1", acct_sid="11")),
            ("calling-station-id", "02-00-00-00-00-22",
             sp.Subscriber(user="bob", csid="02-00-00-00-00-22", ip="198.18.102.2", acct_sid="12")),
            ("acctSessionId", "0x4153494431",     # "ASID1"
             sp.Subscriber(user="carol", ip="198.18.102.3", acct_sid="ASID1")),
            ("nas-port-id", "eth0/2/0:7",
             sp.Subscriber(user="dave", ip="198.18.102.4", acct_sid="14", nas_port_id="eth0/2/0:7")),
            ("ipAddress", "198.18.103.0/24", sp.Subscriber(user="erin", ip="198.18.103.5", acct_sid="15")),
        ]
        types = {"username": 3, "calling-station-id": 4, "acctSessionId": 5, "nas-port-id": 2,
                 "ipAddress": 1}
        conf, want = [], []
        for i, (typ, value, sub) in enumerate(subs):
            sub.request_acct_sid = True   # SessionIdentifier from Acct-Session-Id at the Accept
            mid = 200 + i
            direction = ("ingress", "egress", "both")[i % 3]
            conf.append("mirror %s %s analyzer %s:3003%d id %d direction %s" % (typ, value, AN2, i, mid,
                                                                              direction))
            self.r.login(sub)
            st = self.r.acct(sub, "start")
            tr = {"acctSessionId": {"0x4153494431", "ASID1"}}.get(typ, value)
            want.append(Session(2, types[typ], tr, u32(NAS), mid, sid_from_acct_session_id(
                sub.acct_sid.decode()), AN2, tip=sub.ip,
                direction=EGRESS if direction == "egress" else INGRESS).ev("SessionStart", st[1].ts))
            self.w.advance(1)
        # nobody else is a target
        other = sp.Subscriber(user="frank", csid="02-00-00-00-00-99", ip="198.18.104.1", acct_sid="99")
        self.r.login(other)
        self.r.acct(other, "start")
        got = self.replay("\n".join(conf))
        self.assertEvents(got, want)

    def test_mirrors_the_subscribers_packets(self):
        """After SessionStart the target's packets, both ways, reach the analyzer behind the
        8-byte jmirror header (mirror ID, session ID); a neighbour's do not."""
        rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        rx.bind((AN1, 0))
        port = rx.getsockname()[1]
        self.addCleanup(rx.close)
        alice = sp.Subscriber(user="alice", ip="198.18.100.10", acct_sid="1")
        self.r.login(alice, li=sp.LI(mirror_id=0x301, session_id=0x91, analyzer=AN1, port=port))
        self.r.acct(alice, "start")
        up = self.w.data(alice.ip, PEER, count=3)
        down = self.w.data(PEER, alice.ip, count=2, sport=5001, dport=40000)
        self.w.data("198.18.100.99", PEER, count=2)
        self.replay()
        rx.settimeout(10)
        got = []
        while len(got) < 5:
            got.append(rx.recv(65535))
        self.assertEqual([g[:8] for g in got], [struct.pack("!II", 0x301, 0x91)] * 5)
        self.assertEqual([g[8:] for g in got], [f.ip for f in up + down])
        rx.settimeout(0.3)
        with self.assertRaises(socket.timeout):
            rx.recv(65535)


    def analyzer(self, addr):
        rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        rx.bind((addr, 0))
        rx.settimeout(10)
        self.addCleanup(rx.close)
        return rx, rx.getsockname()[1]

    def test_ipv6_subscriber(self):
        """A subscriber with a Framed-IPv6-Prefix and no IPv4 address is tracked, targeted
        (TargetIpAddress 0.0.0.0: the MIB has no IPv6) and its IPv6 packets are mirrored."""
        rx, port = self.analyzer(AN1)
        v6 = sp.Subscriber(user="ivy", csid="02-00-00-00-00-61", ipv6_prefix="2001:db8:61:100::/56",
                           acct_sid="61")
        acc = self.r.login(v6, li=sp.LI(mirror_id=0x361, session_id=0x61, analyzer=AN1, port=port))
        st = self.r.acct(v6, "start")
        up = self.w.data("2001:db8:61:100::5", "2001:db8:ffff::1", count=2)
        self.w.data("2001:db8:62::5", "2001:db8:ffff::1", count=1)            # not hers
        got = self.replay()
        s = Session(0, 4, v6.csid, u32(NAS), 0x361, 0x61, AN1, tip="0.0.0.0")
        self.assertEvents(got, [s.ev("SessionStart", (acc[1].ts, st[1].ts))])
        data = [rx.recv(65535) for _ in up]
        self.assertEqual(data, [struct.pack("!II", 0x361, 0x61) + f.ip for f in up])

    def test_two_intercepts_on_one_subscriber(self):
        """Different mirror IDs on one subscriber (RADIUS at login, a config trigger): both
        start, both analyzers get every packet."""
        rx1, p1 = self.analyzer(AN1)
        rx2, p2 = self.analyzer(AN2)
        alice = sp.Subscriber(user="alice", csid="02-00-00-00-00-01", ip="198.18.100.10",
                              acct_sid="4711", request_acct_sid=True)
        acc = self.r.login(alice, li=sp.LI(mirror_id=0x370, session_id=0x70, analyzer=AN1, port=p1))
        self.r.acct(alice, "start")
        up = self.w.data(alice.ip, PEER, count=2)
        got = self.replay("mirror username alice analyzer %s:%d id 881 session 71" % (AN2, p2))
        got.sort(key=lambda g: g[1].get("MID", 0))
        self.assertEvents(got, [   # by mirror ID: 0x370 = 880, then 881
            Session(0, 5, "4711", u32(NAS), 0x370, 0x70, AN1, tip=alice.ip).ev("SessionStart", acc[1].ts),
            Session(2, 3, "alice", u32(NAS), 881, 71, AN2, tip=alice.ip).ev("SessionStart", acc[1].ts)])
        self.assertEqual([rx1.recv(65535) for _ in up], [struct.pack("!II", 0x370, 0x70) + f.ip for f in up])
        self.assertEqual([rx2.recv(65535) for _ in up], [struct.pack("!II", 881, 71) + f.ip for f in up])


class TestSessionEnd(RowsCase):
    def test_accounting_stop_terminate_cause(self):
        """SessionEnd with Acct-Terminate-Cause (1-22 as is, anything else genericFailure)."""
        a = sp.Subscriber(user="alice", csid="02-00-00-00-00-01", ip="198.18.100.10", acct_sid="21")
        b = sp.Subscriber(user="bob", csid="02-00-00-00-00-02", ip="198.18.100.11", acct_sid="22")
        want = []
        for sub, mid, cause in ((a, 300, 4), (b, 301, 99)):
            acc = self.r.login(sub, li=sp.LI(mirror_id=mid, session_id=mid + 1, analyzer=AN1, port=30030))
            self.r.acct(sub, "start")
            s = Session(0, 4, sub.csid, u32(NAS), mid, mid + 1, AN1, tip=sub.ip)
            want.append(s)
            want.append(acc[1].ts)
        self.w.advance(120)
        st_a = self.r.acct(a, "stop", term_cause=4)
        self.w.advance(1)
        st_b = self.r.acct(b, "stop", term_cause=99)
        got = self.replay()
        sa, ta, sb, tb = want
        self.assertEvents(got, [sa.ev("SessionStart", ta), sb.ev("SessionStart", tb),
                                sa.ev("SessionEnd", st_a[1].ts, TRM=TRM[4]),
                                sb.ev("SessionEnd", st_b[1].ts, TRM=TRM[0])])

    def dhcp_target(self, lease=86400):
        c = sp.DhcpClient("02:00:00:00:00:21", "198.18.100.20", circuit="eth0/1/0:100",
                          remote=bytes.fromhex("0011223344aa"), lease=lease)
        conf = "mirror agentCircuitId eth0/1/0:100 analyzer %s:30030 id 400 session 9" % AN1
        s = Session(2, 7, "eth0/1/0:100", u32(GIADDR), 400, 9, AN1, tip=c.ip)
        return c, conf, s

    def test_dhcp_release(self):
        c, conf, s = self.dhcp_target()
        ack = self.d.bind(c)
        self.w.advance(10)
        self.d.renew(c)                                # a renewal changes nothing
        self.w.advance(10)
        rel = self.d.release(c)
        got = self.replay(conf)
        self.assertEvents(got, [s.ev("SessionStart", ack[-1].ts),
                                s.ev("SessionEnd", rel[0].ts, TRM=TRM[1])])

    def test_dhcp_lease_expiry_in_packet_time(self):
        c, conf, s = self.dhcp_target(lease=60)
        ack = self.d.bind(c)
        end = ack[-1].ts + 60
        self.w.tick(end - 5)                           # not yet
        self.w.tick(end + 0.5)                         # the packet clock passes the lease's end
        got = self.replay(conf)
        self.assertEvents(got, [s.ev("SessionStart", ack[-1].ts),
                                s.ev("SessionEnd", (end, end + 0.5), TRM=TRM[5])])

    def test_disconnect_ack(self):
        """Disconnect-ACK ends the session (adminReset) unless a Stop came first; the Stop
        after it raises nothing more."""
        a = sp.Subscriber(user="alice", csid="02-00-00-00-00-01", ip="198.18.100.10", acct_sid="31")
        b = sp.Subscriber(user="bob", csid="02-00-00-00-00-02", ip="198.18.100.11", acct_sid="32")
        sa = Session(0, 4, a.csid, u32(NAS), 500, 1, AN1, tip=a.ip)
        sb = Session(0, 4, b.csid, u32(NAS), 501, 2, AN1, tip=b.ip)
        acc_a = self.r.login(a, li=sp.LI(mirror_id=500, session_id=1, analyzer=AN1, port=30030))
        self.r.acct(a, "start")
        acc_b = self.r.login(b, li=sp.LI(mirror_id=501, session_id=2, analyzer=AN1, port=30030))
        self.r.acct(b, "start")
        self.w.advance(60)
        dm = self.r.disconnect(a)
        self.w.advance(0.5)
        self.r.acct(a, "stop", term_cause=6)
        self.w.advance(1)
        stop_b = self.r.acct(b, "stop", term_cause=1)
        self.w.advance(0.5)
        self.r.disconnect(b)
        got = self.replay()
        self.assertEvents(got, [sa.ev("SessionStart", acc_a[1].ts), sb.ev("SessionStart", acc_b[1].ts),
                                sa.ev("SessionEnd", dm[1].ts, TRM=TRM[6]),
                                sb.ev("SessionEnd", stop_b[1].ts, TRM=TRM[1])])


class TestSessionFailed(RowsCase):
    def test_no_accounting_start_within_session_start_timeout(self):
        alice = sp.Subscriber(user="alice", csid="02-00-00-00-00-01", ip="198.18.100.10", acct_sid="41")
        acc = self.r.login(alice, li=sp.LI(mirror_id=600, session_id=3, analyzer=AN1, port=30030))
        due = acc[1].ts + 10
        self.w.tick(due - 2)
        self.w.tick(due + 0.5)
        got = self.replay("sessionStartTimeout 10")
        s = Session(0, 4, alice.csid, u32(NAS), 600, 3, AN1, tip=alice.ip)
        self.assertEvents(got, [s.ev("SessionStart", acc[1].ts),
                                s.ev("SessionFailed", (due, due + 0.5), TRM=TRM[0])])

    def test_stop_with_zero_session_time(self):
        alice = sp.Subscriber(user="alice", csid="02-00-00-00-00-01", ip="198.18.100.10", acct_sid="42")
        acc = self.r.login(alice, li=sp.LI(mirror_id=601, session_id=4, analyzer=AN1, port=30030))
        self.r.acct(alice, "start")
        stop = self.r.acct(alice, "stop", term_cause=17, session_time=0)
        got = self.replay()
        s = Session(0, 4, alice.csid, u32(NAS), 601, 4, AN1, tip=alice.ip)
        self.assertEvents(got, [s.ev("SessionStart", acc[1].ts),
                                s.ev("SessionFailed", stop[1].ts, TRM=TRM[17])])

    def test_dhcp_decline(self):
        c = sp.DhcpClient("02:00:00:00:00:22", "198.18.100.21", remote=bytes.fromhex("0011223344bb"))
        ack = self.d.bind(c)
        self.w.advance(1)
        dec = self.d.decline(c)
        got = self.replay("mirror agentRemoteId 0x0011223344bb analyzer %s:30030 id 602 session 6" % AN1)
        s = Session(2, 8, {"0x0011223344bb", bytes.fromhex("0011223344bb")}, u32(GIADDR), 602, 6, AN1,
                    tip=c.ip)
        self.assertEvents(got, [s.ev("SessionStart", ack[-1].ts),
                                s.ev("SessionFailed", dec[0].ts, TRM=TRM[0])])


class TestActivation(RowsCase):
    def login(self, user="alice", ip="198.18.100.10", asid="4711"):
        sub = sp.Subscriber(user=user, csid="02-00-00-00-00-01", ip=ip, acct_sid=asid)
        self.r.login(sub)
        self.r.acct(sub, "start")
        self.w.advance(5)
        return sub

    def test_coa_on_and_off(self):
        """CoA with LI-Action on (VSAs salt-encrypted with zeros) on a live session:
        InterfaceSessionActivated, radiusCoa, trigger = the CoA's Acct-Session-Id; CoA off:
        InterfaceSessionDeactivated.  A NAK of the second CoA-on is counted, the mirroring
        stands."""
        alice = self.login()
        on = self.r.coa(alice, sp.LI(mirror_id=700, session_id=8, analyzer=AN1, port=30030))
        self.w.advance(20)
        off = self.r.coa(alice, sp.LI(sp.LI_OFF))
        self.w.advance(5)
        on2 = self.r.coa(alice, sp.LI(mirror_id=701, session_id=9, analyzer=AN2, port=30030), nak=True)
        got = self.replay()
        s = Session(1, 5, "4711", u32(NAS), 700, 8, AN1, tip=alice.ip)
        s2 = Session(1, 5, "4711", u32(NAS), 701, 9, AN2, tip=alice.ip)
        self.assertEvents(got, [s.ev("InterfaceSessionActivated", on[0].ts),
                                s.ev("InterfaceSessionDeactivated", off[0].ts),
                                s2.ev("InterfaceSessionActivated", on2[0].ts)])
        self.assertCounter("radius", "coa_naks", 1, at_least=True)

    def test_forged_and_replayed_coa_change_nothing(self):
        alice = self.login()
        self.r.coa(alice, sp.LI(mirror_id=702, session_id=8, analyzer=AN1, port=30030),
                   secret="not-the-secret")
        self.w.advance(1)
        on = self.r.coa(alice, sp.LI(mirror_id=703, session_id=8, analyzer=AN1, port=30030))
        self.w.advance(1)
        off = self.r.coa(alice, sp.LI(sp.LI_OFF))
        self.r.replay(on, dt=2)                      # the same CoA-on again: a replay
        got = self.replay()
        s = Session(1, 5, "4711", u32(NAS), 703, 8, AN1, tip=alice.ip)
        self.assertEvents(got, [s.ev("InterfaceSessionActivated", on[0].ts),
                                s.ev("InterfaceSessionDeactivated", off[0].ts)])
        self.assertCounter("radius", "auth_failed", 1, at_least=True)
        self.assertCounter("radius", "replays", 1, at_least=True)

    def test_trigger_added_and_removed_by_pmirrorctl(self):
        alice = self.login()
        self.assertEqual(self.replay(), [])
        r = self.ctl("mirror", "username", "alice", "analyzer", "%s:30030" % AN3, "id", "710",
                     "session", "12")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        s = Session(2, 3, "alice", u32(NAS), 710, 12, AN3, tip=alice.ip)
        wait_for(lambda: len(self.lines()) >= 2, 15, what="InterfaceSessionActivated")
        r = self.ctl("no", "mirror", "username", "alice")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        wait_for(lambda: len(self.lines()) >= 3, 15, what="InterfaceSessionDeactivated")
        # the events' time: the capture clock (the last packet's time, or now)
        when = (self.t0, time.time() + 5)
        self.assertEvents(self.lines()[1:], [s.ev("InterfaceSessionActivated", when),
                                             s.ev("InterfaceSessionDeactivated", when)])

    def test_warrant_window_opens_and_closes_in_packet_time(self):
        """from/until: the window opens and closes by itself, on the packet clock."""
        alice = self.login()
        opens, closes = int(self.t0) + 30, int(self.t0) + 50
        self.w.data(alice.ip, PEER, count=1)            # before the window: not mirrored
        self.w.tick(opens - 1)
        self.w.tick(opens + 0.5)
        self.w.data(alice.ip, PEER, count=1)
        self.w.tick(closes + 0.5)
        got = self.replay("mirror username alice analyzer %s:30030 id 720 session 13 from %s until %s"
                          % (AN1, iso(opens), iso(closes)))
        s = Session(2, 3, "alice", u32(NAS), 720, 13, AN1, tip=alice.ip)
        self.assertEvents(got, [s.ev("InterfaceSessionActivated", (opens, opens + 0.5)),
                                s.ev("InterfaceSessionDeactivated", (closes, closes + 0.5))])

    def test_first_seen_mid_life(self):
        """A target first seen in an Interim-Update or a Stop: InterfaceSessionActivated
        (cliTrigger), then SessionEnd when it stops."""
        carol = sp.Subscriber(user="carol", ip="198.18.100.30", acct_sid="51")
        dave = sp.Subscriber(user="dave", ip="198.18.100.31", acct_sid="52")
        carol.started = dave.started = self.t0 - 3600
        im = self.r.acct(carol, "interim")
        self.w.advance(10)
        st_c = self.r.acct(carol, "stop", term_cause=1)
        self.w.advance(1)
        st_d = self.r.acct(dave, "stop", term_cause=5)
        got = self.replay("mirror username carol analyzer %s:30030 id 730 session 14\n"
                          "mirror username dave analyzer %s:30030 id 731 session 15" % (AN1, AN1))
        c = Session(2, 3, "carol", u32(NAS), 730, 14, AN1, tip=carol.ip)
        d = Session(2, 3, "dave", u32(NAS), 731, 15, AN1, tip=dave.ip)
        self.assertEvents(got, [c.ev("InterfaceSessionActivated", im[1].ts),
                                c.ev("SessionEnd", st_c[1].ts, TRM=TRM[1]),
                                d.ev("InterfaceSessionActivated", st_d[1].ts),
                                d.ev("SessionEnd", st_d[1].ts, TRM=TRM[5])])


class TestRejectAndFailures(RowsCase):
    def test_access_reject_for_a_target(self):
        mallory = sp.Subscriber(user="mallory", csid="02-00-00-00-00-66")
        other = sp.Subscriber(user="oscar", csid="02-00-00-00-00-67")
        rej = self.r.reject(mallory)
        self.r.reject(other)
        got = self.replay("mirror callingStationId 02-00-00-00-00-66 analyzer %s:30030 id 800 session 16"
                          % AN1)
        s = Session(2, 4, "02-00-00-00-00-66", u32(NAS), 800, 16, AN1)
        self.assertEvents(got, [s.ev("SessionReject", rej[1].ts)])

    def li_failure(self, li, ec, mid, sid, li_vector=None, user="alice"):
        sub = sp.Subscriber(user=user, csid="02-00-00-00-00-01", ip="198.18.100.10", acct_sid="61")
        acc = self.r.login(sub, li=li, li_vector=li_vector)
        self.r.acct(sub, "start")
        got = self.replay()
        self.assertEvents(got, [ev("RadiusBasedMirroringFailure", DT=acc[1].ts, CS=CS[0], TT=TT[4],
                                   TR=sub.csid, RID=u32(NAS), UN=user, MID=mid, SID=sid, EC=EC[ec],
                                   AN="policyManager(0)", ES=ANY)])

    def test_li_handle_without_port(self):
        self.li_failure(sp.LI(mirror_id=810, session_id=17, analyzer=AN1), 7, 810, 17)

    def test_li_port_without_handle(self):
        self.li_failure(sp.LI(analyzer=AN1, port=30030), 7, 0, ANY)

    def test_li_malformed_handle(self):
        self.li_failure(sp.LI(handle=bytes.fromhex("800000010000"), analyzer=AN1, port=30030), 7, 0, ANY)

    def test_li_vsas_that_do_not_decrypt(self):
        self.li_failure(sp.LI(mirror_id=811, session_id=18, analyzer=AN1, port=30030), 7, ANY, ANY,
                        li_vector=bytes(16))

    def test_li_action_on_alone(self):
        self.li_failure(sp.LI(sp.LI_ON), 7, 0, ANY)

    def test_li_unusable_analyzer(self):
        self.li_failure(sp.LI(mirror_id=812, session_id=19, analyzer="0.0.0.0", port=30030), 4, 812, 19)

    def test_max_subscribers_reached_for_targets(self):
        """maxSubscribers full: a RADIUS-provisioned target -> RadiusBasedMirroringFailure,
        a CLI target -> CliTriggerBasedMirroringFailure, both noResourcesAvailable; an
        ordinary subscriber that does not fit raises nothing."""
        fill = [sp.Subscriber(user="f%d" % i, ip="198.18.105.%d" % (i + 1), acct_sid="7%d" % i)
                for i in range(2)]
        for sub in fill:
            self.r.login(sub)
            self.r.acct(sub, "start")
        plain = sp.Subscriber(user="plain", ip="198.18.105.50", acct_sid="80")
        self.r.login(plain)
        self.r.acct(plain, "start")
        # one event point each: alice's Accept (RADIUS-provisioned), bob's Accounting-Start
        alice = sp.Subscriber(user="alice", csid="02-00-00-00-00-01", ip="198.18.100.10", acct_sid="81")
        acc = self.r.login(alice, li=sp.LI(mirror_id=820, session_id=20, analyzer=AN1, port=30030))
        bob = sp.Subscriber(user="bob", ip="198.18.100.11", acct_sid="82")
        st = self.r.acct(bob, "start")
        self.w.advance(1)
        self.r.acct(fill[0], "stop", term_cause=1)     # room for the marker
        got = self.replay("maxSubscribers 2\nmirror username bob analyzer %s:30030 id 821 session 21" % AN1)
        self.assertEvents(got, [
            ev("RadiusBasedMirroringFailure", DT=acc[1].ts, CS=CS[0], TT=TT[4], TR=alice.csid, RID=u32(NAS),
               UN="alice", MID=820, SID=20, EC=EC[1], AN="policyManager(0)", ES=ANY),
            ev("CliTriggerBasedMirroringFailure", DT=(st[0].ts, st[1].ts),
               CS=CS[2], TT=TT[3], TR="bob", RID=u32(NAS), PN="spl_%08x" % 821, PID=821, EC=EC[1],
               AN="policyManager(0)", ES=ANY)])

    def test_max_triggers_reached_by_pmirrorctl(self):
        self.assertEqual(self.replay("maxTriggers 2\nmirror username alice analyzer %s:30030 id 830\n"
                                     "mirror username carol analyzer %s:30030 id 832" % (AN1, AN1)), [])
        self.ctl("mirror", "username", "bob", "analyzer", "%s:30030" % AN1, "id", "831")
        wait_for(lambda: len(self.lines()) >= 2, 15, what="CliTriggerBasedMirroringFailure")
        self.assertEvents(self.lines()[1:], [
            ev("CliTriggerBasedMirroringFailure", DT=(self.t0, time.time() + 5), CS=CS[2], TT=TT[3], TR="bob",
               RID=ANY, PN="spl_%08x" % 831, PID=831, EC=EC[1], AN="policyManager(0)", ES=ANY)])
        self.assertNotIn("bob", "\n".join(str(x) for x in self.env.ctl_json("show", "mirror", "triggers")
                                          .values()))

    def test_cli_trigger_that_cannot_be_applied(self):
        """A static mirror on an interface that is not captured: CliTriggerBasedMirroringFailure."""
        self.assertEqual(self.replay(), [])
        self.ctl("mirror", "interface", "nosuch0", "analyzer", "%s:30030" % AN1, "id", "840")
        wait_for(lambda: len(self.lines()) >= 2, 15, what="CliTriggerBasedMirroringFailure")
        self.assertEvents(self.lines()[1:], [
            ev("CliTriggerBasedMirroringFailure", DT=(self.t0, time.time() + 5), CS=CS[3], TT=TT[0],
               TR="nosuch0", RID=0, PN="spl_%08x" % 840, PID=840, EC=EC[5], AN="policyManager(0)", ES=ANY)])


class TestDhcpOption82(RowsCase):
    CIRCUIT = "eth0/1/0:100"
    REMOTE = bytes.fromhex("0011223344aa")

    def bind(self, chaddr, ip, **o82):
        c = sp.DhcpClient(chaddr, ip, **o82)
        return c, self.d.bind(c)

    def test_each_option82_trigger_starts_a_session(self):
        """agentCircuitId (text), agentRemoteId (0x octets), dhcpOption82 (the whole option):
        one SessionStart each; no `session`: SessionIdentifier from the daemon's counter."""
        c1, a1 = self.bind("02:00:00:00:01:01", "198.18.106.1", circuit=self.CIRCUIT)
        self.w.advance(1)
        c2, a2 = self.bind("02:00:00:00:01:02", "198.18.106.2", circuit="eth0/1/0:200", remote=self.REMOTE)
        self.w.advance(1)
        whole = sp.option82(circuit="eth9/9/9:9", remote=b"rid-9")
        c3, a3 = self.bind("02:00:00:00:01:03", "198.18.106.3", opt82=whole)
        self.w.advance(1)
        self.bind("02:00:00:00:01:04", "198.18.106.4", circuit="eth0/1/0:1000")   # no match: not a prefix
        conf = ("mirror agent-circuit-id %s analyzer %s:30030 id 900\n"
                "mirror agentRemoteId 0x%s analyzer %s:30030 id 901\n"
                "mirror dhcpOption82 0x%s analyzer %s:30030 id 902" % (self.CIRCUIT, AN1, self.REMOTE.hex(),
                                                                       AN2, whole.hex(), AN3))
        got = self.replay(conf)
        rid = u32(GIADDR)
        self.assertEvents(got, [
            Session(2, 7, self.CIRCUIT, rid, 900, 1, AN1, tip=c1.ip).ev("SessionStart", a1[-1].ts),
            Session(2, 8, {"0x" + self.REMOTE.hex(), self.REMOTE}, rid, 901, 2, AN2, tip=c2.ip)
            .ev("SessionStart", a2[-1].ts),
            Session(2, 6, {"0x" + whole.hex(), whole}, rid, 902, 3, AN3, tip=c3.ip)
            .ev("SessionStart", a3[-1].ts)])

    def test_ack_from_an_untrusted_address_binds_nothing(self):
        c = sp.DhcpClient("02:00:00:00:01:05", "198.18.106.5", circuit=self.CIRCUIT)
        self.d.bind(c, server="198.18.1.66")          # a rogue server, or the subscriber itself
        self.w.advance(1)
        self.d.release(c)
        got = self.replay("mirror agentCircuitId %s analyzer %s:30030 id 903" % (self.CIRCUIT, AN1))
        self.assertEqual(got, [])
        self.assertCounter("dhcp", "untrusted", 1, at_least=True)

    def test_renewal_changes_nothing(self):
        c, ack = self.bind("02:00:00:00:01:06", "198.18.106.6", circuit=self.CIRCUIT)
        for _ in range(3):
            self.w.advance(30)
            self.d.renew(c)
        got = self.replay("mirror agentCircuitId %s analyzer %s:30030 id 904 session 5" % (self.CIRCUIT, AN1))
        self.assertEvents(got, [Session(2, 7, self.CIRCUIT, u32(GIADDR), 904, 5, AN1, tip=c.ip)
                                .ev("SessionStart", ack[-1].ts)])


class TestMalformed(RowsCase):
    def test_malformed_signalling_is_counted_and_ignored(self):
        """Malformed RADIUS and DHCP, and an Accept signed with another secret, raise nothing;
        `show mirror statistics` counts them; a good login after them still starts."""
        for kind in ("short", "length", "attr-overrun"):
            sp.malformed_radius(self.w, NAS, SERVER, kind=kind)
        for kind in ("short", "no-cookie"):
            sp.malformed_dhcp(self.w, DHCP_SERVER, RELAY, kind=kind)
        bad = sp.Radius(self.w, "wrong-secret", nas=NAS, server=SERVER)
        eve = sp.Subscriber(user="eve", csid="02-00-00-00-00-05", ip="198.18.100.50", acct_sid="91")
        bad.login(eve, li=sp.LI(mirror_id=950, session_id=1, analyzer=AN1, port=30030))
        self.w.advance(1)
        alice = sp.Subscriber(user="alice", csid="02-00-00-00-00-01", ip="198.18.100.10", acct_sid="92")
        acc = self.r.login(alice, li=sp.LI(mirror_id=951, session_id=2, analyzer=AN1, port=30030))
        self.r.acct(alice, "start")
        got = self.replay(invalid=1)
        self.assertEvents(got, [Session(0, 4, alice.csid, u32(NAS), 951, 2, AN1, tip=alice.ip)
                                .ev("SessionStart", acc[1].ts)])
        self.assertCounter("radius", "malformed", 3)
        self.assertCounter("dhcp", "malformed", 2)
        self.assertCounter("radius", "auth_failed", 1)
        self.assertAlive()


class TestInterfaces(RowsCase):
    """Static mirrors and InterfaceDeleted need a live interface: the daemon runs in a
    namespace A the test creates and captures a0; the signalling is sent on b0 in B as
    Ethernet frames (AF_PACKET)."""
    _teardown = capsrc.CaptureSources._teardown
    veth = capsrc.CaptureSources.veth
    link_up = capsrc.CaptureSources.link_up

    INJECT = ("import socket, struct, sys\n"
              "data = open(sys.argv[1], 'rb').read()\n"
              "s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)\n"
              "s.bind((sys.argv[2], 0))\n"
              "off = 24\n"
              "while off < len(data):\n"
              "    incl = struct.unpack('<IIII', data[off:off + 16])[2]\n"
              "    s.send(data[off + 16:off + 16 + incl])\n"
              "    off += 16 + incl\n")

    def setUp(self):
        if os.environ.get("PM_ROWS_PCAP_ONLY"):
            raise unittest.SkipTest("PM_ROWS_PCAP_ONLY: live tests need the daemon")
        capsrc.CaptureSources.setUp(self)
        super().setUp()
        self.w = sp.Wire(t0=time.time(), link="eth")
        self.r = sp.Radius(self.w, SECRET, nas=NAS, server=SERVER)

    def start_live(self, extra=""):
        self.veth(0)
        self.env.netns = self.nsa
        self.start_trapd_with_mibs("snmptrapd", self.env.trap_port)
        conf = self.conf("/dev/null", extra).replace("capture pcap:/dev/null pace fast",
                                                     "capture a0 role both")
        self.env.start_pmirrord(conf)

        def a0_up():
            self.assertAlive()
            try:
                return any(c[:3] == ("src:a0", "state", 1) for c in self.mirror_stats())
            except AssertionError:   # the control socket is not there yet
                return False
        wait_for(a0_up, 30, what="a0 up")

    def send(self):
        pcap = self.w.write(self.env.path("live-%d.pcap" % len(self.w.frames)))
        self.w.frames = []
        capsrc.run("ip", "netns", "exec", self.nsb, capsrc.PY, "-c", self.INJECT, pcap, "b0")

    def test_static_mirror_added_and_removed(self):
        self.start_live()
        r = self.ctl("mirror", "interface", "a0", "analyzer", "%s:30030" % AN1, "id", "960")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        wait_for(lambda: len(self.lines()) >= 1, 15, what="InterfaceSessionActivated")
        r = self.ctl("no", "mirror", "interface", "a0")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        wait_for(lambda: len(self.lines()) >= 2, 15, what="InterfaceSessionDeactivated")
        now = (time.time() - 60, time.time() + 5)
        s = Session(3, 0, "a0", 0, 960, ANY, AN1, tip="0.0.0.0")
        self.assertEvents(self.lines(), [s.ev("InterfaceSessionActivated", now),
                                         s.ev("InterfaceSessionDeactivated", now)])

    def test_interface_deleted_and_back(self):
        """a0 disappears: InterfaceDeleted for the session whose data was last seen there
        and for the static mirror on it (the session survives); a0 back: the static mirror
        resumes (InterfaceSessionActivated)."""
        self.start_live("mirror interface a0 analyzer %s:30030 id 961" % AN1)
        wait_for(lambda: len(self.lines()) >= 1, 15, what="the static mirror's activation")
        alice = sp.Subscriber(user="alice", csid="02-00-00-00-00-01", ip="198.18.100.10", acct_sid="93")
        self.r.login(alice, li=sp.LI(mirror_id=962, session_id=4, analyzer=AN1, port=30030))
        self.r.acct(alice, "start")
        self.w.data(alice.ip, PEER, count=2)
        self.send()
        wait_for(lambda: len(self.lines()) >= 2, 15, what="SessionStart")
        capsrc.run("ip", "-n", self.nsa, "link", "del", "a0")
        wait_for(lambda: len(self.lines()) >= 4, 15, what="two InterfaceDeleted")
        self.veth(0)
        wait_for(lambda: len(self.lines()) >= 5, 30, what="the static mirror back")
        now = (time.time() - 120, time.time() + 5)
        st = Session(3, 0, "a0", 0, 961, ANY, AN1, tip="0.0.0.0")   # no `session` on a static mirror
        sa = Session(0, 4, alice.csid, u32(NAS), 962, 4, AN1, tip=alice.ip)
        got = self.lines()
        self.assertEvents(got[:2], [st.ev("InterfaceSessionActivated", now), sa.ev("SessionStart", now)])
        deleted = sorted(got[2:4], key=lambda x: x[1]["MID"])
        self.assertEvents(deleted, [st.ev("InterfaceDeleted", now), sa.ev("InterfaceDeleted", now)])
        self.assertEvents(got[4:], [st.ev("InterfaceSessionActivated", now)])


if __name__ == "__main__":
    unittest.main()
