"""The agent's side of a reload (docs/reload.md, "The agent"): SIGHUP with a
changed file while events flow.

The daemon (pm_evtestd: pmirrord's core, events raised inside the capture
process from a FIFO) runs in a network namespace the test creates, with a
dummy interface d0 captured and mirrored by `mirror interface d0` rules, and
five snmptrapd receivers on 127.0.0.1 in that namespace: one trap host of the
file left unchanged, one removed, one retuned (queueSize), one added by the
reload, and one added through `pmirrorctl trap-host add`.  A steady stream of
SessionStart events (one mirror ID each, in sequence) runs across the reload;
the unchanged, the retuned and pmirrorctl's receivers get every one exactly
once, in order; the removed one a prefix, the added one a suffix.  The static
mirror that stays gets no InterfaceSessionDeactivated/Activated; the removed
one is deactivated, the added one activated.  Restart-only directives are
reported with FILE:LINE and not applied; the agent keeps its PID.
"""
import json
import os
import re
import secrets
import signal
import subprocess
import unittest

import pmtest
import test_procmodel as pm
from pmtest import MIRROR_SECRET, TRAP_USER, PmTestCase, free_udp_port, trapd_conf, wait_for

LOAD_FIRST, LOAD_N, LOAD_RATE = 100000, 600, 150
TRAP_OID = re.compile(r"\.1\.3\.6\.1\.6\.3\.1\.1\.4\.1\.0 = OID: \.1\.3\.6\.1\.4\.1\.4874\.2\.2\.77\.3\.0\.(\d+)")
MID = re.compile(r"77\.3\.1\.1\.0 = Gauge32: (\d+)")
RECEIVERS = ("keep", "gone", "tune", "new", "ctl")


def notifications(lines):
    """[(trap number, mirror ID)] in the order received."""
    out = []
    for l in lines:
        t, m = TRAP_OID.search(l), MID.search(l)
        if t and m:
            out.append((int(t.group(1)), int(m.group(1))))
    return out


class ReloadAgentCase(PmTestCase):
    NETNS = True   # the static mirrors need d0; SNMP tools reach snmpd only outside

    def setUp(self):
        if not self.NETNS:
            super().setUp()
            self.start_receivers()
            return
        self.ns = "pmra-" + secrets.token_hex(4)
        r = subprocess.run(["ip", "netns", "add", self.ns], capture_output=True, text=True)
        if r.returncode != 0:
            self.fail("cannot create network namespace %s (CI must not skip): %s" % (self.ns, r.stderr))
        self.addCleanup(self.delete_netns)
        # no IPv6 in the namespace: nothing on d0 but what the test sends (nothing)
        for k in ("all", "default"):
            subprocess.run(["ip", "netns", "exec", self.ns, "sysctl", "-qw",
                            "net.ipv6.conf.%s.disable_ipv6=1" % k], capture_output=True)
        for cmd in (["link", "set", "lo", "up"], ["link", "add", "d0", "type", "veth", "peer", "name", "d1"],
                    ["link", "set", "d0", "up"], ["link", "set", "d1", "up"]):
            r = subprocess.run(["ip", "-n", self.ns, *cmd], capture_output=True, text=True)
            self.assertEqual(r.returncode, 0, r.stderr)
        super().setUp()
        self.env.netns = self.ns
        self.start_receivers()

    def start_receivers(self):
        # analyzers and mirror IDs of this test: never in the ordinary log
        self.env.secrets.update({"127.0.0.9:3003", TRAP_USER[2], TRAP_USER[4]})
        self.port = {n: free_udp_port() for n in RECEIVERS}
        for n in RECEIVERS:
            self.env.start_snmptrapd(name="rx-" + n, port=self.port[n], conf=trapd_conf(self.port[n]))

    def delete_netns(self):
        subprocess.run(["ip", "netns", "delete", self.ns], capture_output=True, text=True)

    def conf_path(self):
        return self.env.path("pmirrord.conf")

    def host(self, n, extra=""):
        return self.env.trap_host(port=self.port[n], extra=extra)

    def write_conf(self, lines):
        text = self.env.pmirrord_conf("\n".join(lines) + "\n")
        tmp = self.conf_path() + ".new"
        with open(tmp, "w") as f:
            f.write(text)
        os.chmod(tmp, 0o600)
        os.rename(tmp, self.conf_path())
        return text

    def line_of(self, text, prefix):
        for i, l in enumerate(text.split("\n")):
            if l.startswith(prefix):
                return "%s:%d" % (self.conf_path(), i + 1)
        raise AssertionError("no line " + prefix)

    def start(self, lines):
        self.env.start_evtestd("\n".join(lines) + "\n")
        self.tree = pm.ready_tree(self.env)

    def log(self):
        return self.env.read_log("pmirrord")

    def reload(self):
        before = self.log()
        done = before.count("reload done") + before.count("reload rejected")
        os.kill(self.env.daemons["pmirrord"].pid(), signal.SIGHUP)
        wait_for(lambda: self.log().count("reload done") + self.log().count("reload rejected") > done,
                 20, what="the reload to end")
        return self.log()[len(before):]

    def reload_with(self, lines):
        self.write_conf(lines)
        return self.reload()

    def got(self, n):
        return notifications(self.env.trap_lines("rx-" + n))

    def ctl(self, *words):
        r = self.env.ctl(*words, secret=MIRROR_SECRET)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        return r.stdout

    def trap_stats(self):
        return self.env.ctl_json("show", "snmp", "trap")


class TestReloadUnderLoad(ReloadAgentCase):
    def test_hosts_and_triggers_under_event_load(self):
        self.env.secret_ids.update({11, 12, 13, 14})
        # the mirror log keeps every entry of the load (one per event) and the reload's
        base = ["mirrorLogSize 2000", "trapEnable true", self.host("keep"), self.host("gone"),
                self.host("tune", "queueSize 300"), "capture d0",
                "mirror interface d0 analyzer 127.0.0.9:30031 id 11",
                "mirror interface d0 analyzer 127.0.0.9:30033 id 13"]
        self.start(base)
        self.ctl("trap-host", "add", "127.0.0.1:%d" % self.port["ctl"], "user", TRAP_USER[0], "auth",
                 TRAP_USER[1], TRAP_USER[2], "priv", TRAP_USER[3], TRAP_USER[4])
        self.ctl("mirror", "interface", "d0", "analyzer", "127.0.0.9:30034", "id", "14")
        wait_for(lambda: {(7, 11), (7, 13), (7, 14)} <= set(self.got("keep")), 20,
                 what="the three static mirrors activated")
        agent_pid = self.tree["agent"]

        self.env.raise_event("trap=5 mid=%d sid=4242 count=%d rate=%d" % (LOAD_FIRST, LOAD_N, LOAD_RATE))
        wait_for(lambda: sum(1 for t, _ in self.got("keep") if t == 5) >= LOAD_N // 4, 30,
                 what="a quarter of the load at the unchanged receiver")
        new = ["mirrorLogSize 2000", "trapEnable true", self.host("keep"), self.host("tune", "queueSize 200"), self.host("new"),
               "capture d0", "# a comment moves the next line",
               "mirror interface d0 analyzer 127.0.0.9:30031 id 11",
               "mirror interface d0 analyzer 127.0.0.9:30032 id 12",
               "agentXPingInterval 3", "controlSocket " + self.env.path("run", "other.sock")]
        text = self.write_conf(new)
        added = self.reload()
        m = re.search(r"reload: agent: (.*)", added)
        self.assertIsNotNone(m, added)
        summary = m.group(1)
        self.assertIn("trapHost: 1 added, 1 removed, 1 changed, 1 unchanged", summary)
        self.assertIn("mirror: 1 added, 1 removed, 1 unchanged", summary)
        # the last agentXPingInterval line and controlSocket line are the file's own
        ping = [i for i, l in enumerate(text.split("\n")) if l.startswith("agentXPingInterval")][-1] + 1
        self.assertIn("%s:%d: agentXPingInterval changes at the next restart; "
                      "%s: controlSocket changes at the next restart" % (
                          self.conf_path(), ping,
                          self.line_of(text, "controlSocket " + self.env.path("run", "other.sock"))),
                      summary)
        for word in ("127.0.0.1", "127.0.0.9", "trapUser", "d0", " 11", " 12", " 13", TRAP_USER[2]):
            self.assertNotIn(word, summary)
        self.assertNotIn("RELOAD_FAILED", added)

        # the load runs to its end
        last = LOAD_FIRST + LOAD_N - 1
        wait_for(lambda: (5, last) in self.got("keep") and (5, last) in self.got("tune") and
                 (5, last) in self.got("ctl") and (5, last) in self.got("new"), 60,
                 what="the last event at every receiver")
        want = list(range(LOAD_FIRST, last + 1))
        for n in ("keep", "tune", "ctl"):
            got = [m for t, m in self.got(n) if t == 5]
            self.assertEqual(got, want, "receiver %s: events lost, repeated or out of order" % n)
        gone = [m for t, m in self.got("gone") if t == 5]
        self.assertTrue(gone and gone == want[:len(gone)] and len(gone) < LOAD_N, "removed host: %s" % gone[-3:])
        newly = [m for t, m in self.got("new") if t == 5]
        self.assertTrue(newly and newly == want[-len(newly):] and len(newly) < LOAD_N,
                        "added host: %s" % newly[:3])

        # static mirrors: 11 and pmirrorctl's 14 untouched, 13 ended, 12 begun
        wait_for(lambda: (7, 12) in self.got("keep") and (8, 13) in self.got("keep"), 20,
                 what="mirror 12 activated and 13 deactivated")
        statics = [x for x in self.got("keep") if x[0] in (3, 7, 8)]
        self.assertEqual(sorted(statics), sorted([(7, 11), (7, 13), (7, 14), (7, 12), (8, 13)]), statics)
        t = self.env.ctl_json("show", "mirror", "triggers")
        sources = sorted(r["source"] for r in t["triggers"])
        self.assertIn("pmirrorctl", sources)
        self.assertEqual(t["trigger_count"], 3)

        # the hosts: pmirrorctl's is still there; the retuned one has its new queue
        st = self.trap_stats()
        hosts = {r["address"] for r in st["hosts"]}
        self.assertEqual(hosts, {"127.0.0.1:%d" % self.port[n] for n in ("keep", "tune", "new", "ctl")})
        q = {r["address"]: r for r in st["queues"]}
        self.assertEqual(q["127.0.0.1:%d" % self.port["tune"]]["queue_size"], 200)

        # restart-only: not applied (the control socket is where it was)
        self.assertFalse(os.path.exists(self.env.path("run", "other.sock")))
        self.assertEqual(self.tree, pm.ready_tree(self.env), "a child was restarted")
        self.assertEqual(agent_pid, pm.tree(self.env.daemons["pmirrord"].pid())["agent"])

        # every change is in the mirror log, as pmirrorctl's are
        ml = self.ctl("show", "mirror", "log")
        self.assertIn("trap-host add 127.0.0.1:%d user trapUser" % self.port["new"], ml)
        self.assertIn("trap-host remove 127.0.0.1:%d" % self.port["gone"], ml)
        self.assertIn("trap-host change 127.0.0.1:%d queueSize 200" % self.port["tune"], ml)
        self.assertRegex(ml, r"reload \S+: mirror interface d0 analyzer 127\.0\.0\.9:30032 id 12.* added")
        self.assertRegex(ml, r"reload \S+: mirror interface d0 analyzer 127\.0\.0\.9:30033 id 13.* removed")

        # the same file again: nothing changes
        added = self.reload()
        self.assertIn("reload: agent: unchanged", added)


class TestReloadSettings(ReloadAgentCase):
    NETNS = False

    def test_trap_enable_set_over_snmp_wins_until_the_file_changes_it(self):
        """juniPacketMirrorTrapEnable SET over SNMP (persisted) stays across a reload that
        leaves trapEnable alone; a reload whose trapEnable value changed applies it."""
        self.env.start_snmpd()
        lines = ["trapEnable true", self.host("keep")]
        self.start(lines)
        self.env.wait_registered()
        r = self.env.snmpset_v3(pmtest.OID_TRAPENABLE, "i", "2")
        self.assertEqual(r.returncode, 0, r.stderr)
        wait_for(lambda: self.trap_stats()["trap_enable"] is False, 10, what="the SET to apply")
        added = self.reload_with(lines + ["globalTrapSeverity 6"])
        self.assertNotRegex(added, r"reload: agent: .*trapEnable")
        self.assertIs(self.trap_stats()["trap_enable"], False)
        self.assertIn("INTEGER: 2", self.env.snmpget_v3(pmtest.OID_TRAPENABLE).stdout)
        # the file says false now, then true again: each change of the file's value applies
        added = self.reload_with(["trapEnable false", self.host("keep"), "globalTrapSeverity 6"])
        self.assertRegex(added, r"reload: agent: .*trapEnable")
        added = self.reload_with(["trapEnable true", self.host("keep"), "globalTrapSeverity 6"])
        self.assertRegex(added, r"reload: agent: .*trapEnable")
        self.assertIs(self.trap_stats()["trap_enable"], True)
        self.assertIn("INTEGER: 1", self.env.snmpget_v3(pmtest.OID_TRAPENABLE).stdout)
        self.env.raise_event("trap=5 mid=511")
        wait_for(lambda: (5, 511) in self.got("keep"), 20, what="an event with trapEnable true")
        # and the value is persisted as a SET is: a restart keeps it over the file's default
        pers = self.env.path("agent", "persist", "pmirrord-agent.conf")
        wait_for(lambda: "pmTrapEnable 1" in pmtest.read_text(pers), 10, what="the value persisted")

    def test_larger_queues_keep_room_for_pmirrorctl_hosts(self):
        """Locked memory counts, besides the file's queues, a run-time queue for every
        free host slot: a reload may not give those slots' room to the file's queues."""
        self.start(["trapEnable true", self.host("keep", "queueSize 1000")])
        # 3000 <= 1000 + 63 * 32, but 63 pmirrorctl hosts could still come on top
        added = self.reload_with(["trapEnable true", self.host("keep", "queueSize 3000")])
        self.assertRegex(added, r"reload: agent: refused: .*locked at the start")
        self.assertEqual([q["queue_size"] for q in self.trap_stats()["queues"]], [1000])
        # within the budget it applies
        added = self.reload_with(["trapEnable true", self.host("keep", "queueSize 900")])
        self.assertRegex(added, r"reload: agent: trapHost: 1 changed")
        self.assertEqual([q["queue_size"] for q in self.trap_stats()["queues"]], [900])

    def test_severities_trap_enable_secure_log_secret(self):
        lines = ["trapEnable true", self.host("keep")]
        self.start(lines)
        self.env.raise_event("trap=5 mid=501")
        wait_for(lambda: (5, 501) in self.got("keep"), 20, what="the first event")

        # globalTrapSeverity 5 filters SessionStart (informational, 6)
        self.write_conf(lines + ["globalTrapSeverity 5", "secureLog on"])
        added = self.reload()
        self.assertRegex(added, r"reload: agent: .*globalTrapSeverity.*secureLog")
        st = self.trap_stats()
        self.assertEqual(st["global_severity"], 5)
        self.env.raise_event("trap=5 mid=502")
        wait_for(lambda: self.trap_stats()["filtered_global_severity"] == 1, 10,
                 what="SessionStart filtered by the global severity")
        self.assertIn("enabled", self.ctl("show", "snmp", "secure-log"))

        # trapSeverity SessionStart 4 lets it through again
        self.write_conf(lines + ["globalTrapSeverity 5", "secureLog on", "trapSeverity SessionStart 4"])
        added = self.reload()
        self.assertRegex(added, r"reload: agent: .*trapSeverity")
        self.env.raise_event("trap=5 mid=503")
        wait_for(lambda: (5, 503) in self.got("keep"), 20, what="SessionStart at severity 4")
        self.assertNotIn((5, 502), self.got("keep"))

        # trapEnable: the file's value only when the file's value changes
        self.write_conf(["trapEnable false", self.host("keep"), "globalTrapSeverity 5", "secureLog on",
                         "trapSeverity SessionStart 4"])
        added = self.reload()
        self.assertRegex(added, r"reload: agent: .*trapEnable")
        self.assertEqual(self.trap_stats()["trap_enable"], False)
        # a run-time change (as an SNMP SET would) is not undone by a reload that
        # leaves trapEnable alone: here secureLog is turned off at run time and the
        # file changes something else
        self.ctl("no", "snmp", "secure-log")
        self.write_conf(["trapEnable false", self.host("keep"), "globalTrapSeverity 6", "secureLog on",
                         "trapSeverity SessionStart 4"])
        added = self.reload()
        self.assertNotRegex(added, r"reload: agent: .*(trapEnable|secureLog)")
        self.assertIn("disabled", self.ctl("show", "snmp", "secure-log"))
        self.assertEqual(self.trap_stats()["trap_enable"], False)

        # mirrorSecret: a new hash is the one mirror-enable checks from now on
        other = pmtest.secret_hash("another-mirror-secret")
        text = self.env.pmirrord_conf("\n".join(["trapEnable false", self.host("keep"),
                                                 "globalTrapSeverity 6", "secureLog on",
                                                 "trapSeverity SessionStart 4"]) + "\n")
        text = re.sub(r"(?m)^mirrorSecret .*$", "mirrorSecret " + other, text)
        with open(self.conf_path() + ".new", "w") as f:
            f.write(text)
        os.chmod(self.conf_path() + ".new", 0o600)
        os.rename(self.conf_path() + ".new", self.conf_path())
        added = self.reload()
        self.assertRegex(added, r"reload: agent: .*mirrorSecret")
        r = self.env.ctl("show", "mirror", "log", secret=MIRROR_SECRET)
        self.assertNotEqual(r.returncode, 0)
        r = self.env.ctl("show", "mirror", "log", secret="another-mirror-secret")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("mirrorSecret changed", r.stdout)
        self.assertIn("trapEnable false", r.stdout)

    def test_new_user_is_a_new_session(self):
        """Another USM user (or passphrase) at the same address: the host is replaced,
        its notifications leave under the new user with keys from the new passphrases."""
        rot = ("rotUser", "SHA-256", "rot-auth-passphrase", "AES", "rot-priv-passphrase")
        self.env.secrets.update({rot[2], rot[4]})
        port = free_udp_port()
        self.env.start_snmptrapd(name="rx-rot", port=port, conf=trapd_conf(port, users=(TRAP_USER, rot)))
        lines = ["trapEnable true", self.host("keep")]
        self.start(lines + [self.env.trap_host(port=port)])
        self.env.raise_event("trap=5 mid=521")
        wait_for(lambda: len(self.env.trap_lines("rx-rot")) == 1, 20, what="the first event")
        self.assertIn("user trapUser", self.env.trap_lines("rx-rot")[0])
        added = self.reload_with(lines + [self.env.trap_host(port=port, user=rot)])
        self.assertRegex(added, r"reload: agent: trapHost: 1 changed, 1 unchanged")
        self.env.raise_event("trap=5 mid=522")
        wait_for(lambda: len(self.env.trap_lines("rx-rot")) == 2, 20, what="the second event")
        self.assertIn("user rotUser", self.env.trap_lines("rx-rot")[1])
        self.assertEqual([m for _, m in self.got("keep")], [521, 522])
        ml = self.ctl("show", "mirror", "log")
        self.assertIn("trap-host add 127.0.0.1:%d user rotUser" % port, ml)
        for secret in (rot[2], rot[4], TRAP_USER[2], TRAP_USER[4]):
            self.assertNotIn(secret, ml)

    def test_refused_reload_changes_nothing(self):
        lines = ["trapEnable true", self.host("keep"), "maxTriggers 2"]
        self.start(lines)
        self.ctl("mirror", "username", "ctluser", "analyzer", "127.0.0.9:30035", "id", "21")
        self.env.secrets.add("ctluser")
        # two rules of the file plus pmirrorctl's: more than maxTriggers 2
        self.write_conf(["trapEnable true", self.host("keep"), self.host("new"), "maxTriggers 2",
                         "mirror username fileuser analyzer 127.0.0.9:30036 id 22",
                         "mirror username fileuser2 analyzer 127.0.0.9:30037 id 23"])
        self.env.secrets.update({"fileuser", "fileuser2"})
        added = self.reload()
        self.assertRegex(added, r"reload: agent: .*maxTriggers")
        self.assertNotIn("reload: agent: trapHost", added)
        st = self.trap_stats()
        self.assertEqual([r["address"] for r in st["hosts"]], ["127.0.0.1:%d" % self.port["keep"]])
        self.assertEqual(self.env.ctl_json("show", "mirror", "triggers")["trigger_count"], 1)


if __name__ == "__main__":
    unittest.main()
