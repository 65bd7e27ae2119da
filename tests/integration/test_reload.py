"""Reload (docs/reload.md): SIGHUP to the monitor re-reads and validates the
whole file; a file that does not validate is refused with its FILE:LINE and
the daemon goes on with what it runs; otherwise each child gets a reload
slice only when its own lines changed, unchanged lines as SHA-256 digests.

Runs the real daemon as root (no snmpd needed: the control socket answers
without the AgentX master).  What goes over the monitor's channels is read
with strace on the monitor this test started (sendmsg buffers in hex), not
taken from the daemon's own report alone.  Only the PIDs this test started
are signalled or traced.
"""
import os
import re
import signal
import subprocess
import unittest

import pmtest
from pmtest import PmTestCase, wait_for
import test_procmodel as pm

TRAP_PASS_AUTH = "reload-auth-passphrase-7Qz"
TRAP_PASS_PRIV = "reload-priv-passphrase-9Kx"
CHILDREN = ("agent", "capture")


class ReloadCase(PmTestCase):
    def conf_text(self, trap_enable="true", latency=None, comment="", bad=""):
        e = self.env
        lines = [
            "trapEnable %s" % trap_enable,
            "trapHost 127.0.0.1:%d user rlUser auth SHA-256 %s priv AES %s" % (
                e.trap_port, TRAP_PASS_AUTH, TRAP_PASS_PRIV),
            "capture pcap:%s" % self.pcap,
        ]
        if latency is not None:
            lines.append("signallingLatency %d" % latency)
        if comment:
            lines.append("# " + comment)
        if bad:
            lines.append(bad)
        return e.pmirrord_conf("\n".join(lines) + "\n")

    def write_conf(self, text):
        path = self.env.path("pmirrord.conf")
        tmp = path + ".new"
        with open(tmp, "w") as f:
            f.write(text)
        os.chmod(tmp, 0o600)
        os.rename(tmp, path)
        return path

    def setUp(self):
        super().setUp()
        e = self.env
        self.pcap = e.path("empty.pcap")
        with open(self.pcap, "wb") as f:   # a pcap header, no packet: a source that ends at once
            f.write(bytes.fromhex("d4c3b2a1020004000000000000000000ffff000001000000"))
        e.start_pmirrord(conf_text=self.conf_text(), args=("-D", "reload"))
        self.assertAlive()
        self.tree = pm.ready_tree(e)
        wait_for(lambda: re.search(r"pmirrord \S+ started", self.log()), 30, what="ready")

    def log(self):
        return self.env.read_log("pmirrord")

    def reload(self, text=None):
        """Writes text (if any), sends SIGHUP, waits for the reload's end; returns
        the log lines the reload added."""
        if text is not None:
            self.write_conf(text)
        before = self.log()
        done = before.count("reload done") + before.count("reload rejected")
        os.kill(self.tree["monitor"], signal.SIGHUP)
        wait_for(lambda: self.log().count("reload done") + self.log().count("reload rejected") > done,
                 20, what="the reload to end")
        return self.log()[len(before):]

    def assert_same_children(self):
        t = pm.tree(self.tree["monitor"])
        self.assertEqual({c: t[c] for c in CHILDREN}, {c: self.tree[c] for c in CHILDREN},
                         "a child was restarted")

    def serves(self):
        r = self.env.ctl("show", "version")
        return r.returncode == 0 and "pmirrord" in r.stdout

    def capture_counters(self):
        return pm.mirror_stats(self.env)["by_source"].get("capture", {})


class TestReload(ReloadCase):
    def test_bad_file_rejected_with_file_line_daemon_keeps_running(self):
        text = self.conf_text(bad="trapEnable maybe")
        bad_line = text.splitlines().index("trapEnable maybe") + 1
        added = self.reload(text)
        path = self.env.path("pmirrord.conf")
        self.assertRegex(added, r"reload rejected: %s:%d: .*; the running configuration stays"
                         % (re.escape(path), bad_line))
        self.assertNotIn("reload: agent:", added)
        self.assertNotIn("reload slice", added)
        self.assertAlive()
        self.assertTrue(self.serves())
        self.assert_same_children()
        # fixed again: the next reload goes through
        added = self.reload(self.conf_text())
        self.assertIn("reload done", added)

    def test_comment_only_change_sends_nothing(self):
        added = self.reload(self.conf_text(comment="only a comment"))
        self.assertIn("reload: agent: unchanged", added)
        self.assertIn("reload: capture: unchanged", added)
        self.assertNotIn("reload slice", added)     # neither child saw a record
        # validated as at start: its warnings again, with FILE:LINE
        self.assertRegex(added, r"%s:\d+: mirrorSecret has only" % re.escape(self.env.path("pmirrord.conf")))
        self.assertEqual(self.capture_counters().get("reloads", 0), 0)
        self.assert_same_children()

    def test_agent_only_change_leaves_capture_alone_and_back(self):
        added = self.reload(self.conf_text(trap_enable="false"))
        self.assertIn("reload: capture: unchanged", added)
        self.assertRegex(added, r"reload: agent: (?!unchanged)")
        self.assertNotRegex(added, r"capture: reload slice")
        added = self.reload(self.conf_text(trap_enable="false", latency=250))
        self.assertIn("reload: agent: unchanged", added)
        self.assertRegex(added, r"reload: capture: (?!unchanged)")
        wait_for(lambda: self.capture_counters().get("reloads") == 1, 10,
                 what="the capture process's reload counter")
        self.assert_same_children()

    def test_unchanged_passphrase_line_not_sent_again(self):
        mon = self.tree["monitor"]
        out = self.env.path("logs", "strace.out")
        st = subprocess.Popen(["strace", "-p", str(mon), "-e", "trace=sendmsg", "-s", "70000", "-xx",
                               "-o", out], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            wait_for(lambda: pm.proc_status(mon)["TracerPid"] != ["0"] or st.poll() is not None, 10,
                     what="strace to attach")
            self.assertIsNone(st.poll(), "strace did not attach")
            # trapEnable changes; the trapHost line (two passphrases) does not
            added = self.reload(self.conf_text(trap_enable="false"))
            self.assertRegex(added, r"reload: agent: (?!unchanged)")
        finally:
            st.send_signal(signal.SIGINT)
            st.wait(10)
        with open(out) as f:
            wire = f.read().replace("\\x", "")
        self.assertIn("trapEnable false".encode().hex(), wire, "the changed line is not on the wire")
        for secret in (TRAP_PASS_AUTH, TRAP_PASS_PRIV):
            self.assertNotIn(secret.encode().hex(), wire, "a passphrase was sent again")
        # the agent took that line by its digest from its running lines
        m = re.search(r"reload slice: (\d+) line\(s\), (\d+) unchanged", added)
        self.assertIsNotNone(m, added)
        self.assertEqual(int(m.group(2)), int(m.group(1)) - 1)

    def test_twenty_reloads_in_a_row(self):
        for i in range(20):
            added = self.reload(self.conf_text(trap_enable="false" if i % 2 else "true",
                                               latency=100 + i))
            self.assertIn("reload done", added)
            self.assertNotIn("refused", added)
        self.assertAlive()
        self.assertTrue(self.serves())
        self.assert_same_children()
        wait_for(lambda: self.capture_counters().get("reloads") == 20, 10,
                 what="20 reloads in the capture process")

    def test_restarted_child_gets_the_file_and_its_digests(self):
        """A child killed and restarted reads the whole file as at every start; the
        monitor records what it sent, so the next reload sends it unchanged lines as
        digests it holds (no RELOAD_FAILED for an unknown digest)."""
        e = self.env
        self.write_conf(self.conf_text(latency=300))   # read at the restart, no SIGHUP
        old = self.tree["capture"]
        os.kill(old, signal.SIGKILL)
        self.tree = pm.ready_tree(e, old={"capture": old})
        wait_for(lambda: self.log().count("capture process ready") >= 2, 30,
                 what="the restarted capture process to be ready")
        added = self.reload()
        self.assertIn("reload: capture: unchanged", added)   # it runs latency 300 already
        added = self.reload(self.conf_text(latency=400))
        m = re.search(r"capture\] info: reload slice: (\d+) line\(s\), (\d+) unchanged", added)
        self.assertIsNotNone(m, added)
        self.assertEqual(int(m.group(2)), int(m.group(1)) - 1)
        self.assertRegex(added, r"reload: capture: (?!unchanged|refused)")
        self.assertNotIn("refused", added)
        self.assert_same_children()

    def test_sighup_during_a_reload_is_queued(self):
        """A stopped agent holds the first reload open; a second SIGHUP meanwhile
        gives exactly one more reload once the first has ended."""
        agent, mon = self.tree["agent"], self.tree["monitor"]
        self.write_conf(self.conf_text(trap_enable="false"))
        start = len(self.log())
        os.kill(agent, signal.SIGSTOP)
        try:
            os.kill(mon, signal.SIGHUP)
            wait_for(lambda: "SIGHUP: reloading" in self.log()[start:], 10, what="the first reload")
            os.kill(mon, signal.SIGHUP)
            wait_for(lambda: "one more reload after it" in self.log()[start:], 10,
                     what="the second SIGHUP to be queued")
        finally:
            os.kill(agent, signal.SIGCONT)
        wait_for(lambda: self.log()[start:].count("reload done") == 2, 20, what="two reloads")
        added = self.log()[start:]
        first, second = added.split("reload done")[:2]
        self.assertRegex(first, r"reload: agent: (?!unchanged)")
        self.assertIn("reload: agent: unchanged", second)   # the first was applied
        self.assertEqual(added.count("SIGHUP: reloading"), 2)
        self.assert_same_children()

    def test_child_that_does_not_answer(self):
        """No answer within 10 s is logged and ends the reload; the child may run
        either configuration, so the next reload sends it every line in full."""
        agent = self.tree["agent"]
        os.kill(agent, signal.SIGSTOP)
        try:
            added = self.reload(self.conf_text(trap_enable="false"))
        finally:
            os.kill(agent, signal.SIGCONT)
        self.assertIn("reload: agent: no answer within 10 s", added)
        wait_for(lambda: "a late answer to an earlier reload slice ignored" in self.log(), 10,
                 what="the late answer")
        added = self.reload(self.conf_text(trap_enable="true"))
        m = re.search(r"\[reload\] info: reload slice: (\d+) line\(s\), (\d+) unchanged", added)
        self.assertIsNotNone(m, added)
        self.assertEqual(int(m.group(2)), 0)
        self.assert_same_children()


class TestReloadUnderTheUnit(PmTestCase):
    """A reload under the unit's confinement (test_sdnotify.TestUnitConfinement's
    set-up: its capability bounding set, no_new_privs, its system call filter,
    the plain build), as `systemctl reload` does it: systemd hears RELOADING=1,
    then READY=1; both children apply their changed lines, nothing is killed by
    the filter, the PIDs stay."""

    def test_reload_under_the_units_limits(self):
        import test_sdnotify as sd
        e = self.env
        if not os.access(sd.SYSFILTER, os.X_OK):
            self.fail("missing %s (build the target pm_sysfilter)" % sd.SYSFILTER)
        n = sd.Notifications(e.path("run", "notify.sock"))
        self.addCleanup(n.close)
        bset = ["+" + c[4:].lower() for c in sd.unit_values("CapabilityBoundingSet")[0].split()]
        limit = ["prlimit", "--memlock=unlimited:unlimited"]
        if subprocess.run(limit + ["true"], capture_output=True).returncode != 0:
            limit = []
            bset.append("+ipc_lock")   # this host only (test_sdnotify says why)
        with open(e.path("allow.txt"), "w") as f:
            f.write("\n".join(sorted(sd.unit_allowlist())) + "\n")
        pcap = e.path("empty.pcap")
        with open(pcap, "wb") as f:
            f.write(bytes.fromhex("d4c3b2a1020004000000000000000000ffff000001000000"))
        path = e.path("pmirrord.conf")

        def write(trap_enable, latency):
            with open(path + ".new", "w") as f:
                # a persistentDir the monitor makes (test_sdnotify does the same)
                f.write(e.pmirrord_conf("trapEnable %s\ncapture pcap:%s\nsignallingLatency %d\n"
                                        % (trap_enable, pcap, latency)).replace(
                    "persistentDir " + e.path("agent/persist"), "persistentDir " + e.path("agent/pm")))
            os.chmod(path + ".new", 0o600)
            os.rename(path + ".new", path)
        write("true", 20)
        argv = [*limit, "setpriv", "--bounding-set", "-all," + ",".join(bset), "--no-new-privs",
                sd.SYSFILTER, e.path("allow.txt"), "--",
                os.path.join(sd.PLAIN, "pmirrord"), "-f", "-c", path, "-p", e.path("run", "pmirrord.pid")]
        e._spawn("pmirrord", argv, dict(os.environ, NOTIFY_SOCKET=n.path))
        n.wait(lambda kv: kv.get("READY") == "1", 60, "READY=1")
        t = pm.ready_tree(e)
        write("false", 30)
        before = len(n.msgs)
        os.kill(t["monitor"], signal.SIGHUP)
        n.wait(lambda kv: kv.get("RELOADING") == "1", 20, "RELOADING=1", since=before)
        n.wait(lambda kv: kv.get("READY") == "1", 20, "READY=1 after the reload", since=before)
        log = e.read_log("pmirrord")
        self.assertIn("reload done", log)
        self.assertRegex(log, r"reload: agent: (?!unchanged|refused)")
        self.assertRegex(log, r"reload: capture: (?!unchanged|refused)")
        self.assertNotRegex(log, r"SIGSYS|refused|no answer")
        self.assertEqual(pm.ready_tree(e), t, "a child was restarted")
        self.assertEqual(e.stop("pmirrord"), 0, e.read_log("pmirrord")[-3000:])


if __name__ == "__main__":
    unittest.main()
