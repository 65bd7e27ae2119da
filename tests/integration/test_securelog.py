"""Volatile secure logs and pmirrorctl against the real daemon."""
import grp
import json
import os
import re
import subprocess
import unittest

import pmtest
from pmtest import MIRROR_SECRET, OID_MIRROR_MIB, OID_TRAPENABLE, PmTestCase, wait_for

GROUP = "pmirrord-test"
NOBODY = ["--reuid=nobody", "--regid=nogroup", "--clear-groups"]


def ensure_group():
    try:
        return grp.getgrnam(GROUP).gr_gid
    except KeyError:
        subprocess.run(["groupadd", "--system", GROUP], check=True)
        return grp.getgrnam(GROUP).gr_gid


class SecureLogCase(PmTestCase):
    @classmethod
    def setUpClass(cls):
        cls.created_group = False
        try:
            grp.getgrnam(GROUP)
        except KeyError:
            cls.created_group = True
        cls.gid = ensure_group()

    @classmethod
    def tearDownClass(cls):
        if cls.created_group:
            subprocess.run(["groupdel", GROUP], check=False)

    def entries(self, log, own=False):
        """The entries of a log; without own, not the mirror-enable of our own reads."""
        words = ["show", "mirror", "log"] if log == "mirror" else ["show", "snmp", "secure-log"]
        rows = [r["Entry"] for r in self.env.ctl_json(*words).get("log-entries", [])]
        return [e for e in rows if own or not e.startswith("control uid=0 gid=0 ")
                or not e.endswith(": mirror-enable: mirror mode enabled")]

    def start(self, extra="", snmpd=True):
        if snmpd:
            self.env.start_snmpd()
        # the control socket's directory must be reachable for the group test
        os.chmod(self.env.path("run"), 0o755)
        self.env.start_evtestd("controlGroup %s\n%s" % (GROUP, extra))
        if snmpd:
            self.env.wait_registered()


class TestAuditLog(SecureLogCase):
    def test_off_by_default_then_enabled_from_cli(self):
        self.start()
        self.env.snmpget_v3(OID_TRAPENABLE)
        self.assertEqual(self.entries("audit"), [])
        st = self.env.ctl_json("show", "snmp", "secure-log")
        self.assertEqual(st["secure-log"], "disabled")
        self.assertEqual(self.env.ctl("snmp", "secure-log", secret=MIRROR_SECRET).returncode, 0)
        self.env.snmpget_v3(OID_TRAPENABLE)
        wait_for(lambda: any("GET" in e for e in self.entries("audit")), 5, what="the audited GET")

    def test_get_getnext_set_are_audited_with_oid_and_value(self):
        self.start("secureLog on\n")
        self.assertIn("INTEGER: 2", self.env.snmpget_v3(OID_TRAPENABLE).stdout)
        self.assertEqual(self.env.snmpset_v3(OID_TRAPENABLE, "i", "1").returncode, 0)
        self.assertIn("wrongValue", self.env.snmpset_v3(OID_TRAPENABLE, "i", "7").stderr)
        self.env.snmpwalk_v3(OID_MIRROR_MIB)
        log = wait_for(lambda: len(self.entries("audit")) >= 4 and self.entries("audit"), 5,
                       what="four audit entries")
        text = "\n".join(log)
        oid = r"(iso|\.?1)\.3\.6\.1\.4\.1\.4874\.2\.2\.77\.2\.1\.0"
        self.assertRegex(text, r"snmpPduAudit GET " + oid + r" = INTEGER 2 -> noError")
        self.assertRegex(text, r"snmpPduAudit SET " + oid + r" = INTEGER 1 -> noError")
        self.assertRegex(text, r"snmpPduAudit SET " + oid + r" = INTEGER 7 -> wrongValue")
        self.assertRegex(text, r"snmpPduAudit GETNEXT " + oid + r" = INTEGER 1 -> noError")

    def test_notification_audited_with_varbinds(self):
        self.env.secrets.update({"carol-sub", "198.18.0.77"})
        self.env.start_snmptrapd()
        self.start("secureLog on\ntrapEnable true\n" + self.env.trap_host(), snmpd=False)
        self.env.raise_event("trap=5 mid=4242 sid=17 trigger=carol-sub tt=3 user=carol-sub aa=198.18.0.77")
        wait_for(lambda: self.env.trap_lines(), 10, what="the trap")
        log = wait_for(lambda: [e for e in self.entries("audit") if "snmpTrap" in e], 5, what="the audit entry")
        self.assertEqual(len(log), 1, log)
        self.assertIn("snmpTrap sent host=127.0.0.1:%d SessionStart" % self.env.trap_port, log[0])
        for part in ('Trigger="carol-sub"', "Identifier=4242", "SessionIdentifier=17", "AnalyzerAddress=198.18.0.77"):
            self.assertIn(part, log[0])
        # the mirror log has the activation too
        ml = self.entries("mirror")
        self.assertEqual(len(ml), 1, ml)
        self.assertRegex(ml[0], r"^activation SessionStart mirror-id=4242 session-id=17 trigger-type=username "
                                r"trigger=\"carol-sub\" source=radiusLogin analyzer=198\.18\.0\.77")

    def test_subscriber_strings_cannot_drive_the_terminal(self):
        self.start(snmpd=False)
        self.env.raise_event("trap=5 mid=5 trigger=evil%1B%5B2J%0Aforged%22row")
        ml = wait_for(lambda: self.entries("mirror"), 5, what="an entry")
        self.assertIn('trigger="evil\\x1b[2J\\x0aforged\\"row"', ml[0])
        text = self.env.ctl("show", "mirror", "log", secret=MIRROR_SECRET).stdout
        self.assertNotIn("\x1b", text)
        self.assertEqual(sum(1 for l in text.splitlines() if "forged" in l), 1)

    def test_filtered_and_disabled_are_audited(self):
        self.start("secureLog on\n" + self.env.trap_host(), snmpd=False)   # trapEnable false
        self.env.raise_event("trap=5 mid=1")
        log = wait_for(lambda: self.entries("audit"), 5, what="the audit entry")
        self.assertIn("snmpTrap not-sent-trap-enable-false", log[0])

    def test_clear_and_both_clear_spellings(self):
        self.start("secureLog on\n")
        self.env.snmpget_v3(OID_TRAPENABLE)
        wait_for(lambda: self.entries("audit"), 5, what="an entry")
        self.assertEqual(self.env.ctl("clear", "snmp", "secure-log", secret=MIRROR_SECRET).returncode, 0)
        self.assertEqual(self.entries("audit"), [])
        self.env.snmpget_v3(OID_TRAPENABLE)
        wait_for(lambda: self.entries("audit"), 5, what="an entry")
        self.assertEqual(self.env.ctl("snmp-server", "clear", "secure-log", secret=MIRROR_SECRET).returncode, 0)
        self.assertEqual(self.entries("audit"), [])

    def test_ring_capacity_from_config(self):
        self.start("secureLog on\nsecureLogSize 5\nmirrorLogSize 3\n", snmpd=False)
        self.env.raise_event("trap=5 mid=1 count=10")
        wait_for(lambda: any("mirror-id=10 " in e for e in self.entries("mirror")), 5,
                 what="the last event")
        # every read (mirror-enable) adds an entry too: count by sequence numbers
        st = self.env.ctl_json("show", "mirror", "log")
        last = max(int(r["Seq"]) for r in st["log-entries"])
        self.assertEqual((st["capacity"], st["entries"], st["overwritten"]), (3, 3, last - 3))
        self.assertGreaterEqual(last, 11)
        # the oldest were evicted
        ids = [re.search(r"mirror-id=(\d+)", e).group(1) for e in self.entries("mirror")]
        self.assertTrue(set(ids) <= {"9", "10"}, ids)
        wait_for(lambda: len(self.entries("audit")) == 5, 5, what="a full audit log")
        self.assertEqual(self.env.ctl_json("show", "snmp", "secure-log")["capacity"], 5)


class TestAccess(SecureLogCase):
    def test_unprivileged_user_refused_and_logged(self):
        self.start(snmpd=False)
        r = self.env.ctl("show", "version", user=NOBODY)
        self.assertEqual(r.returncode, 3, r.stdout + r.stderr)   # the socket's mode stops it
        # with the file mode opened to everyone, the daemon's own SO_PEERCRED check refuses
        os.chmod(self.env.path("run", "ctl.sock"), 0o666)
        r = self.env.ctl("show", "version", user=NOBODY)
        self.assertEqual(r.returncode, 3, r.stdout + r.stderr)
        ml = wait_for(lambda: self.entries("mirror"), 5, what="the refusal in the mirror log")
        self.assertRegex(ml[0], r"control-refused uid=65534 ")
        # the ordinary log says only that something was refused
        self.assertIn("refused", self.env.read_log("pmirrord"))
        self.assertNotIn("65534", self.env.read_log("pmirrord"))

    def test_control_group_member_admitted(self):
        self.start(snmpd=False)
        member = ["--reuid=nobody", "--regid=nogroup", "--groups=%d" % self.gid]
        r = self.env.ctl("show", "version", user=member)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("pmirrord", r.stdout)
        r = self.env.ctl("show", "mirror", "log", secret=MIRROR_SECRET, user=member)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_mirror_enable_logged_with_peer(self):
        self.start(snmpd=False)
        member = ["--reuid=nobody", "--regid=nogroup", "--groups=%d" % self.gid]
        r = self.env.ctl("show", "version", secret=MIRROR_SECRET, user=member)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        ml = wait_for(lambda: [e for e in self.entries("mirror") if "uid=65534" in e], 5,
                      what="the member's mirror-enable in the mirror log")
        self.assertRegex(ml[0], r"^control uid=65534 gid=65534 pid=[1-9]\d*: "
                                r"mirror-enable: mirror mode enabled$")

    def test_mirror_commands_invisible_without_or_with_wrong_secret(self):
        self.start(snmpd=False)
        unknown = self.env.ctl("show", "frobnicate", "log")
        hidden = self.env.ctl("show", "mirror", "log")
        self.assertEqual(unknown.returncode, 1)
        self.assertEqual((hidden.returncode, hidden.stdout, hidden.stderr),
                         (unknown.returncode, unknown.stdout, unknown.stderr))
        help_text = self.env.ctl("help").stdout
        self.assertNotIn("mirror log", help_text)
        self.assertNotIn("secure-log", help_text)
        wrong = self.env.ctl("show", "mirror", "log", secret="not-the-secret")
        self.assertEqual(wrong.returncode, 4)
        self.assertNotIn("Seq", wrong.stdout)
        right = self.env.ctl("help", secret=MIRROR_SECRET)
        self.assertIn("show mirror log", right.stdout)

    def test_socket_mode_and_group(self):
        self.start(snmpd=False)
        st = os.stat(self.env.path("run", "ctl.sock"))
        self.assertEqual(st.st_mode & 0o777, 0o660)
        self.assertEqual(st.st_gid, self.gid)

    def test_not_reachable_over_snmp(self):
        """Nothing of the secure logs or the trap hosts is served over SNMP."""
        self.start("secureLog on\n")
        r = self.env.snmpwalk_v3(OID_MIRROR_MIB)
        oids = re.findall(r"^\.?([\d.]+) =", r.stdout, re.M)
        self.assertEqual(oids, [OID_TRAPENABLE])


class TestMemory(SecureLogCase):
    def test_locked_not_dumpable_and_empty_after_restart(self):
        self.env.secrets.add("dave-sub")
        self.start("secureLog on\n", snmpd=False)
        self.env.raise_event("trap=5 mid=99 trigger=dave-sub")
        wait_for(lambda: self.entries("mirror"), 5, what="an entry")
        pid = self.env.daemons["pmirrord"].pid()
        status = pmtest.read_text("/proc/%d/status" % pid)
        vmlck = int(re.search(r"VmLck:\s+(\d+) kB", status).group(1))
        self.assertGreater(vmlck, 0, status)
        limits = pmtest.read_text("/proc/%d/limits" % pid)
        self.assertRegex(limits, r"Max core file size\s+0\s+0")
        smaps = pmtest.read_text("/proc/%d/smaps" % pid)
        dd = [l for l in smaps.splitlines() if l.startswith("VmFlags:") and " dd" in l and " lo" in l]
        # the two rings may share one VMA: adjacent mappings with equal flags merge
        self.assertGreaterEqual(len(dd), 1, "rings locked (lo) and excluded from dumps (dd)")
        self.env.stop("pmirrord")
        self.env.start_evtestd("controlGroup %s\nsecureLog on\n" % GROUP)
        self.assertEqual(self.entries("mirror"), [])
        self.assertEqual(self.entries("audit"), [])

    def test_nothing_secret_on_disk(self):
        self.env.secrets.add("erin-sub")
        self.start("secureLog on\n", snmpd=False)
        self.env.raise_event("trap=5 mid=31337 trigger=erin-sub user=erin-sub")
        wait_for(lambda: self.entries("mirror"), 5, what="an entry")
        self.env.stop("pmirrord")
        for root, _, files in os.walk(self.env.path("agent")):
            for f in files:
                data = open(os.path.join(root, f), "rb").read()
                self.assertNotIn(b"erin-sub", data, f)
                self.assertNotIn(b"31337", data, f)


if __name__ == "__main__":
    unittest.main()
