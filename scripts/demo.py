#!/usr/bin/env python3
"""scripts/demo.py BUILD_DIR - the story scripts/demo tells, in under a minute.

A private world, all of it started here and stopped by its PID at the end (also
on Ctrl-C, SIGTERM or a failed step):

  namespace "sub"   one link, two subscribers: alice 198.18.0.2 (a lawful-intercept
                    target) and bob 198.18.0.3 (not a target)
  namespace "bng"   the gateway: veth bng-sub 198.18.0.1 (the subscribers' link) and
                    bng-ana 198.18.1.1 (towards the analyzer); on its loopback
                    FreeRADIUS (127.0.0.1), the NAS's CoA server (127.0.0.2),
                    snmptrapd (127.0.0.1) and pmirrord capturing lo and bng-sub
  namespace "ana"   the analyzer (mediation device) 198.18.1.2:30030: a UDP
                    sink and tshark
  this host's lo    snmpd, the AgentX master pmirrord registers with (127.0.0.1)

Then: alice logs in (Access-Request/Accept with the ERX LI VSAs, Accounting
Start), sends traffic, is deactivated by a CoA, sends traffic, is activated
again by a CoA, sends traffic and logs out (Accounting Stop); bob sends traffic
throughout.  It prints what the trap receiver decoded, what the analyzer got,
the secure logs and the statistics.  The peers and helpers are those of the
integration tests (tests/integration/radpeer.py, pmtest.py).
"""
import os
import re
import signal
import subprocess
import sys
import textwrap
import time

HERE = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
if len(sys.argv) != 2:
    sys.exit("usage: demo.py BUILD_DIR (a directory holding pmirrord and pmirrorctl)")
os.environ["PM_BUILD_DIR"] = os.path.abspath(sys.argv[1])
os.environ.setdefault("PM_SOURCE_DIR", HERE)
sys.path.insert(0, os.path.join(HERE, "tests", "integration"))

import pmtest  # noqa: E402
import radpeer as rp  # noqa: E402
import test_notify  # noqa: E402
import test_procmodel as pm  # noqa: E402
from pmtest import wait_for  # noqa: E402

ANALYZER, JM_PORT = "198.18.1.2", 30030
BNG_SUB, BNG_ANA = "198.18.0.1", "198.18.1.1"
ALICE = dict(user="alice", pw="alice-pw", ip="198.18.0.2", asid="acct-alice-1",
             csid="02-00-00-00-00-0a", mid=77, sid=5)
BOB = dict(user="bob", pw="bob-pw", ip="198.18.0.3", asid="acct-bob-1", csid="02-00-00-00-00-0b")
COUNT = 3           # datagrams a subscriber sends in each phase (each one echoed)
M = test_notify.M   # Juniper-PACKET-MIRROR-MIB::juniPacketMirror

ECHO = r"""
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 5000))
print("listening", flush=True)
deadline = time.time() + float(sys.argv[2])
while time.time() < deadline:
    s.settimeout(max(0.1, deadline - time.time()))
    try:
        data, peer = s.recvfrom(2048)
    except socket.timeout:
        break
    s.sendto(data, peer)
"""

CLIENT = r"""
import socket, sys
src, dst, count, text = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((src, 0))
s.settimeout(1)
got = 0
for i in range(1, count + 1):
    s.sendto(("%s #%d" % (text, i)).encode(), (dst, 5000))
    try:
        s.recvfrom(2048)
        got += 1
    except socket.timeout:
        pass
print(got)
"""


class DemoError(Exception):
    pass


def heading(text):
    print("\n== " + text, flush=True)


def step(text):
    print("-- " + text, flush=True)


class World:
    def __init__(self):
        self.cleanups = []          # run in reverse order
        self.env = None

    def later(self, fn, *args):
        self.cleanups.append((fn, args))

    def close(self):
        while self.cleanups:
            fn, args = self.cleanups.pop()
            try:
                fn(*args)
            except Exception as ex:      # keep cleaning up
                print("cleanup: %s" % ex, file=sys.stderr)

    # -- set-up ----------------------------------------------------------------------
    def build(self):
        self.sub = rp.Netns("pmdemo-sub")
        self.later(self.sub.delete)
        self.bng = rp.Netns("pmdemo-bng")
        self.later(self.bng.delete)
        self.ana = rp.Netns("pmdemo-ana")
        self.later(self.ana.delete)
        ip = lambda *a: rp.run(["ip", *a])   # noqa: E731
        ip("-n", self.sub.name, "link", "add", "sub0", "type", "veth", "peer", "name", "bng-sub",
           "netns", self.bng.name)
        ip("-n", self.ana.name, "link", "add", "ana0", "type", "veth", "peer", "name", "bng-ana",
           "netns", self.bng.name)
        links = ((self.sub, "sub0", (ALICE["ip"], BOB["ip"])), (self.bng, "bng-sub", (BNG_SUB,)),
                 (self.bng, "bng-ana", (BNG_ANA,)), (self.ana, "ana0", (ANALYZER,)))
        for ns, dev, addrs in links:
            ns.run(["sysctl", "-q", "-w", "net.ipv6.conf.%s.disable_ipv6=1" % dev], check=False)
            for a in addrs:
                ip("-n", ns.name, "addr", "add", a + "/24", "dev", dev)
            ip("-n", ns.name, "link", "set", dev, "up")
        step("namespaces: subscribers %s (alice) and %s (bob) on one link to the BNG %s; "
             "analyzer %s:%d" % (ALICE["ip"], BOB["ip"], BNG_SUB, ANALYZER, JM_PORT))

        e = self.env = pmtest.Env(None)
        self.later(e.cleanup)
        e.start_snmpd()             # on this host's 127.0.0.1: the NMS's view
        step("snmpd (AgentX master) on 127.0.0.1:%d" % e.snmp_port)
        e.netns = self.bng.name     # everything else runs on the BNG
        test_notify.NotifyCase.start_trapd_with_mibs(self, "snmptrapd", e.trap_port)
        step("snmptrapd on the BNG's 127.0.0.1:%d, SNMPv3 user %s, with Juniper-PACKET-MIRROR-MIB"
             % (e.trap_port, pmtest.TRAP_USER[0]))
        users = {ALICE["user"]: (ALICE["pw"], [("Framed-IP-Address", ALICE["ip"])] +
                                 rp.li_vsas(ALICE["mid"], ALICE["sid"], ANALYZER, JM_PORT)),
                 BOB["user"]: (BOB["pw"], [("Framed-IP-Address", BOB["ip"])])}
        self.radius = rp.RadiusServer(self.bng, e.dir, users).start()
        self.later(self.radius.stop)
        step("FreeRADIUS on %s:%d,%d: alice's Access-Accept carries the LI VSAs (mirror ID %d, "
             "session ID %d, analyzer %s:%d), bob's none"
             % (rp.SERVER, rp.AUTH_PORT, rp.ACCT_PORT, ALICE["mid"], ALICE["sid"], ANALYZER,
                JM_PORT))
        self.nas = rp.FakeNas(self.bng, e.dir, timeout=120)
        self.later(self.nas.stop)
        step("the NAS's CoA server on %s:%d" % (rp.NAS, rp.COA_PORT))
        self.echo = self.bng.popen([rp.PY, "-c", ECHO, BNG_SUB, "120"], e.path("logs", "echo.out"))
        self.later(rp.stop_pid, self.echo)
        wait_for(lambda: "listening" in pmtest.read_text(e.path("logs", "echo.out")) or
                 self.echo.poll() is not None, 10, what="the echo server")
        self.jm = rp.JmListener(self.ana, e.dir, "%s:%d" % (ANALYZER, JM_PORT), timeout=120)
        self.later(self.jm.stop)
        self.pcap = e.path("analyzer.pcapng")
        tlog = e.path("logs", "tshark.out")
        self.tshark = self.ana.popen(["tshark", "-i", "ana0", "-f", "udp dst port %d" % JM_PORT,
                                      "-w", self.pcap], tlog)
        self.later(rp.stop_pid, self.tshark, signal.SIGINT)
        wait_for(lambda: "Capturing on" in pmtest.read_text(tlog) or self.tshark.poll() is not None,
                 20, what="tshark to capture")
        if self.tshark.poll() is not None:
            raise DemoError("tshark exited: " + pmtest.read_text(tlog))
        step("analyzer: a UDP sink on %s:%d and tshark capturing ana0" % (ANALYZER, JM_PORT))

        conf = "\n".join([
            "trapEnable true", e.trap_host(), "secureLog on",
            "capture lo role signalling", "capture bng-sub role data",
            "radiusServer %s:%d,%d secret %s coaPort %d" % (rp.SERVER, rp.AUTH_PORT, rp.ACCT_PORT,
                                                            rp.SECRET, rp.COA_PORT)]) + "\n"
        e.start_pmirrord(conf)
        self.later(e.stop, "pmirrord")
        pm.ready_tree(e)
        self.ctl = pmtest.CtlConn(e.path("run", "ctl.sock"))
        self.later(self.ctl.close)
        st, body = self.ctl.request("mirror-enable " + pmtest.MIRROR_SECRET)
        if st != "OK":
            raise DemoError("mirror-enable: %s %s" % (st, body))
        wait_for(lambda: all(self.source(s).get("state") == pm.SRC_UP for s in ("lo", "bng-sub")),
                 30, interval=0.2, what="pmirrord capturing lo and bng-sub")
        e.wait_registered()
        step("pmirrord on the BNG: capturing lo (RADIUS) and bng-sub (subscribers), registered "
             "with snmpd")
        print("   an NMS reads it through snmpd (SNMPv3 authPriv): " +
              self.snmpget_trapenable().strip())

    # -- reading -----------------------------------------------------------------------
    def stats(self):
        st, body = self.ctl.request("@json show mirror statistics")
        if st != "OK":
            raise DemoError("show mirror statistics: %s %s" % (st, body))
        import json
        return json.loads(body)

    def source_counters(self, source):
        return {c["counter"]: c["value"] for c in self.stats().get("counters", [])
                if c["source"] == source}

    def source(self, name):
        """The counters of capture source name ({"state": 1 (up), "packets": N, ...})."""
        return self.source_counters("src:" + name)

    def snmpget_trapenable(self):
        e = self.env
        mibs = ["-M", os.path.join(HERE, "mibs") + ":" + e.ietf, "-m", "Juniper-PACKET-MIRROR-MIB"]
        r = subprocess.run(["snmpget", *e.v3_admin_args(), *mibs, "-t", "1", "-r", "1", e.target(),
                            "Juniper-PACKET-MIRROR-MIB::juniPacketMirrorTrapEnable.0"],
                           env=e.tool_env, capture_output=True, text=True, timeout=30)
        if r.returncode != 0:
            raise DemoError("snmpget: " + r.stderr)
        return r.stdout

    def notes(self):
        out = []
        for line in self.env.trap_lines():
            _, vbs = test_notify.varbinds(line)
            kind, vals = None, {}
            for n, v in vbs:
                if n == "SNMPv2-MIB::snmpTrapOID.0":
                    kind = v.split("::")[-1]
                elif n.startswith(M):
                    v = re.sub(r'^STRING: "(.*)"$', r"STRING: \1", v)
                    vals[n[len(M):].rsplit(".", 1)[0]] = v
            out.append((kind, vals))
        return out

    def wait_note(self, kind):
        name = "juniPacketMirror" + kind
        wait_for(lambda: any(k == name for k, _ in self.notes()), 20,
                 what="%s at snmptrapd (got %s)" % (kind, [k for k, _ in self.notes()]))
        print("   snmptrapd received %s" % name, flush=True)

    def mirrored(self, marker):
        return self.jm.marked(marker.encode())

    # -- the story -------------------------------------------------------------------------
    def traffic(self, sub, text):
        r = self.sub.run([rp.PY, "-c", CLIENT, sub["ip"], BNG_SUB, str(COUNT), text])
        step("%s sends %d datagrams to %s, each echoed: \"%s #1\"...  (%s echoed)"
             % (sub["user"], COUNT, BNG_SUB, text, r.stdout.strip()))
        if r.stdout.strip() != str(COUNT):
            raise DemoError("%s's traffic was not echoed" % sub["user"])

    def wait_mirrored(self, marker, n):
        wait_for(lambda: len(self.mirrored(marker)) >= n, 20,
                 what="%d datagrams \"%s\" at the analyzer" % (n, marker))

    def ok(self, r, what):
        if r.returncode != 0:
            raise DemoError("%s: radclient rc %d\n%s%s" % (what, r.returncode, r.stdout, r.stderr))

    def login(self, sub):
        self.ok(rp.auth(self.bng, sub["user"], sub["pw"], [("Calling-Station-Id", sub["csid"])]),
                "Access-Request of " + sub["user"])
        self.ok(rp.acct(self.bng, "Start", sub["user"], sub["asid"],
                        [("Framed-IP-Address", sub["ip"]), ("Calling-Station-Id", sub["csid"])]),
                "Accounting-Start of " + sub["user"])

    def story(self):
        a, b, mid, sid = ALICE, BOB, ALICE["mid"], ALICE["sid"]
        heading("The story: two subscribers on one link, one of them a lawful-intercept target")
        self.login(a)
        step("alice logs in: radclient Access-Request -> Access-Accept with LI VSAs, "
             "Accounting-Request Start")
        self.wait_note("SessionStart")
        self.login(b)
        step("bob logs in: Access-Accept without LI VSAs, Accounting-Request Start")
        subs = wait_for(lambda: b["ip"] in self.ctl.request("show mirror subscribers")[1] and
                        self.ctl.request("show mirror subscribers")[1], 10,
                        what="bob's session tracked")
        step("the sessions pmirrord learnt from RADIUS (show mirror subscribers; "
             "* marks a target):")
        print(self.indent(subs, 5))
        self.traffic(a, "alice: logged in")
        self.traffic(b, "bob: never a target")
        self.wait_mirrored("alice: logged in", 2 * COUNT)
        off = [("Acct-Session-Id", a["asid"]), ("NAS-IP-Address", rp.NAS), ("ERX-LI-Action", "off")]
        self.ok(rp.coa(self.bng, off), "CoA off")
        step("the RADIUS server sends a CoA-Request with ERX-LI-Action off: NAS answers CoA-ACK")
        self.wait_note("InterfaceSessionDeactivated")
        before = self.source("bng-sub").get("packets", 0)
        self.traffic(a, "alice: after CoA off")
        # The data source hands its packets over in blocks (up to 50 ms later,
        # docs/capture-sources.md) while RADIUS on lo is read at once: the next CoA
        # waits until these packets were seen, so that they meet the intercept off.
        wait_for(lambda: self.source("bng-sub").get("packets", 0) >= before + 2 * COUNT, 10,
                 interval=0.1, what="pmirrord to capture alice's packets sent while off")
        on = [("Acct-Session-Id", a["asid"]), ("NAS-IP-Address", rp.NAS)] + \
            rp.li_vsas(mid, sid, ANALYZER, JM_PORT)
        self.ok(rp.coa(self.bng, on), "CoA on")
        step("a CoA-Request with ERX-LI-Action on (mirror ID %d, session ID %d): CoA-ACK"
             % (mid, sid))
        self.wait_note("InterfaceSessionActivated")
        self.traffic(a, "alice: after CoA on")
        self.traffic(b, "bob: never a target")
        self.wait_mirrored("alice: after CoA on", 2 * COUNT)
        # the statistics while alice is still a target (an intercept's row ends with it),
        # once the capture process's counters (sent each second) count every datagram
        wait_for(lambda: self.source_counters("jmirror").get("sent", 0) >= 4 * COUNT, 10,
                 interval=0.2, what="the jmirror counters to count %d datagrams" % (4 * COUNT))
        self.stats_text = self.pmirrorctl("show", "mirror", "statistics")
        self.ok(rp.acct(self.bng, "Stop", a["user"], a["asid"], [
            ("Framed-IP-Address", a["ip"]), ("Acct-Session-Time", "30"),
            ("Acct-Terminate-Cause", "User-Request")]), "Accounting-Stop of alice")
        step("alice logs out: Accounting-Request Stop")
        self.wait_note("SessionEnd")
        # Capture is in order on bng-sub: what alice sent while off and bob's traffic
        # came before the datagrams waited for above.
        got = {m: len(self.mirrored(m)) for m in ("alice: logged in", "alice: after CoA off",
                                                  "alice: after CoA on", "bob")}
        want = {"alice: logged in": 2 * COUNT, "alice: after CoA off": 0,
                "alice: after CoA on": 2 * COUNT, "bob": 0}
        if got != want:
            raise DemoError("datagrams at the analyzer %s, expected %s" % (got, want))
        step("at the analyzer: %d datagrams while alice was a target, none while off, none of bob's"
             % (4 * COUNT))

    # -- the evidence ------------------------------------------------------------------
    def show_notes(self):
        heading("1. Notifications: SNMPv3 authPriv traps from pmirrord, as snmptrapd decoded them "
                "with Juniper-PACKET-MIRROR-MIB")
        keys = ("Identifier", "SessionIdentifier", "ConfigurationSource", "TriggerType", "Trigger",
                "TargetIpAddress", "AnalyzerAddress", "TerminationReason")
        for kind, vals in self.notes():
            print("  %s" % kind)
            print(textwrap.fill(", ".join("%s = %s" % (k, vals[k]) for k in keys if k in vals), 100,
                                initial_indent="      ", subsequent_indent="      "))

    def show_capture(self):
        heading("2. The analyzer's capture: tshark decodes each UDP datagram to %s:%d as jmirror "
                "(mirror ID, session ID, then alice's packet)" % (ANALYZER, JM_PORT))
        n = len(self.jm.datagrams())
        try:        # dumpcap writes each packet as it comes; stopping it writes the rest
            wait_for(lambda: self.pcap_count() >= n, 5, interval=0.2)
        except AssertionError:
            pass
        rp.stop_pid(self.tshark, signal.SIGINT)
        if self.pcap_count() != n:
            raise DemoError("tshark captured %d datagrams, the analyzer received %d"
                            % (self.pcap_count(), n))
        dec = [] if JM_PORT == 30030 else ["-d", "udp.port==%d,jmirror" % JM_PORT]
        fields = ("frame.number", "jmirror.mid", "jmirror.sid", "ip.src", "ip.dst", "data.text")
        r = rp.run(["tshark", "-r", self.pcap, *dec, "-o", "data.show_as_text:TRUE", "-T", "fields",
                    "-E", "separator=|", *[w for f in fields for w in ("-e", f)]])
        row = "  %3s  %-26s %-11s %-11s %-25s %s"
        print(row % ("#", "outer ip.src -> ip.dst", "jmirror.mid", "jmirror.sid",
                     "inner ip.src -> ip.dst", "payload"))
        for line in r.stdout.splitlines():
            f = line.split("|")
            if len(f) < 6:
                continue
            src, dst = f[3].split(","), f[4].split(",")
            mid_s, sid_s = (re.sub(r"^0x0*([0-9a-f]+)$", lambda m: str(int(m.group(1), 16)), x)
                            for x in (f[1], f[2]))
            inner = "%s -> %s" % (src[-1], dst[-1]) if len(src) > 1 else "-"
            print(row % (f[0], "%s -> %s" % (src[0], dst[0]), mid_s, sid_s, inner, f[5]))
        return r.stdout

    def pcap_count(self):
        r = rp.run(["capinfos", "-c", "-M", self.pcap], check=False)
        m = re.search(r"Number of packets:\s+(\d+)", r.stdout)
        return int(m.group(1)) if m else 0

    def pmirrorctl(self, *words):
        r = self.env.ctl(*words, secret=pmtest.MIRROR_SECRET)
        if r.returncode != 0:
            raise DemoError("pmirrorctl -e %s: %s%s" % (" ".join(words), r.stdout, r.stderr))
        return r.stdout

    def show_logs(self):
        heading("3. The mirror log, a secure log readable only after mirror-enable: "
                "pmirrorctl -e show mirror log")
        print(self.indent(self.pmirrorctl("show", "mirror", "log")))
        heading("4. The SNMP audit log, the other secure log (the NMS's requests, the traps sent): "
                "pmirrorctl -e show snmp secure-log")
        print(self.indent(self.pmirrorctl("show", "snmp", "secure-log")))

    def show_stats(self):
        heading("5. Statistics: pmirrorctl -e show mirror statistics (before alice logged out)")
        out = self.stats_text
        rows = [ln.strip() for ln in out.splitlines()
                if ln.strip().startswith(("intercept mid=", "analyzer "))]
        # the jmirror sender's counters (STATS "jmirror") and the sessions'
        keep = re.compile(r"^(jmirror +(sent|packets|bytes|batches|send_errors|err_unreach|"
                          r"fragmented|lost_source|lost_send|lost_unreach|outages) +\d+|"
                          r"sessions +(sessions|targets|created|events_raised) +\d+)$")
        if rows:
            print("  (an intercept's row counts since it was last activated, by the second CoA; "
                  "the jmirror counters since start)")
        rows += [ln.strip() for ln in out.splitlines() if keep.match(ln.strip())]
        print(self.indent("\n".join(rows) or out))

    @staticmethod
    def indent(text, n=2):
        # a table's rule no wider than a terminal (pmirrorctl draws it as wide as the widest entry)
        return "\n".join(" " * n + re.sub(r"-{100,}", "-" * 96, ln)
                         for ln in text.rstrip("\n").splitlines())


def main():
    t0 = time.monotonic()
    w = World()

    def on_signal(signum, _frame):
        raise KeyboardInterrupt("signal %d" % signum)
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    rc = 0
    try:
        heading("Setting up a private world: namespaces, snmpd, snmptrapd, FreeRADIUS, "
                "an analyzer, pmirrord")
        w.build()
        w.story()
        w.show_notes()
        w.show_capture()
        w.show_logs()
        w.show_stats()
    except KeyboardInterrupt:
        print("\ndemo: interrupted; cleaning up", file=sys.stderr)
        rc = 130
    except (DemoError, AssertionError, subprocess.SubprocessError, OSError) as ex:
        print("\ndemo: FAILED: %s" % ex, file=sys.stderr)
        if w.env is not None:
            for name in ("pmirrord", "snmptrapd"):
                p = w.env.path("logs", name + ".out")
                if os.path.exists(p):
                    print("--- %s (last lines)\n%s" % (name, pmtest.read_text(p)[-2000:]),
                          file=sys.stderr)
        rc = 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)     # a second Ctrl-C lets the clean-up end
        w.close()
    if rc == 0:
        heading("demo done in %.1f s; everything it started is stopped and its namespaces deleted"
                % (time.monotonic() - t0))
    return rc


if __name__ == "__main__":
    sys.exit(main())
