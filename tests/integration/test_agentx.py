"""pmirrord as an AgentX subagent of a real snmpd."""
import os
import re
import select
import signal
import socket
import subprocess
import time
import unittest

import pmtest

from pmtest import (OID_MIRROR_MIB, OID_SYSOR_ID, OID_SYSUPTIME, OID_TRAPENABLE, PMIRRORD, PmTestCase,
                    wait_for)


class TestAgentX(PmTestCase):
    def start_all(self, extra=""):
        self.env.start_snmpd()
        self.env.start_pmirrord(extra)
        self.env.wait_registered()

    def test_agentx_over_tcp(self):
        port = pmtest.free_udp_port()   # a free number; TCP on loopback
        self.env.agentx = "tcp:127.0.0.1:%d" % port
        self.start_all()
        self.assertIn("= INTEGER: 2", self.env.snmpget_v3(OID_TRAPENABLE).stdout)
        self.assertEqual(self.env.snmpset_v3(OID_TRAPENABLE, "i", "1").returncode, 0)

    def test_v3_authpriv_get_set(self):
        self.start_all()
        r = self.env.snmpget_v3(OID_TRAPENABLE)
        self.assertIn("= INTEGER: 2", r.stdout, r.stderr)          # DEFVAL false
        r = self.env.snmpset_v3(OID_TRAPENABLE, "i", "1")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("= INTEGER: 1", self.env.snmpget_v3(OID_TRAPENABLE).stdout)
        r = self.env.snmpset_v3(OID_TRAPENABLE, "i", "3")
        self.assertIn("wrongValue", r.stderr)
        r = self.env.snmpset_v3(OID_TRAPENABLE, "s", "true")
        self.assertIn("wrongType", r.stderr)
        # a failed SET changes nothing
        self.assertIn("= INTEGER: 1", self.env.snmpget_v3(OID_TRAPENABLE).stdout)
        r = self.env.snmpset_v3(OID_TRAPENABLE, "i", "2")
        self.assertIn("= INTEGER: 2", self.env.snmpget_v3(OID_TRAPENABLE).stdout)
        self.assertAlive()

    def test_mirror_admin_writes_nothing_but_trapenable(self):
        # examples/snmpd-pmirrord.conf (and the package's snmpd snippet): the
        # write view is juniPacketMirrorTrapEnable, not the whole tree, so the
        # mirror administrator cannot SET snmpd's own objects (sysContact here;
        # VACM and USM tables alike).
        self.start_all()
        oid_syscontact = "1.3.6.1.2.1.1.4.0"
        r = self.env.snmpset_v3(oid_syscontact, "s", "pmtest-write")
        self.assertNotEqual(r.returncode, 0, r.stdout)
        self.assertRegex(r.stderr, "noAccess|authorizationError")
        self.assertEqual(self.env.snmpset_v3(OID_TRAPENABLE, "i", "1").returncode, 0)
        self.assertAlive()

    def test_ops_user_reads_no_process_arguments(self):
        # pmNoMirror leaves out hrSWRunParameters: a process's arguments (a
        # one-shot pmirrorctl's target identity) are not for an authNoPriv user.
        self.start_all()
        marker = "pmtest-target-%d" % os.getpid()
        p = subprocess.Popen(["python3", "-c", "import sys; sys.stdin.read()", marker],
                             stdin=subprocess.PIPE)
        try:
            r = self.env._tool(["snmpwalk", "-v3", "-l", "authNoPriv", "-u", pmtest.OPS[0], "-a",
                                pmtest.OPS[1], "-A", pmtest.OPS[2], self.env.target(),
                                "1.3.6.1.2.1.25.4.2.1"], timeout=5.0)
            self.assertIn("1.3.6.1.2.1.25.4.2.1.2.", r.stdout, r.stderr)  # hrSWRunName: readable
            self.assertFalse(marker in r.stdout, "opsUser reads process arguments (hrSWRunParameters)")
        finally:
            p.stdin.close()
            p.wait()

    def test_sysortable_entry(self):
        self.start_all()
        r = self.env.snmpwalk_v3(OID_SYSOR_ID)
        self.assertIn("OID: ." + OID_MIRROR_MIB + "\n", r.stdout + "\n", r.stdout)

    def test_getnext_walk_of_subtree(self):
        self.start_all()
        r = self.env.snmpwalk_v3(OID_MIRROR_MIB)
        self.assertIn("." + OID_TRAPENABLE + " = INTEGER: 2", r.stdout)

    def test_vacm_hides_mirror_mib_from_v2c_and_authnopriv(self):
        self.start_all()
        # v2c community: the Mirror MIB does not exist for it ...
        r = self.env.snmpget_v2c(OID_TRAPENABLE)
        self.assertIn("No Such Object", r.stdout, r.stdout + r.stderr)
        r = self.env.snmpset_v2c(OID_TRAPENABLE, "i", "1")
        self.assertRegex(r.stderr, "noAccess|authorizationError|notWritable")
        # ... while the rest of snmpd's tree stays readable
        self.assertIn("Timeticks", self.env.snmpget_v2c(OID_SYSUPTIME).stdout)
        # SNMPv3 authNoPriv user: the same
        r = self.env.snmpget_ops(OID_TRAPENABLE)
        self.assertIn("No Such Object", r.stdout, r.stdout + r.stderr)
        r = self.env.snmpset_ops(OID_TRAPENABLE, "i", "1")
        self.assertRegex(r.stderr, "noAccess|authorizationError")
        self.assertIn("Timeticks", self.env.snmpget_ops(OID_SYSUPTIME).stdout)
        # the mirror administrator below authPriv gets nothing either
        r = self.env.snmpget_v3(OID_TRAPENABLE, level="authNoPriv")
        self.assertNotIn("INTEGER", r.stdout)
        # and none of the denied SETs changed the value
        self.assertIn("= INTEGER: 2", self.env.snmpget_v3(OID_TRAPENABLE).stdout)

    def test_value_survives_restart(self):
        self.start_all()
        self.assertEqual(self.env.snmpset_v3(OID_TRAPENABLE, "i", "1").returncode, 0)
        self.env.stop("pmirrord")
        self.env.start_pmirrord()
        self.env.wait_registered()
        self.assertIn("= INTEGER: 1", self.env.snmpget_v3(OID_TRAPENABLE).stdout)

    def test_value_survives_sigkill(self):
        self.start_all()
        self.assertEqual(self.env.snmpset_v3(OID_TRAPENABLE, "i", "1").returncode, 0)
        state = self.env.path("agent/persist/pmirrord-agent.conf")
        wait_for(lambda: os.path.exists(state) and "pmTrapEnable 1" in pmtest.read_text(state), 5,
                 what="the persistent file to hold the new value")
        self.env.stop("pmirrord", signal.SIGKILL)
        self.env.start_pmirrord()
        self.env.wait_registered()
        self.assertIn("= INTEGER: 1", self.env.snmpget_v3(OID_TRAPENABLE).stdout)

    def test_config_default_used_only_when_nothing_persisted(self):
        self.start_all("trapEnable true")
        self.assertIn("= INTEGER: 1", self.env.snmpget_v3(OID_TRAPENABLE).stdout)
        self.assertEqual(self.env.snmpset_v3(OID_TRAPENABLE, "i", "2").returncode, 0)
        self.env.stop("pmirrord")
        self.env.start_pmirrord("trapEnable true")
        self.env.wait_registered()
        self.assertIn("= INTEGER: 2", self.env.snmpget_v3(OID_TRAPENABLE).stdout)

    def test_engine_boots_persist(self):
        self.start_all()
        state = self.env.path("agent/persist/pmirrord-agent.conf")

        def boots():
            for line in pmtest.read_text(state).splitlines():
                if line.startswith("engineBoots"):
                    return int(line.split()[1])
            return None
        b1 = boots()
        self.assertIsNotNone(b1)
        self.env.stop("pmirrord")
        self.env.start_pmirrord()
        self.env.wait_registered()
        self.assertEqual(boots(), b1 + 1)
        self.assertIn("oldEngineID 0x80001f8804706d2d6167656e74", pmtest.read_text(state))

    def _master_restart(self, sig):
        ping = 2
        self.env.start_snmpd()
        self.env.start_pmirrord(ping=ping)
        self.env.wait_registered()
        self.env.stop("snmpd", sig)
        self.env.start_snmpd(wait=False)
        wait_for(lambda: "Timeticks" in self.env.snmpget_v3(OID_SYSUPTIME, timeout=0.2).stdout, 20,
                 what="snmpd back")
        t0 = time.monotonic()
        self.env.wait_registered(timeout=ping + 10)
        took = time.monotonic() - t0
        self.assertLessEqual(took, ping + 1.0, "re-registration took %.2fs" % took)
        self.assertAlive()

    def test_master_restart_term(self):
        self._master_restart(signal.SIGTERM)

    def test_master_restart_kill(self):
        self._master_restart(signal.SIGKILL)

    def test_started_before_master(self):
        self.env.start_pmirrord(ping=1)
        log = lambda: self.env.read_log("pmirrord")
        wait_for(lambda: "absent" in log(), 10, what="the absent-master message")
        # several reconnect attempts later, it has still said so only once
        wait_for(lambda: False, 0) if False else None
        self.env.start_snmpd()
        self.env.wait_registered()
        self.assertEqual(log().count("absent"), 1, log())
        self.assertNotIn("Failed to connect", log())
        self.assertAlive()

    def test_hung_master_does_not_freeze(self):
        """SIGSTOP the master: notifications keep flowing (no gap over a few seconds),
        and pmirrord registers again after SIGCONT."""
        self.env.start_snmpd()
        self.env.start_snmptrapd()
        self.env.start_evtestd("trapEnable true\n" + self.env.trap_host(), ping=5)
        self.env.wait_registered()
        snmpd = self.env.daemons["snmpd"]
        os.kill(snmpd.pid(), signal.SIGSTOP)
        seen = {}
        try:
            t0 = time.monotonic()
            self.env.raise_event("trap=5 mid=1 count=120 rate=10")
            log = lambda: self.env.read_log("pmirrord")

            def all_seen():
                for line in self.env.trap_lines():
                    m = re.search(r"77\.3\.1\.1\.0 = Gauge32: (\d+)", line)
                    if m:
                        seen.setdefault(int(m.group(1)), time.monotonic() - t0)
                return len(seen) == 120
            wait_for(all_seen, 40, interval=0.02, what="120 notifications while the master hangs")
            self.assertIn("failed to respond to ping", log())
        finally:
            os.kill(snmpd.pid(), signal.SIGCONT)
        times = sorted(seen.values())
        worst = max(b - a for a, b in zip(times, times[1:]))
        self.assertLess(worst, 5.0, "the agent thread froze for %.1f s" % worst)
        self.env.wait_registered(timeout=30)
        self.assertAlive()


class TestAgentXConnection(PmTestCase):
    """How pmirrord meets its AgentX master: its engineID, a master that never accepts,
    names instead of addresses, and a second instance that finds the MIB taken."""

    def test_engine_id_logged_at_start(self):
        self.env.start_snmpd()
        self.env.start_pmirrord()
        self.env.wait_registered()
        log = self.env.read_log("pmirrord")
        lines = [l for l in log.splitlines() if "engineID" in l and "[agent]" in l]
        self.assertEqual(len(lines), 1, log)
        self.assertIn("info", lines[0])
        self.assertIn(pmtest.AGENT_ENGINE.lower(), lines[0].lower())

    def test_tcp_master_that_never_accepts_does_not_stall_start_up(self):
        """A listener with a full accept queue drops SYNs (on loopback too): a blocking
        connect() would stall the agent thread, and with it start-up and the control socket."""
        lsn = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.addCleanup(lsn.close)
        lsn.bind(("127.0.0.1", 0))
        lsn.listen(0)
        port = lsn.getsockname()[1]
        fillers = []
        self.addCleanup(lambda: [f.close() for f in fillers])
        # fill the accept queue: connects that complete are queued; once it is full
        # a non-blocking connect stays in progress (the SYN is dropped)
        while True:
            f = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            f.setblocking(False)
            fillers.append(f)
            if f.connect_ex(("127.0.0.1", port)) != 0:
                _, w, _ = select.select([], [f], [], 0.5)
                if not w:
                    break
            self.assertLess(len(fillers), 20, "the accept queue never filled")
        self.env.agentx = "tcp:127.0.0.1:%d" % port
        t0 = time.monotonic()
        self.env.start_pmirrord()
        wait_for(lambda: self.env.ctl("show", "version").returncode == 0, 10, interval=0.1,
                 what="the control socket")
        self.assertLess(time.monotonic() - t0, 4.0, self.env.read_log("pmirrord"))
        for _ in range(3):
            t = time.monotonic()
            r = self.env.ctl("show", "version")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertLess(time.monotonic() - t, 2.0)
        log = self.env.read_log("pmirrord")
        self.assertRegex(log, r"AgentX master at tcp:127\.0\.0\.1:%d is unreachable" % port)
        self.assertAlive()

    def test_unix_master_that_never_accepts_does_not_stall_start_up(self):
        """The same on a unix socket: a full backlog blocks connect() until the master
        accepts (a hung master collects one queued connection per reconnect attempt)."""
        path = self.env.path("stuck.sock")
        lsn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.addCleanup(lsn.close)
        lsn.bind(path)
        lsn.listen(0)
        fillers = []
        self.addCleanup(lambda: [f.close() for f in fillers])
        while True:
            f = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            f.setblocking(False)
            fillers.append(f)
            try:
                f.connect(path)
            except BlockingIOError:
                break
            self.assertLess(len(fillers), 20, "the backlog never filled")
        self.env.agentx = path
        t0 = time.monotonic()
        self.env.start_pmirrord()
        wait_for(lambda: self.env.ctl("show", "version").returncode == 0, 10, interval=0.1,
                 what="the control socket")
        self.assertLess(time.monotonic() - t0, 4.0, self.env.read_log("pmirrord"))
        self.assertIn("AgentX master at %s is unreachable" % path, self.env.read_log("pmirrord"))
        self.assertAlive()

    def test_tcp_master_by_name_refused(self):
        self.env.agentx = "tcp:localhost:705"
        self.env.start_pmirrord()
        d = self.env.daemons["pmirrord"]
        rc = d.proc.wait(20)
        self.assertNotEqual(rc, 0)
        self.assertIn("numeric", self.env.read_log("pmirrord"))

    def test_second_instance_exits_with_plain_words(self):
        self.env.start_snmpd()
        self.env.start_pmirrord()
        self.env.wait_registered()
        first = self.env.daemons["pmirrord"]
        # a second instance: its own control socket, pidfile and persistent directory
        conf = self.env.pmirrord_conf().replace(self.env.path("agent/persist"), self.env.path("agent2"))
        conf = conf.replace(self.env.path("run", "ctl.sock"), self.env.path("run", "ctl2.sock"))
        path = self.env.path("pmirrord2.conf")
        with open(path, "w") as f:
            f.write(conf)
        os.chmod(path, 0o600)
        r = subprocess.run([PMIRRORD, "-f", "-c", path, "-p", self.env.path("run", "pmirrord2.pid")],
                           capture_output=True, text=True, timeout=60)
        self.assertNotEqual(r.returncode, 0, r.stderr)
        self.assertIn("already registered by another subagent", r.stderr)
        self.assertNotIn("registering pdu failed", r.stderr)
        self.assertTrue(first.alive())
        self.assertIn("= INTEGER: 2", self.env.snmpget_v3(OID_TRAPENABLE).stdout)
        self.assertEqual(self.env.snmpset_v3(OID_TRAPENABLE, "i", "1").returncode, 0)
        self.assertIn("= INTEGER: 1", self.env.snmpget_v3(OID_TRAPENABLE).stdout)

    def test_mib_taken_after_a_reconnect_is_retried(self):
        """Two instances reconnect after a master restart: the one refused keeps trying
        and serves the MIB once the other is gone."""
        self.env.start_snmpd()
        self.env.start_pmirrord(ping=1)
        self.env.wait_registered()
        self.env.stop("snmpd")
        conf = self.env.pmirrord_conf(ping=1).replace(self.env.path("agent/persist"), self.env.path("agent2"))
        conf = conf.replace(self.env.path("run", "ctl.sock"), self.env.path("run", "ctl2.sock"))
        path = self.env.path("pmirrord2.conf")
        with open(path, "w") as f:
            f.write(conf)
        os.chmod(path, 0o600)
        self.env._spawn("pmirrord2", [PMIRRORD, "-f", "-c", path, "-p", self.env.path("run", "pmirrord2.pid")])
        wait_for(lambda: "absent" in self.env.read_log("pmirrord2"), 10, what="the second instance to start")
        self.env.start_snmpd()
        taken = "already registered by another subagent"
        loser = wait_for(lambda: next((n for n in ("pmirrord", "pmirrord2") if taken in self.env.read_log(n)), None),
                         20, what="one instance to be refused")
        winner = "pmirrord2" if loser == "pmirrord" else "pmirrord"
        self.assertTrue(self.env.daemons[loser].alive(), "refused after a reconnect: keeps running")
        self.assertNotIn(taken, self.env.read_log(winner))
        self.env.wait_registered()
        offset = len(self.env.read_log(loser))
        self.env.stop(winner)
        wait_for(lambda: "registered with the AgentX master" in self.env.read_log(loser)[offset:], 15,
                 what="the refused instance to register once the MIB is free")
        self.env.wait_registered()
        self.assertEqual(self.env.read_log(loser).count(taken), 1, "said once, not at every retry")
        self.assertNotIn("registering pdu failed", self.env.read_log(loser))


class TestConfigErrors(PmTestCase):
    def run_daemon(self, text, *args):
        path = self.env.path("bad.conf")
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, 0o600)
        return path, subprocess.run([PMIRRORD, "-f", "-c", path, *args], capture_output=True, text=True,
                                    timeout=30)

    def test_bad_line_names_file_and_line(self):
        path, r = self.run_daemon("# comment\nagentXPingInterval 5\nagentXPingInterval five\n")
        self.assertEqual(r.returncode, 2)
        self.assertIn(path + ":3:", r.stderr)
        self.assertNotIn("started", r.stderr)

    def test_unknown_directive(self):
        path, r = self.run_daemon("persistentDir /tmp\nfrobnicate yes\n")
        self.assertEqual(r.returncode, 2)
        self.assertIn(path + ":2: unknown directive \"frobnicate\"", r.stderr)

    def test_limits_checked_by_the_parser(self):
        for text, msg in (("secureLogSize 70000\n", ":1: secureLogSize"),
                          ("mirrorSecret $pbkdf2-sha256$x$y$z\n", ":1: mirrorSecret must be a hash")):
            path, r = self.run_daemon(text, "-n")
            self.assertEqual(r.returncode, 2, text)
            self.assertIn(path + msg, r.stderr)

    def test_nul_byte_is_an_error(self):
        path, r = self.run_daemon("persistentDir /tmp\ncontrolGroup ab\0cd\n", "-n")
        self.assertEqual(r.returncode, 2)
        self.assertIn(path + ":2: NUL byte in the line", r.stderr)

    def test_check_only(self):
        path, r = self.run_daemon(self.env.pmirrord_conf(), "-n")
        self.assertEqual(r.returncode, 0, r.stderr)
        path, r = self.run_daemon("trapEnable maybe\n", "-n")
        self.assertEqual(r.returncode, 2)
        self.assertIn(path + ":1:", r.stderr)

    def test_bad_config_changes_nothing(self):
        """A daemon refused for a bad config leaves the persistent state alone."""
        persist = self.env.path("agent/persist")
        text = self.env.pmirrord_conf() + "trapHost 198.18.0.1 user u auth MD5 abcdefgh priv AES abcdefgh\n"
        path, r = self.run_daemon(text)
        self.assertEqual(r.returncode, 2)
        self.assertRegex(r.stderr, path + r":\d+: trapHost: auth MD5 is refused")
        self.assertEqual(os.listdir(persist), [])


if __name__ == "__main__":
    unittest.main()
