"""Run-time changes kept only if asked (persistRuntimeChanges, README "Run-time
changes"): off (the default), `trap-host add` and `mirror` write nothing under
persistentDir; on, <persistentDir>/runtime.conf (0600) holds the run-time trap
host with its USM keys but no passphrase, the run-time trigger and the removal
of the file's trigger; a restart of the daemon brings them back (the host gets
authPriv notifications at a real snmptrapd), removals rewrite the file, `show
mirror running-config` shows all of it with where it comes from and secrets as
<hidden>, and a bad runtime.conf stops the start with runtime.conf:LINE."""
import os
import signal
import stat

import pmtest
from pmtest import MIRROR_SECRET, TRAP_USER, PmTestCase, wait_for

NOTIF = ".1.3.6.1.4.1.4874.2.2.77.3.0.2"          # CliTriggerBasedMirroringFailure
CONF_RULE = "mirror username cfguser analyzer 127.0.0.9:30030 id 5"


class PersistCase(PmTestCase):
    def setUp(self):
        super().setUp()
        self.env.secrets.update({"cfguser", "alice", "bob", "carol", "127.0.0.9:30030", TRAP_USER[2],
                                 TRAP_USER[4]})
        self.env.secret_ids.update({5, 7, 8, 9})
        self.persist = self.env.path("agent/persist")
        self.runtime = os.path.join(self.persist, "runtime.conf")

    def ctl(self, *words):
        r = self.env.ctl(*words, secret=MIRROR_SECRET)
        return r

    def ok(self, *words):
        r = self.ctl(*words)
        self.assertEqual(r.returncode, 0, " ".join(words[:3]) + ": " + r.stdout + r.stderr)
        return r

    def add_host(self):
        name, a, ap, p, pp = TRAP_USER
        return self.ok("trap-host", "add", "127.0.0.1:%d" % self.env.trap_port, "user", name, "auth", a, ap,
                       "priv", p, pp)

    def start(self, extra):
        self.env.start_pmirrord("trapEnable true\nmaxTriggers 2\n" + CONF_RULE + "\n" + extra)
        self.env.wait_registered()

    def files(self):
        """Every file under persistentDir with its contents."""
        out = {}
        for d, _, names in os.walk(self.persist):
            for n in names:
                p = os.path.join(d, n)
                out[os.path.relpath(p, self.persist)] = pmtest.read_text(p)
        return out

    def running(self):
        return self.env.ctl_json("show", "mirror", "running-config")


class TestPersistOff(PersistCase):
    def test_default_writes_nothing(self):
        self.env.start_snmpd()
        self.start("")
        before = self.files()
        self.add_host()
        r = self.ok("mirror", "username", "alice", "analyzer", "127.0.0.9:30030", "id", "7")
        self.assertNotIn("not kept", r.stdout)
        self.ok("no", "mirror", "username", "cfguser")
        after = self.files()
        self.assertEqual(sorted(before), sorted(after))
        self.assertFalse(os.path.exists(self.runtime))
        for name, text in after.items():
            for s in ("alice", "cfguser", TRAP_USER[2], TRAP_USER[4], "trapHost"):
                self.assertNotIn(s, text, "%s in %s" % (s, name))
        rc = self.running()
        self.assertIs(rc["persist_runtime_changes"], False)
        self.assertAlive()


class TestPersistOn(PersistCase):
    def test_written_read_back_and_rewritten(self):
        self.env.start_snmpd()
        self.env.start_snmptrapd()
        file_host = "127.0.0.1:%d" % pmtest.free_udp_port()   # nobody listens: only removed
        start = "persistRuntimeChanges on\n" + self.env.trap_host().replace(
            "127.0.0.1:%d" % self.env.trap_port, file_host) + "\n"
        self.start(start)
        self.assertFalse(os.path.exists(self.runtime))
        self.add_host()
        self.ok("mirror", "username", "alice", "analyzer", "127.0.0.9:30030", "id", "7")
        self.ok("no", "mirror", "username", "cfguser")
        self.ok("trap-host", "remove", file_host)

        st = os.stat(self.runtime)
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o600)
        text = pmtest.read_text(self.runtime)
        self.assertIn("trapHost 127.0.0.1:%d user trapUser authKey SHA-256 0x" % self.env.trap_port, text)
        self.assertIn(" privKey AES-128 0x", text)
        self.assertIn("mirror username alice analyzer 127.0.0.9:30030 id 7", text)
        self.assertIn("no mirror username cfguser id 5", text)
        self.assertIn("no trapHost %s\n" % file_host, text)
        # no passphrase anywhere under persistentDir
        for name, t in self.files().items():
            for s in (TRAP_USER[2], TRAP_USER[4]):
                self.assertNotIn(s, t, "a passphrase in %s" % name)

        # show mirror running-config: the effective configuration, secrets hidden
        rc = self.running()
        self.assertIs(rc["persist_runtime_changes"], True)
        rows = {r["line"]: r["source"] for r in rc["config"]}
        host = [l for l in rows if l.startswith("trapHost ")]
        self.assertEqual(len(host), 1, rows)
        self.assertIn("authKey SHA-256 <hidden> privKey AES-128 <hidden>", host[0])
        self.assertEqual(rows[host[0]], "pmirrorctl")
        self.assertEqual(rows["mirror username alice analyzer 127.0.0.9:30030 id 7"], "pmirrorctl")
        self.assertNotIn(CONF_RULE, rows)
        self.assertEqual(rows["mirrorSecret <hidden>"], self.env.path("pmirrord.conf"))
        self.assertIn("persistRuntimeChanges on", rows)
        shown = str(rc)
        for s in (TRAP_USER[2], TRAP_USER[4], "0x" + text.split("authKey SHA-256 0x")[1][:16]):
            self.assertNotIn(s, shown)

        # restart: stopped by its pidfile, started again
        self.env.stop("pmirrord")
        self.start(start)
        self.assertEqual([h["address"] for h in self.env.ctl_json("show", "snmp", "trap")["hosts"]],
                         ["127.0.0.1:%d" % self.env.trap_port])
        t = self.env.ctl_json("show", "mirror", "triggers")
        srcs = {r["rule"]: r["source"] for r in t["triggers"]}
        self.assertEqual(list(srcs), ["mirror username alice analyzer 127.0.0.9:30030 id 7"])
        self.assertEqual(srcs["mirror username alice analyzer 127.0.0.9:30030 id 7"], self.runtime + ":7")
        rows = {r["line"]: r["source"] for r in self.running()["config"]}
        self.assertEqual(rows["no mirror username cfguser id 5"], self.runtime)
        self.assertEqual(rows["no trapHost " + file_host], self.runtime)
        host = [l for l in rows if l.startswith("trapHost ")]
        self.assertEqual(len(host), 1, rows)
        self.assertEqual(rows[host[0]], self.runtime + ":6")
        # the host is back with its keys: maxTriggers (2) reached makes a
        # CliTriggerBasedMirroringFailure, received authPriv
        self.ok("mirror", "username", "bob", "analyzer", "127.0.0.9:30030", "id", "8")
        r = self.ctl("mirror", "username", "carol", "analyzer", "127.0.0.9:30030", "id", "9")
        self.assertNotEqual(r.returncode, 0)
        lines = wait_for(lambda: [l for l in self.env.trap_lines() if NOTIF in l], 15,
                         what="the notification at the run-time trap host")
        self.assertIn("user trapUser", lines[0])
        self.assertIn("mirror username bob", pmtest.read_text(self.runtime))

        # removals rewrite the file
        self.ok("trap-host", "remove", "127.0.0.1:%d" % self.env.trap_port)
        self.ok("no", "mirror", "username", "alice")
        self.ok("no", "mirror", "username", "bob")
        text = pmtest.read_text(self.runtime)
        self.assertNotIn("trapHost 127.0.0.1:%d" % self.env.trap_port, text)
        self.assertNotIn("authKey", text)
        self.assertIn("no trapHost %s\n" % file_host, text)
        self.assertNotIn("alice", text)
        self.assertNotIn("bob", text)
        self.assertIn("no mirror username cfguser id 5", text)
        self.assertEqual(stat.S_IMODE(os.stat(self.runtime).st_mode), 0o600)
        self.assertAlive()

    def test_reload_keeps_run_time_changes(self):
        """SIGHUP re-reads the file: its new rule comes, the rule removed at run time
        (kept in runtime.conf) stays removed, the run-time rule and host stay."""
        self.env.start_snmpd()
        self.start("persistRuntimeChanges on\n")
        self.add_host()
        self.ok("mirror", "username", "alice", "analyzer", "127.0.0.9:30030", "id", "7")
        self.ok("no", "mirror", "username", "cfguser")
        self.env.stop("pmirrord")
        self.start("persistRuntimeChanges on\n")
        conf = self.env.path("pmirrord.conf")
        with open(conf, "a") as f:
            f.write("globalTrapSeverity 6\nmirror username dave analyzer 127.0.0.9:30030 id 8\n")
        self.env.secrets.add("dave")
        log = lambda: self.env.read_log("pmirrord")
        done = log().count("reload done")
        os.kill(self.env.daemons["pmirrord"].pid(), signal.SIGHUP)
        wait_for(lambda: log().count("reload done") > done, 20, what="the reload to finish")
        self.assertIn("1 mirror rule of the file removed at run time stays removed", log())
        t = self.env.ctl_json("show", "mirror", "triggers")
        rules = sorted(r["rule"] for r in t["triggers"])
        self.assertEqual(rules, ["mirror username alice analyzer 127.0.0.9:30030 id 7",
                                 "mirror username dave analyzer 127.0.0.9:30030 id 8"])
        self.assertEqual(len(self.env.ctl_json("show", "snmp", "trap")["hosts"]), 1)
        rows = {r["line"]: r["source"] for r in self.running()["config"]}
        self.assertEqual(rows["globalTrapSeverity 6"], conf)
        self.assertTrue(rows["mirror username dave analyzer 127.0.0.9:30030 id 8"].startswith(conf + ":"))
        self.assertEqual(rows["mirror username alice analyzer 127.0.0.9:30030 id 7"], self.runtime + ":6")
        self.assertAlive()

    def test_keys_are_not_taken_at_run_time(self):
        """authKey/privKey are for files: pmirrorctl keeps a key off its argv like a
        passphrase, and the daemon refuses one sent anyway."""
        self.env.start_snmpd()
        self.start("persistRuntimeChanges on\n")
        key = "0x" + "5a" * 32
        self.env.secrets.add(key)
        r = self.ctl("trap-host", "add", "127.0.0.1:1162", "user", "k", "authKey", "SHA-256", key, "privKey",
                     "AES", key)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("not taken from the command line", r.stdout + r.stderr)
        c = pmtest.CtlConn(self.env.path("run", "ctl.sock"))
        self.addCleanup(c.close)
        self.assertEqual(c.request("mirror-enable " + MIRROR_SECRET)[0], "OK")
        st, body = c.request("trap-host add 127.0.0.1:1162 user k authKey SHA-256 %s privKey AES %s" % (key, key))
        self.assertEqual(st, "ERR", body)
        self.assertIn("authKey and privKey belong in the configuration file", body)
        self.assertNotIn(key, body)
        self.assertEqual(self.env.ctl_json("show", "snmp", "trap")["hosts"], [])
        self.assertFalse(os.path.exists(self.runtime))

    def test_bad_runtime_conf_stops_the_start_with_its_line(self):
        self.env.start_snmpd()
        with open(self.runtime, "w") as f:
            f.write("# made by hand\nmirror username alice analyzer 127.0.0.9:30030 id 7\nbogus line\n")
        os.chmod(self.runtime, 0o600)
        self.env.start_pmirrord("trapEnable true\n" + CONF_RULE + "\npersistRuntimeChanges on\n")
        wait_for(lambda: "runtime.conf:3: unknown directive" in self.env.read_log("pmirrord"), 20,
                 what="the start to fail naming runtime.conf:3")
        self.assertNotIn("alice", self.env.read_log("pmirrord"))
