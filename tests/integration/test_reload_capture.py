"""Reload of the capture process's directives (docs/reload.md "Capture process"),
under packet and RADIUS load, with the real daemon and real peers.

The world of test_radius_sessions.RadiusCase: a namespace of the test's own,
FreeRADIUS, radclient, snmptrapd and pmirrord with `capture lo` in it.  A
dummy interface of the namespace (198.18.41.1/24: what is sent to
198.18.41.9 leaves through it) is the source the reloads add, change and
remove.  While a thread sends subscriber datagrams and Accounting
Interim-Updates (bounded in count and time), the test rewrites the file and
sends SIGHUP to the monitor (PID from the pidfile), and checks from the
outside: the monitor's `reload: capture: ...` line (counts, restart-only
directives with FILE:LINE, no address or secret), `pmirrorctl show mirror
subscribers` (sessions not forgotten), `show mirror statistics` (the
unchanged source's packets go on and its handle was never reopened; the
added source captures, the removed one stops; RADIUS packets checked with
the new secret fail, with the old one back they pass; the same for a NAS
whose secret is in a radiusSecretsFile and only that file changes) and the
capture process's PID (never restarted).  The restart-only directives
(mirrorDscp, mirrorGso, mirrorInterface, maxSubscribers, an added pcap file)
are named with their FILE:LINE and not applied.
"""
import os
import re
import signal
import threading
import time
import unittest

import radpeer as rp
import test_procmodel as pm
import test_radius_sessions as trs
from pmtest import wait_for

DUMMY = "rcd0"
DUMMY_NET = "198.18.41.1/24"
DUMMY_DST = "198.18.41.9"
WRONG_SECRET = "reload-wrong-secret-5c1d"
ALICE = dict(trs.ALICE, user="alice-reload-4e1a", ip="198.18.10.7", asid="rl-0001")
BOB = dict(trs.BOB, user="bob-reload-8a2f", ip="198.18.11.7", asid="rl-0002")


class TestReloadCapture(trs.RadiusCase):
    users = (ALICE, BOB)

    def setUp(self):
        super().setUp()
        self.ns.run(["ip", "link", "add", DUMMY, "type", "veth", "peer", "name", DUMMY + "p"])
        self.ns.run(["ip", "addr", "add", DUMMY_NET, "dev", DUMMY])
        for ifc in (DUMMY, DUMMY + "p"):
            self.ns.run(["ip", "link", "set", ifc, "up"])
        # what is sent to DUMMY_DST leaves through DUMMY at once (no ARP to wait for)
        self.ns.run(["ip", "neigh", "add", DUMMY_DST, "lladdr", "02:00:00:00:41:09", "dev", DUMMY])
        with open(self.env.path("run", "pmirrord.pid")) as f:
            self.monitor = int(f.read().split()[0])
        self.stop_load = threading.Event()
        self.load_errors = []

    # -- the configuration ------------------------------------------------------------------
    def extra(self, sources=("capture lo",), secret=rp.SECRET, more=()):
        lines = ["trapEnable true", self.env.trap_host(), *sources,
                 "radiusServer %s:%d,%d secret %s coaPort %d" %
                 (rp.SERVER, rp.AUTH_PORT, rp.ACCT_PORT, secret, rp.COA_PORT), *more]
        return "\n".join(lines) + "\n"

    def reload(self, extra):
        """Rewrites the file, SIGHUP to the monitor; returns (the capture's reload
        line, the whole text) and the file's lines."""
        text = self.env.pmirrord_conf(extra)
        path = self.env.path("pmirrord.conf")
        with open(path + ".new", "w") as f:
            f.write(text)
        os.chmod(path + ".new", 0o600)
        os.rename(path + ".new", path)
        log = lambda: self.env.read_log("pmirrord")
        before = log()
        os.kill(self.monitor, signal.SIGHUP)
        wait_for(lambda: re.search(r"reload done|reload rejected", log()[len(before):]), 30,
                 what="the reload to end")
        added = log()[len(before):]
        m = re.search(r"reload: capture: (.*)", added)
        self.assertIsNotNone(m, added)
        if os.environ.get("PM_VERBOSE"):
            print("reload: capture: " + m.group(1), flush=True)
        return m.group(1), text.splitlines()

    def line_of(self, lines, start):
        return "%s:%d" % (self.env.path("pmirrord.conf"),
                          next(i + 1 for i, ln in enumerate(lines) if ln.startswith(start)))

    def write_secrets(self, path, secret):
        with open(path + ".new", "w") as f:
            f.write("radiusClient %s secret %s\n" % (rp.NAS, secret))
        os.chmod(path + ".new", 0o600)
        os.rename(path + ".new", path)

    # -- what is seen ---------------------------------------------------------------------
    def src(self, name):
        return pm.mirror_stats(self.env)["by_source"].get("src:" + name, {})

    def subscribers(self):
        return str(self.env.ctl_json("show", "mirror", "subscribers"))

    def capture_pid(self):
        return pm.tree(self.monitor)["capture"]

    def to_dummy(self, marker, count=5):
        rp.send_udp(self.ns, "198.18.41.1", DUMMY_DST, marker, count)

    def assert_clean(self, summary):
        for secret in (rp.SECRET, WRONG_SECRET, rp.SERVER, ALICE["ip"], ALICE["user"]):
            self.assertNotIn(secret, summary)

    # -- the load ---------------------------------------------------------------------------
    def load(self):
        """Subscriber datagrams and Interim-Updates until told to stop (at most 400
        rounds, 240 s)."""
        end = time.monotonic() + 240
        for i in range(400):
            if self.stop_load.is_set() or time.monotonic() > end:
                return
            try:
                rp.send_udp(self.ns, ALICE["ip"], trs.PEER4, "load-%d" % i, 5)
                rp.acct(self.ns, "Interim-Update", ALICE["user"], ALICE["asid"],
                        [("Framed-IP-Address", ALICE["ip"])])
            except Exception as ex:  # the namespace goes at the end
                self.load_errors.append(repr(ex))
                return

    def start_load(self):
        t = threading.Thread(target=self.load, daemon=True)
        t.start()
        self.addCleanup(t.join, 30)
        self.addCleanup(self.stop_load.set)

    # -- the test ---------------------------------------------------------------------------
    def test_each_capture_directive_kind_under_load(self):
        e = self.env
        self.login(ALICE)
        wait_for(lambda: ALICE["ip"] in self.subscribers(), 15, what="the session listed")
        pid = self.capture_pid()
        lo0 = self.src("lo")
        self.start_load()
        wait_for(lambda: self.src("lo").get("packets", 0) > lo0.get("packets", 0) + 20, 20,
                 what="the load captured on lo")

        # 1. a source added, settings applied in place, mirrorDscp restart-only
        more = ("signallingLatency 20", "sessionStartTimeout 45", "analyzerHoldDown 3",
                "dhcpServer 198.18.41.1", "mirrorDscp 46")
        summary, lines = self.reload(self.extra(("capture lo", "capture " + DUMMY), more=more))
        self.assertIn("capture: 1 added, 0 removed, 0 changed, 1 unchanged", summary)
        for d in ("signallingLatency", "sessionStartTimeout", "analyzerHoldDown", "dhcpServer"):
            self.assertIn(d + ": changed", summary)
        self.assertIn("%s: mirrorDscp changes at the next restart" %
                      self.line_of(lines, "mirrorDscp"), summary)
        self.assertNotIn("radius", summary)
        self.assert_clean(summary)
        wait_for(lambda: self.src(DUMMY).get("state") is not None, 10, what="src:rcd0 reported")
        d0 = self.src(DUMMY).get("packets", 0)
        self.to_dummy("added")
        wait_for(lambda: self.src(DUMMY).get("packets", 0) >= d0 + 5, 10,
                 what="the added source capturing")
        # unchanged: same handle (no reopen), its counters go on
        lo1 = self.src("lo")
        self.assertGreaterEqual(lo1["packets"], lo0["packets"])
        self.assertEqual(lo1.get("reopens", 0), lo0.get("reopens", 0))
        self.assertIn(ALICE["ip"], self.subscribers())
        self.assertEqual(self.capture_pid(), pid)

        # 2. the RADIUS secret changed: new packets are checked with it (and fail) ...
        failed0 = self.radius_counter("auth_failed")
        summary, _ = self.reload(self.extra(("capture lo", "capture " + DUMMY), WRONG_SECRET, more))
        self.assertIn("radius peers: 0 added, 0 removed, 1 changed, 0 unchanged", summary)
        self.assertNotIn("capture:", summary)
        self.assert_clean(summary)
        wait_for(lambda: self.radius_counter("auth_failed") > failed0, 20,
                 what="RADIUS packets failing with the new secret")
        # ... and with the right one back, a new login is tracked
        summary, _ = self.reload(self.extra(("capture lo", "capture " + DUMMY), more=more))
        self.assertIn("radius peers: 0 added, 0 removed, 1 changed, 0 unchanged", summary)
        self.login(BOB)
        wait_for(lambda: BOB["ip"] in self.subscribers(), 15, what="a session after the reload")
        self.assertIn(ALICE["ip"], self.subscribers())

        # 3. the added source's filter changed: a new handle in its place
        d1 = self.src(DUMMY).get("packets", 0)  # the old handle's count: 5 at least
        summary, lines = self.reload(self.extra(("capture lo", 'capture %s filter "udp"' % DUMMY),
                                                more=more))
        self.assertIn("capture: 0 added, 0 removed, 1 changed, 1 unchanged", summary)
        self.to_dummy("changed", 7)
        # the new handle's count starts again: 7 (UDP only now), not d1 + 7
        wait_for(lambda: 7 <= self.src(DUMMY).get("packets", 0) < d1 + 7, 10,
                 what="the changed source capturing with a new handle (before: %d)" % d1)

        # 4. removed: it stops; mirrorDscp gone (still restart-only, the running value stays)
        summary, _ = self.reload(self.extra(("capture lo",)))
        self.assertIn("capture: 0 added, 1 removed, 0 changed, 1 unchanged", summary)
        for d in ("signallingLatency", "sessionStartTimeout", "analyzerHoldDown", "dhcpServer"):
            self.assertIn(d + ": changed", summary)
        self.assertNotIn("mirrorDscp", summary)  # the running value again
        # its row leaves show mirror statistics; nothing brings it back
        wait_for(lambda: self.src(DUMMY) == {}, 10, what="the removed source's row dropped")
        self.to_dummy("removed")
        lo_before = self.src("lo").get("packets", 0)
        wait_for(lambda: self.src("lo").get("packets", 0) > lo_before + 5, 10, what="two more STATS")
        self.assertEqual(self.src(DUMMY), {}, "the removed source still counts")

        # 5. restart-only ones, each named with its FILE:LINE and not applied; a pcap
        # file added (its descriptor comes from the monitor at start only); a peer
        # from a radiusSecretsFile added (the NAS's own secret: the same as the server's)
        pcap = e.path("reload.pcap")
        with open(pcap, "wb") as f:
            f.write(bytes.fromhex("d4c3b2a1020004000000000000000000ffff000001000000"))
        secrets = e.path("radius.secrets")
        self.write_secrets(secrets, rp.SECRET)
        more = ("maxSubscribers 5000", "mirrorGso on", "mirrorInterface lo",
                "radiusSecretsFile " + secrets)
        summary, lines = self.reload(self.extra(("capture lo", "capture pcap:" + pcap), more=more))
        self.assertIn("%s: capture (a pcap file, added) changes at the next restart" %
                      self.line_of(lines, "capture pcap:"), summary)
        for d in ("maxSubscribers", "mirrorGso", "mirrorInterface"):
            self.assertIn("%s: %s changes at the next restart" % (self.line_of(lines, d), d),
                          summary)
        self.assertIn("radius peers: 1 added, 0 removed, 0 changed, 1 unchanged", summary)
        self.assertNotIn("capture: ", summary.replace("reload: capture: ", ""))
        self.assertIsNone(self.src(pcap).get("state"), "the pcap source was opened")
        # 6. only the secrets file changes: the NAS's packets are checked with its new secret
        failed0 = self.radius_counter("auth_failed")
        self.write_secrets(secrets, WRONG_SECRET)
        summary, _ = self.reload(self.extra(("capture lo", "capture pcap:" + pcap), more=more))
        self.assertIn("radius peers: 0 added, 0 removed, 1 changed, 1 unchanged", summary)
        self.assert_clean(summary)
        wait_for(lambda: self.radius_counter("auth_failed") > failed0, 20,
                 what="the NAS's packets failing with the secrets file's new secret")
        self.write_secrets(secrets, rp.SECRET)
        summary, _ = self.reload(self.extra(("capture lo", "capture pcap:" + pcap), more=more))
        self.assertIn("radius peers: 0 added, 0 removed, 1 changed, 1 unchanged", summary)

        # all along: the sessions, the capture process, lo's handle
        subs = self.subscribers()
        self.assertIn(ALICE["ip"], subs)
        self.assertIn(BOB["ip"], subs)
        self.assertEqual(self.capture_pid(), pid)
        self.assertEqual(self.src("lo").get("reopens", 0), lo0.get("reopens", 0))
        self.assertGreater(self.src("lo")["packets"], lo1["packets"])
        self.stop_load.set()
        self.assertEqual(self.load_errors, [])
        self.assertAlive()
        self.assertNotIn(WRONG_SECRET, e.read_log("pmirrord"))


if __name__ == "__main__":
    unittest.main()
