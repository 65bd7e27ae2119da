"""RADIUS sessions, triggers and mirroring events from the wire, with real peers.

Each test creates a network namespace of its own (radpeer.Netns: lo up, every
address local) and runs everything in it: FreeRADIUS (radiusd) on
127.0.0.1:21812/21813, the NAS's dynamic-authorization server on
127.0.0.2:3799 (radpeer.FakeNas; CoA and Disconnect come from the server's
address 127.0.0.1, by radclient), the analyzers on 127.0.0.3 (radpeer.JmListener),
snmptrapd on 127.0.0.1 with the MIB loaded, and pmirrord with `capture lo`, so
that the daemon sees the test's traffic and nothing else.  Subscribers have
198.18.0.0/15 addresses and 2001:2::/48 prefixes on the namespace's lo; their
packets are UDP datagrams sent from or to those addresses.

What is asserted comes from the peers: the notifications snmptrapd decoded
with Juniper-PACKET-MIRROR-MIB (every varbind value, README "Notification
values"), the jmirror datagrams at the analyzers (version, mirror ID, session
ID, the inner packet), the NAS's log, `pmirrorctl show mirror statistics` and
`show mirror log` after mirror-enable, and the capture process's memory
(/proc/PID/mem).  RADIUS values follow RFC 2865, 2866, 5176 and docs/radius.md;
notification values follow docs/sessions.md and docs/mirror-mib.md.
"""
import os
import re
import signal
import struct
import unittest

import pmtest
import radpeer as rp
import test_notify
import test_procmodel as pm
from pmtest import PmTestCase, wait_for
from radpeer import ANALYZER, NAS

M = test_notify.M
JM1, JM2 = 30030, 30031                 # analyzer ports
NAS_ROUTER_ID = struct.unpack("!I", bytes([127, 0, 0, 2]))[0]   # NAS-IP-Address as Unsigned32
DT = r"STRING: \d{4}-\d{1,2}-\d{1,2},\d{1,2}:\d{1,2}:\d{1,2}\.\d,[+-]\d{1,2}:\d{1,2}"
CS = {0: "INTEGER: radiusLogin(0)", 1: "INTEGER: radiusCoa(1)", 2: "INTEGER: cliTrigger(2)"}
TT = {1: "INTEGER: ipAddress(1)", 3: "INTEGER: username(3)", 4: "INTEGER: callingStationId(4)",
      5: "INTEGER: acctSessionId(5)"}
INGRESS = "INTEGER: ingress(0)"

# Subscribers (one per test mostly; the names are unique so a memory scan finds only them).
ALICE = dict(user="alice-li-7d21", pw="alice-pw", ip="198.18.10.5", asid="sess-0001",
             csid="02-00-00-00-00-01", mid=4242, sid=0xbeef)
BOB = dict(user="bob-li-3e90", pw="bob-pw", ip="198.18.11.5", asid="sess-0002", mid=4243, sid=70007)
CAROL = dict(user="carol-li-5a11", pw="carol-pw", ip="198.18.12.5", asid="12345678901", mid=1111)
DAVE = dict(user="dave-rejected-8b02", pw="dave-pw", mid=55)
ERIN = dict(user="erin-v6-41f7", pw="erin-pw", prefix="2001:2:0:6::/64", addr="2001:2:0:6::5",
            asid="sess-0006", mid=606, sid=60009)
FRANK = dict(user="frank-v6-c03e", pw="frank-pw", prefix="2001:2:0:7::/64", addr="2001:2:0:7::5",
             asid="sess-0007", mid=707)
GINA = dict(user="gina-two-9d4b", pw="gina-pw", ip="198.18.13.5", asid="sess-0008", mid=4300, sid=43001,
            mid2=4301)
HANK = dict(user="hank-kill-27aa", pw="hank-pw", ip="198.18.14.5", asid="sess-0009", mid=4400, sid=44004)
IVAN = dict(user="ivan-memscan-subscriber-6c58e0", pw="ivan-pw", ip="198.18.15.5",
            csid="ivan-calling-station-71b3", asid="sess-0010", mid=4500, sid=45005)
JACK = dict(user="jack-plain-0e6d", pw="jack-pw", ip="198.18.16.5", asid="sess-0011", mid=4600)
KATE = dict(user="kate-coa-nak-93c2", pw="kate-pw", ip="198.18.17.5", asid="sess-0012", mid=4700,
            sid=47007)
PEER4 = "198.18.99.1"                   # the other end of subscriber traffic (local too)
PEER6 = "2001:2:0:99::1"


def note(line):
    """(notification name, {object name without prefix: 'TYPE: value'}) of a trap line."""
    _, vbs = test_notify.varbinds(line)
    kind, vals = None, {}
    for n, v in vbs:
        if n == "SNMPv2-MIB::snmpTrapOID.0":
            kind = v.split(M)[-1] if M in v else v
        elif n.startswith(M):
            v = re.sub(r'^STRING: "(.*)"$', r"STRING: \1", v)
            vals[n[len(M):].rsplit(".", 1)[0]] = v
    return kind, vals


class RadiusCase(PmTestCase):
    """The world of one test: namespace, radiusd, NAS, analyzers, snmptrapd, pmirrord."""

    users = ()          # subscriber dicts, with "vsas": the reply's LI VSAs (or none)
    mirror_lines = ""   # `mirror ...` triggers in the configuration
    evtestd = False     # TestHarness: pm_evtestd (events from a FIFO), no RADIUS directives
    nas_nak = False     # the NAS answers every CoA and Disconnect with a NAK
    snmpd = False       # an snmpd (AgentX master) in the namespace too
    trap_extra = ""     # more words of the trapHost line (e.g. "inform")

    def setUp(self):
        for exe in (rp.FREERADIUS, rp.RADCLIENT):
            if not os.access(exe, os.X_OK):
                self.fail("missing %s (scripts/deps installs freeradius and freeradius-utils)" % exe)
        # the namespace goes last: its cleanup is registered before the daemons'
        self.ns = rp.Netns("pmrs")
        self.addCleanup(self.ns.delete)
        super().setUp()
        e = self.env
        e.netns = self.ns.name          # every daemon env starts runs in the namespace
        for a in (PEER4 + "/32", PEER6 + "/128"):
            self.ns.add_address(a)
        users = {}
        for u in self.users:
            if "ip" in u:
                self.ns.add_address(u["ip"] + "/32")
            if "addr" in u:
                self.ns.add_address(u["addr"] + "/128")
            reply = [("Framed-IP-Address", u["ip"])] if "ip" in u else []
            reply += [("Framed-IPv6-Prefix", u["prefix"])] if "prefix" in u else []
            reply += u.get("vsas", [])
            users[u["user"]] = (u["pw"], reply)
            # identities, addresses and IDs never reach an ordinary log (pmtest.Env.cleanup)
            e.secrets.update(v for k, v in u.items() if k in ("user", "ip", "addr", "asid", "csid"))
            e.secret_ids.update(v for k, v in u.items() if k in ("mid", "sid", "mid2"))
        e.secrets.add(ANALYZER)
        self.radius = rp.RadiusServer(self.ns, e.dir, users).start()
        self.addCleanup(self.radius.stop)
        self.nas = rp.FakeNas(self.ns, e.dir, nak=self.nas_nak)
        self.addCleanup(self.nas.stop)
        self.jm = rp.JmListener(self.ns, e.dir, "%s:%d" % (ANALYZER, JM1), "%s:%d" % (ANALYZER, JM2))
        self.addCleanup(self.jm.stop)
        test_notify.NotifyCase.start_trapd_with_mibs(self, "snmptrapd", e.trap_port)
        conf = "trapEnable true\n%s\ncapture lo\n" % e.trap_host(extra=self.trap_extra)
        if self.snmpd:
            e.start_snmpd()
        if self.evtestd:
            e.start_evtestd(conf)
        else:
            e.start_pmirrord(conf + "radiusServer %s:%d,%d secret %s coaPort %d\n%s" %
                             (rp.SERVER, rp.AUTH_PORT, rp.ACCT_PORT, rp.SECRET, rp.COA_PORT,
                              self.mirror_lines))
        self.assertAlive()
        if self.snmpd:
            e.wait_registered()
        self.tree = pm.ready_tree(e)
        wait_for(lambda: self.src_lo().get("state") == pm.SRC_UP, 30, interval=0.2,
                 what="pmirrord capturing lo")

    # -- reading the peers ------------------------------------------------------
    def src_lo(self):
        return pm.mirror_stats(self.env)["by_source"].get("src:lo", {})

    def notes(self, kind=None, mid=None):
        out = [note(ln) for ln in self.env.trap_lines()]
        return [(k, v) for k, v in out if (kind is None or k == kind) and
                (mid is None or v.get("Identifier") == "Gauge32: %d" % mid)]

    def wait_note(self, kind, mid, count=1, timeout=20):
        return wait_for(lambda: len(self.notes(kind, mid)) >= count and self.notes(kind, mid), timeout,
                        what="%d %s with mirror ID %d at snmptrapd (got %s)" %
                        (count, kind, mid, [k for k, _ in self.notes()]))[-1][1]

    def kinds(self, mid):
        return [k for k, _ in self.notes(mid=mid)]

    def assert_values(self, vals, want):
        for k, v in want.items():
            if k == "DateAndTime":
                self.assertRegex(vals.get(k, ""), "^" + v + "$", k)
            else:
                self.assertEqual(vals.get(k), v, "%s in %s" % (k, vals))

    def radius_counter(self, name):
        """A RADIUS counter of `show mirror statistics` (the tracker's struct rt_stats
        names), summed over the rows that carry it."""
        rows = pm.mirror_stats(self.env).get("counters", [])
        vals = [r["value"] for r in rows if
                (r["counter"] == name and "radius" in r["source"]) or r["counter"] in
                ("radius_" + name, "radius." + name)]
        if not vals:
            raise AssertionError("no RADIUS counter %r in show mirror statistics: %s" %
                                 (name, sorted({(r["source"], r["counter"]) for r in rows})))
        return sum(vals)

    def mirror_log(self):
        return [r["entry"] for r in self.env.ctl_json("show", "mirror", "log").get("log_entries", [])]

    def traffic(self, sub, marker, count=3):
        """count datagrams from the subscriber and count to it."""
        src, peer = (sub["ip"], PEER4) if "ip" in sub else (sub["addr"], PEER6)
        rp.send_udp(self.ns, src, peer, marker + "-up", count)
        rp.send_udp(self.ns, peer, src, marker + "-down", count)

    def wait_mirrored(self, sub, marker, mid, sid, port=JM1, count=3):
        """Both directions' datagrams of traffic(marker) at the analyzer, as jmirror
        with version 0, mid and sid, the inner packets intact."""
        tag = (marker + "-").encode()
        got = wait_for(lambda: len(self.jm.marked(tag, port)) >= 2 * count and
                       self.jm.marked(tag, port), 20,
                       what="%d datagrams marked %s at port %d (all: %s)" %
                       (2 * count, marker, port, self.jm.datagrams()[-6:]))
        addr = sub.get("ip") or sub.get("addr")
        self.assertEqual(len(got), 2 * count, got)
        for d in got:
            self.assertEqual((d.version, d.mid, d.sid), (0, mid, sid), d)
            src, dst, _, _, payload = d.inner_udp()
            self.assertIn(addr, (src, dst))
            self.assertEqual(src == addr, b"-up" in payload, d)
        return got

    def captured_since(self, packets_before, n):
        """Waits until the capture process counted n more packets on lo (so what
        was sent has been seen, mirrored or not)."""
        wait_for(lambda: self.src_lo().get("packets", 0) >= packets_before + n, 10, interval=0.1,
                 what="%d more packets captured on lo" % n)

    def restart_capture(self):
        """SIGKILL to the capture process (its PID from the monitor's children); returns
        the new tree once the new one captures lo."""
        old = self.tree["capture"]
        os.kill(old, signal.SIGKILL)
        t2 = pm.ready_tree(self.env, old={"capture": old})
        self.assertEqual(t2["agent"], self.tree["agent"], "the agent was restarted too")
        wait_for(lambda: self.src_lo().get("state") == pm.SRC_UP and
                 pm.mirror_stats(self.env)["by_process"].get("capture", {}).get("pid") == t2["capture"],
                 20, interval=0.2, what="the new capture process capturing lo")
        self.tree = t2
        return t2

    def login(self, sub, request_extra=(), acct_extra=()):
        r = rp.auth(self.ns, sub["user"], sub["pw"], request_extra)
        rp.assert_ok(self, r, "Access-Request of " + sub["user"])
        framed = [("Framed-IP-Address", sub["ip"])] if "ip" in sub else []
        framed += [("Framed-IPv6-Prefix", sub["prefix"])] if "prefix" in sub else []
        r = rp.acct(self.ns, "Start", sub["user"], sub["asid"], framed + list(acct_extra))
        rp.assert_ok(self, r, "Accounting-Start of " + sub["user"])

    def stop(self, sub, cause="User-Request", session_time=42):
        framed = [("Framed-IP-Address", sub["ip"])] if "ip" in sub else []
        r = rp.acct(self.ns, "Stop", sub["user"], sub["asid"], framed + [
            ("Acct-Session-Time", str(session_time)), ("Acct-Terminate-Cause", cause)])
        rp.assert_ok(self, r, "Accounting-Stop of " + sub["user"])


def vsas(sub, port=JM1):
    return rp.li_vsas(sub["mid"], sub.get("sid"), port=port)


# ---------------------------------------------------------------------------------------------
class TestHarness(RadiusCase):
    """The harness itself with the daemon as it is without the RADIUS tracker: the
    notification decoding (an event raised through pm_evtestd's FIFO, decoded and
    checked as the tests below check theirs) and `capture lo` seeing the
    namespace's RADIUS and subscriber traffic."""
    users = (dict(ALICE, vsas=vsas(ALICE)),)
    evtestd = True

    def test_decoding_and_capture_in_the_namespace(self):
        a, mid = ALICE, ALICE["mid"]
        self.env.raise_event("trap=5 mid=%d sid=%d cs=0 tt=4 trigger=%s rid=%d policy=spl_%08x pid=%d "
                             "dir=0 tip=%s aa=%s" % (mid, a["sid"], a["csid"], NAS_ROUTER_ID, mid, mid,
                                                     a["ip"], ANALYZER))
        start = self.wait_note("SessionStart", mid)
        self.assert_values(start, {
            "DateAndTime": DT, "ConfigurationSource": CS[0], "TriggerType": TT[4],
            "Trigger": "STRING: " + a["csid"], "RouterId": "Gauge32: %d" % NAS_ROUTER_ID,
            "Identifier": "Gauge32: %d" % mid, "SessionIdentifier": "Gauge32: %d" % a["sid"],
            "PolicyName": "STRING: spl_%08x" % mid, "PolicyId": "Gauge32: %d" % mid,
            "Direction": INGRESS, "TargetIpAddress": "IpAddress: " + a["ip"],
            "AnalyzerAddress": "IpAddress: " + ANALYZER})
        self.assertEqual(set(start), set(test_notify.ABBR[o] for o in test_notify.TRAPS[5][1]))
        self.assertEqual(self.kinds(mid), ["SessionStart"])
        # the RADIUS exchanges and the subscriber's packets are on the lo pmirrord captures
        before = self.src_lo().get("packets", 0)
        self.login(a, [("Calling-Station-Id", a["csid"])])
        self.captured_since(before, 4)
        before = self.src_lo().get("packets", 0)
        self.traffic(a, "seen")
        self.captured_since(before, 6)
        self.assertEqual(self.jm.datagrams(), [], "nothing is mirrored without the RADIUS tracker")

    def test_capture_restart_is_followed(self):
        """The waits TestCaptureRestart relies on: a new capture process found under
        the monitor, its statistics with its PID and lo up, the traffic counted."""
        t2 = self.restart_capture()
        before = self.src_lo().get("packets", 0)
        self.traffic(ALICE, "after-restart")
        self.captured_since(before, 6)
        self.assertEqual(pm.ready_tree(self.env)["capture"], t2["capture"])


class TestRadiusLogin(RadiusCase):
    users = (dict(ALICE, vsas=vsas(ALICE)),)

    def test_login_coa_off_on_wrong_secret_replay_disconnect(self):
        a, mid = ALICE, ALICE["mid"]
        # Access-Accept with the LI VSAs (8-byte handle), then Accounting-Start: one login
        self.login(a, [("Calling-Station-Id", a["csid"])])
        start = self.wait_note("SessionStart", mid)
        self.assert_values(start, {
            "DateAndTime": DT,
            "ConfigurationSource": CS[0],
            # JUNOSe precedence among the Access-Request's attributes: no
            # Acct-Session-Id, so Calling-Station-Id
            "TriggerType": TT[4], "Trigger": "STRING: " + a["csid"],
            "RouterId": "Gauge32: %d" % NAS_ROUTER_ID,
            "Identifier": "Gauge32: %d" % mid,
            "SessionIdentifier": "Gauge32: %d" % a["sid"],
            "PolicyName": "STRING: spl_%08x" % mid,
            "PolicyId": "Gauge32: %d" % mid,
            "Direction": INGRESS,
            "TargetIpAddress": "IpAddress: " + a["ip"],
            "AnalyzerAddress": "IpAddress: " + ANALYZER})
        self.assertEqual(set(start), set(test_notify.ABBR[o] for o in test_notify.TRAPS[5][1]))
        # the target's packets, both ways, at the analyzer
        self.traffic(a, "login")
        self.wait_mirrored(a, "login", mid, a["sid"])

        # CoA, LI-Action off: mirroring stops, the session stays
        off = [("Acct-Session-Id", a["asid"]), ("NAS-IP-Address", NAS), ("ERX-LI-Action", "off")]
        rp.assert_ok(self, rp.coa(self.ns, off), "CoA off")
        deact = self.wait_note("InterfaceSessionDeactivated", mid)
        # the values of the intercept that stopped (docs/sessions.md): the login's
        self.assert_values(deact, {
            "DateAndTime": DT, "ConfigurationSource": CS[0],
            "TriggerType": TT[4], "Trigger": "STRING: " + a["csid"],
            "RouterId": "Gauge32: %d" % NAS_ROUTER_ID, "Identifier": "Gauge32: %d" % mid,
            "SessionIdentifier": "Gauge32: %d" % a["sid"], "PolicyName": "STRING: spl_%08x" % mid,
            "PolicyId": "Gauge32: %d" % mid, "TargetIpAddress": "IpAddress: " + a["ip"]})
        before = self.src_lo().get("packets", 0)
        self.traffic(a, "off")

        # CoA on, another session ID: mirroring starts again with it
        sid2 = 0xbef0
        on = [("Acct-Session-Id", a["asid"]), ("NAS-IP-Address", NAS)] + rp.li_vsas(mid, sid2, port=JM1)
        rp.assert_ok(self, rp.coa(self.ns, on), "CoA on")
        act = self.wait_note("InterfaceSessionActivated", mid)
        # a CoA-provisioned intercept: radiusCoa, the CoA's session identification
        self.assert_values(act, {
            "DateAndTime": DT, "ConfigurationSource": CS[1], "TriggerType": TT[5],
            "Trigger": "STRING: " + a["asid"], "RouterId": "Gauge32: %d" % NAS_ROUTER_ID,
            "Identifier": "Gauge32: %d" % mid, "SessionIdentifier": "Gauge32: %d" % sid2,
            "PolicyName": "STRING: spl_%08x" % mid, "PolicyId": "Gauge32: %d" % mid,
            "Direction": INGRESS, "TargetIpAddress": "IpAddress: " + a["ip"],
            "AnalyzerAddress": "IpAddress: " + ANALYZER})
        self.captured_since(before, 6)
        self.traffic(a, "on")
        self.wait_mirrored(a, "on", mid, sid2)
        # nothing sent while off was mirrored (capture is in order: "on" came after "off")
        self.assertEqual(self.jm.marked(b"off-"), [])

        # a CoA-off with a wrong secret: the NAS discards it, pmirrord changes nothing
        failed = self.radius_counter("auth_failed")
        r = rp.coa(self.ns, off, secret="not-the-li-secret", timeout=0.5)
        self.assertEqual(r.returncode, 1, "the NAS answered a CoA with a wrong secret")
        wait_for(lambda: self.radius_counter("auth_failed") == failed + 1, 10,
                 what="the CoA with a wrong secret counted as failed authentication")
        self.traffic(a, "badsecret")
        self.wait_mirrored(a, "badsecret", mid, sid2)

        # the first CoA-off again, octet for octet: a replay; pmirrord changes nothing
        verified = [q for q in self.nas.requests() if q[0] == 43 and q[4]]
        self.assertEqual(len(verified), 2, self.nas.log())
        replays = self.radius_counter("replays")
        ans = rp.send_raw(self.ns, rp.SERVER, NAS, rp.COA_PORT, verified[0][5])
        self.assertTrue(ans.startswith("2c"), "the NAS ACKs the replay as it did the original: " + ans)
        wait_for(lambda: self.radius_counter("replays") == replays + 1, 10,
                 what="the replayed CoA counted")
        wait_for(lambda: [x for x in self.mirror_log() if "replay" in x.lower()], 10,
                 what="the replay in the mirror log")
        self.traffic(a, "replayed")
        self.wait_mirrored(a, "replayed", mid, sid2)

        # Disconnect-Request, Disconnect-ACK with no Accounting-Stop first: SessionEnd adminReset
        r = rp.disconnect(self.ns, [("Acct-Session-Id", a["asid"]), ("NAS-IP-Address", NAS)])
        rp.assert_ok(self, r, "Disconnect")
        end = self.wait_note("SessionEnd", mid)
        self.assert_values(end, {
            "DateAndTime": DT, "Identifier": "Gauge32: %d" % mid,
            "SessionIdentifier": "Gauge32: %d" % sid2, "PolicyName": "STRING: spl_%08x" % mid,
            "PolicyId": "Gauge32: %d" % mid, "RouterId": "Gauge32: %d" % NAS_ROUTER_ID,
            "TargetIpAddress": "IpAddress: " + a["ip"], "AnalyzerAddress": "IpAddress: " + ANALYZER,
            "TerminationReason": "INTEGER: adminReset(6)"})
        before = self.src_lo().get("packets", 0)
        self.traffic(a, "ended")
        self.captured_since(before, 6)
        # exactly one notification per event, none for the wrong secret or the replay
        self.assertEqual(self.kinds(mid), ["SessionStart", "InterfaceSessionDeactivated",
                                           "InterfaceSessionActivated", "SessionEnd"])
        self.assertEqual(self.jm.marked(b"ended-"), [])
        self.assertEqual(self.jm.marked(b"off-"), [])
        self.assertAlive()


class TestAccountingStop(RadiusCase):
    users = (dict(BOB, vsas=vsas(BOB)), dict(CAROL, vsas=vsas(CAROL)))

    def test_stop_ends_with_its_terminate_cause(self):
        b, mid = BOB, BOB["mid"]
        self.login(b)
        start = self.wait_note("SessionStart", mid)
        # no Acct-Session-Id or Calling-Station-Id in the Access-Request, no
        # Framed-IP-Address either: User-Name
        self.assert_values(start, {"ConfigurationSource": CS[0], "TriggerType": TT[3],
                                   "Trigger": "STRING: " + b["user"],
                                   "SessionIdentifier": "Gauge32: %d" % b["sid"],
                                   "TargetIpAddress": "IpAddress: " + b["ip"]})
        self.traffic(b, "live")
        self.wait_mirrored(b, "live", mid, b["sid"])
        self.stop(b, cause="Idle-Timeout")
        end = self.wait_note("SessionEnd", mid)
        self.assert_values(end, {"DateAndTime": DT, "Identifier": "Gauge32: %d" % mid,
                                 "SessionIdentifier": "Gauge32: %d" % b["sid"],
                                 "TargetIpAddress": "IpAddress: " + b["ip"],
                                 "TerminationReason": "INTEGER: idleTimeout(4)"})
        before = self.src_lo().get("packets", 0)
        self.traffic(b, "after")
        self.captured_since(before, 6)
        self.assertEqual(self.jm.marked(b"after-"), [])
        self.assertEqual(self.kinds(mid), ["SessionStart", "SessionEnd"])

    def test_four_byte_handle_takes_the_session_id_from_acct_session_id(self):
        c, mid = CAROL, CAROL["mid"]
        sid = int(c["asid"]) % (1 << 32)        # all decimal digits: the value mod 2^32
        # the Access-Request carries Acct-Session-Id: first in JUNOSe's precedence
        self.login(c, [("Acct-Session-Id", c["asid"]), ("Calling-Station-Id", "02-00-00-00-00-0c")])
        start = self.wait_note("SessionStart", mid)
        self.assert_values(start, {"ConfigurationSource": CS[0], "TriggerType": TT[5],
                                   "Trigger": "STRING: " + c["asid"],
                                   "Identifier": "Gauge32: %d" % mid,
                                   "SessionIdentifier": "Gauge32: %d" % sid,
                                   "PolicyName": "STRING: spl_%08x" % mid})
        self.traffic(c, "four")
        self.wait_mirrored(c, "four", mid, sid)
        self.stop(c, cause="Session-Timeout")
        end = self.wait_note("SessionEnd", mid)
        self.assertEqual(end["TerminationReason"], "INTEGER: sessionTimeout(5)")
        self.assertEqual(self.kinds(mid), ["SessionStart", "SessionEnd"])


class TestReject(RadiusCase):
    users = (DAVE,)
    mirror_lines = "mirror username %s analyzer %s:%d id %d\n" % (DAVE["user"], ANALYZER, JM1, DAVE["mid"])

    def test_access_reject_for_a_trigger_is_session_reject(self):
        d, mid = DAVE, DAVE["mid"]
        r = rp.auth(self.ns, d["user"], "not-" + d["pw"], reject=True)
        rp.assert_ok(self, r, "Access-Reject")
        rej = self.wait_note("SessionReject", mid)
        self.assert_values(rej, {
            "DateAndTime": DT, "ConfigurationSource": CS[2], "TriggerType": TT[3],
            "Trigger": "STRING: " + d["user"], "RouterId": "Gauge32: %d" % NAS_ROUTER_ID,
            "Identifier": "Gauge32: %d" % mid, "PolicyName": "STRING: spl_%08x" % mid,
            "PolicyId": "Gauge32: %d" % mid, "Direction": INGRESS})
        self.assertRegex(rej["SessionIdentifier"], r"^Gauge32: \d+$")
        self.assertEqual(set(rej), set(test_notify.ABBR[o] for o in test_notify.TRAPS[9][1]))
        # a marker event after it: then exactly one notification, a SessionReject
        r = rp.auth(self.ns, d["user"], "still-" + d["pw"], reject=True)
        rp.assert_ok(self, r, "the second Access-Reject")
        self.wait_note("SessionReject", mid, count=2)
        self.assertEqual(self.kinds(mid), ["SessionReject", "SessionReject"])


class TestIpv6(RadiusCase):
    users = (dict(ERIN, vsas=vsas(ERIN)), FRANK)
    mirror_lines = "mirror ip-address %s analyzer %s:%d id %d\n" % (FRANK["prefix"], ANALYZER, JM2,
                                                                   FRANK["mid"])

    def test_ipv6_prefix_subscriber_is_tracked_triggers_and_is_mirrored(self):
        e, f = ERIN, FRANK
        # RADIUS-provisioned, Framed-IPv6-Prefix only
        self.login(e)
        start = self.wait_note("SessionStart", e["mid"])
        self.assert_values(start, {"ConfigurationSource": CS[0], "Identifier": "Gauge32: %d" % e["mid"],
                                   "SessionIdentifier": "Gauge32: %d" % e["sid"],
                                   "TargetIpAddress": "IpAddress: 0.0.0.0",   # IPv6: the MIB's 0.0.0.0
                                   "AnalyzerAddress": "IpAddress: " + ANALYZER})
        self.traffic(e, "erin")
        got = self.wait_mirrored(e, "erin", e["mid"], e["sid"])
        self.assertTrue(all(d.inner[0] >> 4 == 6 for d in got))
        # a config trigger on the prefix: cliTrigger, ipAddress
        self.login(f)
        start = self.wait_note("SessionStart", f["mid"])
        self.assert_values(start, {"ConfigurationSource": CS[2], "TriggerType": TT[1],
                                   "Identifier": "Gauge32: %d" % f["mid"],
                                   "PolicyName": "STRING: spl_%08x" % f["mid"],
                                   "TargetIpAddress": "IpAddress: 0.0.0.0"})
        sid = int(start["SessionIdentifier"].split()[-1])
        self.traffic(f, "frank")
        self.wait_mirrored(f, "frank", f["mid"], sid, port=JM2)
        # both tracked: show mirror subscribers names the prefixes, the targets marked
        subs = str(self.env.ctl_json("show", "mirror", "subscribers"))
        for s in (e, f):
            self.assertIn(s["prefix"].split("/")[0], subs)
        # erin's packets never reach frank's analyzer and the other way round
        self.assertEqual(self.jm.marked(b"erin-", JM2), [])
        self.assertEqual(self.jm.marked(b"frank-", JM1), [])
        self.assertEqual((self.kinds(e["mid"]), self.kinds(f["mid"])), (["SessionStart"], ["SessionStart"]))


class TestTwoIntercepts(RadiusCase):
    users = (dict(GINA, vsas=vsas(GINA)),)
    mirror_lines = "mirror username %s analyzer %s:%d id %d\n" % (GINA["user"], ANALYZER, JM2, GINA["mid2"])

    def test_two_mirror_ids_on_one_subscriber_both_mirror(self):
        g = GINA
        self.login(g)
        s1 = self.wait_note("SessionStart", g["mid"])
        s2 = self.wait_note("SessionStart", g["mid2"])
        self.assertEqual(s1["ConfigurationSource"], CS[0])
        self.assertEqual(s2["ConfigurationSource"], CS[2])
        self.assertEqual((s2["TriggerType"], s2["Trigger"]), (TT[3], "STRING: " + g["user"]))
        self.assertEqual(s2["PolicyName"], "STRING: spl_%08x" % g["mid2"])
        sid2 = int(s2["SessionIdentifier"].split()[-1])
        self.traffic(g, "both")
        self.wait_mirrored(g, "both", g["mid"], g["sid"], port=JM1)
        self.wait_mirrored(g, "both", g["mid2"], sid2, port=JM2)
        self.stop(g)
        self.wait_note("SessionEnd", g["mid"])
        self.wait_note("SessionEnd", g["mid2"])
        self.assertEqual(self.kinds(g["mid"]), ["SessionStart", "SessionEnd"])
        self.assertEqual(self.kinds(g["mid2"]), ["SessionStart", "SessionEnd"])


class TestRuntimeTrigger(RadiusCase):
    users = (JACK,)

    def test_trigger_added_and_removed_while_the_session_is_up(self):
        j, mid = JACK, JACK["mid"]
        self.login(j)            # no LI VSAs, no rule: tracked, not a target
        wait_for(lambda: j["ip"] in str(self.env.ctl_json("show", "mirror", "subscribers")), 10,
                 what="the session in show mirror subscribers")
        before = self.src_lo().get("packets", 0)
        self.traffic(j, "untargeted")
        self.captured_since(before, 6)
        rule = ("mirror", "username", j["user"], "analyzer", "%s:%d" % (ANALYZER, JM2), "id", str(mid))
        r = self.env.ctl(*rule, secret=pmtest.MIRROR_SECRET)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        act = self.wait_note("InterfaceSessionActivated", mid)
        self.assert_values(act, {
            "DateAndTime": DT, "ConfigurationSource": CS[2], "TriggerType": TT[3],
            "Trigger": "STRING: " + j["user"], "RouterId": "Gauge32: %d" % NAS_ROUTER_ID,
            "Identifier": "Gauge32: %d" % mid, "PolicyName": "STRING: spl_%08x" % mid,
            "PolicyId": "Gauge32: %d" % mid, "Direction": INGRESS,
            "TargetIpAddress": "IpAddress: " + j["ip"], "AnalyzerAddress": "IpAddress: " + ANALYZER})
        sid = int(act["SessionIdentifier"].split()[-1])
        self.traffic(j, "targeted")
        self.wait_mirrored(j, "targeted", mid, sid, port=JM2)
        self.assertEqual(self.jm.marked(b"untargeted-"), [])
        r = self.env.ctl("no", "mirror", "username", j["user"], "id", str(mid), secret=pmtest.MIRROR_SECRET)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        deact = self.wait_note("InterfaceSessionDeactivated", mid)
        self.assertEqual((deact["ConfigurationSource"], deact["SessionIdentifier"]),
                         (CS[2], "Gauge32: %d" % sid))
        before = self.src_lo().get("packets", 0)
        self.traffic(j, "removed")
        self.captured_since(before, 6)
        self.assertEqual(self.jm.marked(b"removed-"), [])
        self.assertEqual(self.kinds(mid), ["InterfaceSessionActivated", "InterfaceSessionDeactivated"])


class TestCoaNak(RadiusCase):
    users = (KATE,)
    nas_nak = True

    def test_nak_is_counted_and_the_mirroring_stands(self):
        k, mid = KATE, KATE["mid"]
        self.login(k)
        naks = self.radius_counter("coa_naks")
        on = [("Acct-Session-Id", k["asid"]), ("NAS-IP-Address", NAS)] + vsas(k)
        r = rp.coa(self.ns, on)
        self.assertIn("Received CoA-NAK", r.stdout)
        act = self.wait_note("InterfaceSessionActivated", mid)
        self.assert_values(act, {"ConfigurationSource": CS[1], "TriggerType": TT[5],
                                 "Trigger": "STRING: " + k["asid"],
                                 "SessionIdentifier": "Gauge32: %d" % k["sid"],
                                 "TargetIpAddress": "IpAddress: " + k["ip"]})
        wait_for(lambda: self.radius_counter("coa_naks") == naks + 1, 10, what="the CoA-NAK counted")
        wait_for(lambda: [x for x in self.mirror_log() if "nak" in x.lower()], 10,
                 what="the CoA-NAK in the mirror log")
        self.traffic(k, "naked")
        self.wait_mirrored(k, "naked", mid, k["sid"])
        self.assertEqual(self.kinds(mid), ["InterfaceSessionActivated"])


class TestCaptureRestart(RadiusCase):
    users = (dict(HANK, vsas=vsas(HANK)),)

    def test_radius_intercept_is_back_after_sigkill(self):
        h, mid = HANK, HANK["mid"]
        self.login(h)
        self.wait_note("SessionStart", mid)
        self.traffic(h, "first")
        self.wait_mirrored(h, "first", mid, h["sid"])
        self.restart_capture()
        # the agent pushed the RADIUS-provisioned intercept: datagrams resume
        n = [0]

        def resumed():
            n[0] += 1
            self.traffic(h, "again%d" % n[0], count=1)
            return self.jm.marked(b"again")
        got = wait_for(resumed, 30, interval=0.3, what="mirroring to resume after the restart")
        self.assertEqual({(d.mid, d.sid) for d in got}, {(mid, h["sid"])})
        # ... which the operator can see: no notification says it, the mirror log does
        wait_for(lambda: [e for e in self.mirror_log() if "1 RADIUS-provisioned intercept(s) "
                          "handed back to a new capture process" in e], 10,
                 what="the restore in the mirror log")
        self.traffic(h, "second")
        self.wait_mirrored(h, "second", mid, h["sid"])
        # the end of the session is still seen, once; no second SessionStart
        self.stop(h)
        self.wait_note("SessionEnd", mid)
        self.assertEqual(self.kinds(mid), ["SessionStart", "SessionEnd"])


class TestIdentityWiped(RadiusCase):
    users = (dict(IVAN, vsas=vsas(IVAN)),)

    def test_user_name_gone_from_capture_memory_after_the_session_ends(self):
        i, mid = IVAN, IVAN["mid"]
        needles = {"user name": i["user"].encode(), "Calling-Station-Id": i["csid"].encode()}
        self.login(i, [("Calling-Station-Id", i["csid"])],
                   acct_extra=[("Calling-Station-Id", i["csid"])])
        self.wait_note("SessionStart", mid)
        self.traffic(i, "mem")
        self.wait_mirrored(i, "mem", mid, i["sid"])
        cap = pm.ready_tree(self.env)["capture"]
        # while the session lives the capture process holds the name (else the scan proves nothing)
        found, total = pm.scan_memory(cap, needles)
        self.assertGreater(total, 1 << 20, "read too little of the capture process")
        self.assertIn("user name", found, "the live session's name not found: scan broken?")
        self.stop(i)
        self.wait_note("SessionEnd", mid)
        # more traffic through the same paths, then the scan (outside the packet rings)
        before = self.src_lo().get("packets", 0)
        self.traffic(i, "later")
        self.captured_since(before, 6)
        found, total = pm.scan_memory(cap, needles)
        self.assertGreater(total, 1 << 20)
        self.assertEqual(found, {}, "the ended session's identity is still in the capture process")


if __name__ == "__main__":
    unittest.main()
