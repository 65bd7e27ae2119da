"""Volatile secure logs and pmirrorctl against the real daemon."""
import grp
import json
import os
import re
import subprocess
import unittest

import pmtest
from pmtest import MIRROR_SECRET, OID_MIRROR_MIB, OID_TRAPENABLE, PmTestCase, free_udp_port, wait_for

GROUP = "pmirrord-test"
NOBODY = ["--reuid=nobody", "--regid=nogroup", "--clear-groups"]
# every timestamp shown carries its UTC offset
TIME = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d"


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
        rows = [r["entry"] for r in self.env.ctl_json(*words).get("log_entries", [])]
        return [e for e in rows if own or not e.startswith("operator uid=0 gid=0 ")
                or not e.endswith(": mirror-enable")]

    def as_member(self, requests):
        """Send requests on one connection from a child process that runs as nobody
        with the control group; returns (its pid, [(status, body)...])."""
        rfd, wfd = os.pipe()
        pid = os.fork()
        if pid == 0:
            try:
                os.close(rfd)
                os.setgroups([self.gid])
                os.setgid(65534)
                os.setuid(65534)
                c = pmtest.CtlConn(self.env.path("run", "ctl.sock"))
                out = json.dumps([c.request(line) for line in requests]).encode()
                while out:
                    out = out[os.write(wfd, out):]
            finally:
                os._exit(0)
        os.close(wfd)
        data = b""
        with os.fdopen(rfd, "rb") as f:
            data = f.read()
        os.waitpid(pid, 0)
        if not data:
            raise AssertionError("the member's requests failed")
        return pid, [tuple(x) for x in json.loads(data)]

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
        self.assertIs(st["secure_log"], False)
        self.assertEqual(self.env.ctl("snmp", "secure-log", secret=MIRROR_SECRET).returncode, 0)
        self.env.snmpget_v3(OID_TRAPENABLE)
        wait_for(lambda: any("GET" in e for e in self.entries("audit")), 5, what="the audited GET")

    def test_get_getnext_set_are_audited_with_oid_and_value(self):
        """Each request in plain words: what was asked, the value, and the result."""
        self.start("secureLog on\n")
        self.assertIn("INTEGER: 2", self.env.snmpget_v3(OID_TRAPENABLE).stdout)
        self.assertEqual(self.env.snmpset_v3(OID_TRAPENABLE, "i", "1").returncode, 0)
        self.assertIn("wrongValue", self.env.snmpset_v3(OID_TRAPENABLE, "i", "7").stderr)
        self.env.snmpwalk_v3(OID_MIRROR_MIB)
        self.env.snmpget_v3(OID_TRAPENABLE[:-1] + "1")
        self.maxDiff = None
        log = wait_for(lambda: any("no such" in e for e in self.entries("audit")) and self.entries("audit"),
                       5, what="the last audit entry")
        want = ["GET juniPacketMirrorTrapEnable.0 = false(2): ok",
                "SET juniPacketMirrorTrapEnable.0 to true(1): ok",
                "SET juniPacketMirrorTrapEnable.0 to 7: refused (wrongValue)",
                "GETNEXT juniPacketMirrorTrapEnable.0 = true(1): ok",
                "GET juniPacketMirrorTrapEnable.1: no such instance"]
        # in this order; snmpwalk and snmpd add requests of their own in between
        rest = iter(log)
        self.assertTrue(all(w in rest for w in want), log)
        self.assertIn("GETNEXT juniPacketMirrorTrapEnable.0: nothing follows", log)
        for e in log:
            self.assertNotRegex(e, r"->|= NULL|noSuch")
        # timestamps with their UTC offset, in JSON and in text
        rows = self.env.ctl_json("show", "snmp", "secure-log")["log_entries"]
        for row in rows:
            self.assertRegex(row["time"], "^" + TIME + "$")
        text = self.env.ctl("show", "snmp", "secure-log", secret=MIRROR_SECRET).stdout
        self.assertRegex(text, r"(?m)^1 +" + TIME + r" +GET juniPacketMirrorTrapEnable\.0 = false\(2\): ok$")

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
        self.assertEqual(len(self.entries("audit")), 1)
        self.assertRegex(self.entries("audit")[0], r"^cleared by uid=0 gid=0 pid=\d+$")
        self.env.snmpget_v3(OID_TRAPENABLE)
        wait_for(lambda: len(self.entries("audit")) == 2, 5, what="an entry")
        self.assertEqual(self.env.ctl("snmp-server", "clear", "secure-log", secret=MIRROR_SECRET).returncode, 0)
        self.assertEqual(len(self.entries("audit")), 1)
        self.assertRegex(self.entries("audit")[0], r"^cleared by uid=0 gid=0 pid=\d+$")

    def test_ring_capacity_from_config(self):
        self.start("secureLog on\nsecureLogSize 5\nmirrorLogSize 3\n", snmpd=False)
        self.env.raise_event("trap=5 mid=1 count=10")
        wait_for(lambda: any("mirror-id=10 " in e for e in self.entries("mirror")), 5,
                 what="the last event")
        # every read (mirror-enable) adds an entry too: count by sequence numbers
        st = self.env.ctl_json("show", "mirror", "log")
        last = max(r["seq"] for r in st["log_entries"])
        self.assertEqual((st["capacity"], st["entries"], st["overwritten"]), (3, 3, last - 3))
        self.assertGreaterEqual(last, 11)
        # the oldest were evicted
        ids = [re.search(r"mirror-id=(\d+)", e).group(1) for e in self.entries("mirror")]
        self.assertTrue(set(ids) <= {"9", "10"}, ids)
        wait_for(lambda: len(self.entries("audit")) == 5, 5, what="a full audit log")
        self.assertEqual(self.env.ctl_json("show", "snmp", "secure-log")["capacity"], 5)


class TestOperatorTrail(SecureLogCase):
    def test_actions_recorded_with_the_peer(self):
        """Changes made on the control socket are written to the mirror log with the
        caller's uid, gid and pid; a cleared ring starts with who cleared it."""
        self.start("secureLog on\n", snmpd=False)
        port = free_udp_port()
        self.env.secrets.update({"op-auth-passphrase", "op-priv-passphrase"})
        pid, out = self.as_member([
            "mirror-enable " + MIRROR_SECRET,
            "clear mirror log",
            "trap-host add 127.0.0.1:%d user opUser auth SHA-256 op-auth-passphrase priv AES "
            "op-priv-passphrase inform" % port,
            "trap-host remove 127.0.0.1:%d" % port,
            "no snmp secure-log",
            "snmp secure-log",
            "clear snmp secure-log",
        ])
        self.assertEqual([st for st, _ in out], ["OK"] * 7, out)
        who = "uid=65534 gid=65534 pid=%d" % pid
        ml = self.entries("mirror")
        self.assertEqual(ml[0], "cleared by " + who)
        mine = [e for e in ml if who in e]
        self.assertEqual(mine, [
            "cleared by " + who,
            "operator %s: trap-host add 127.0.0.1:%d user opUser auth SHA-256 priv AES-128 inform" % (who, port),
            "operator %s: trap-host remove 127.0.0.1:%d" % (who, port),
            "operator %s: no snmp secure-log" % who,
            "operator %s: snmp secure-log" % who,
            "operator %s: clear snmp secure-log" % who,
        ])
        # the cleared audit ring starts with who cleared it
        self.assertEqual(self.entries("audit")[0], "cleared by " + who)
        for e in ml + self.entries("audit"):
            self.assertNotIn("passphrase", e)

    def test_trap_host_errors_name_their_source(self):
        self.start(snmpd=False)
        port = free_udp_port()
        _, out = self.as_member([
            "mirror-enable " + MIRROR_SECRET,
            "trap-host add 127.0.0.1:%d user u2 auth MD5 authpass1 priv AES privpass1" % port,
            "trap-host add 127.0.0.1:%d user u3 auth SHA-256 authpass1 priv AES privpass1" % port,
            "trap-host add 127.0.0.1:%d user u4 auth SHA-256 authpass1 priv AES privpass1" % port,
        ])
        self.assertEqual(out[1][0], "ERR")
        self.assertTrue(out[1][1].startswith("% trapHost: auth MD5 is refused"), out[1])
        self.assertEqual(out[2][0], "OK")
        self.assertEqual(out[3], ("ERR", "%% trapHost 127.0.0.1:%d is already defined at run time by "
                                         "uid 65534\n" % port))


    def test_refused_trap_host_requests_recorded(self):
        """A refused trap-host add or remove (grammar, duplicate, no such host) is written
        to the mirror log with the peer and the reason, never the passphrases; a host is
        named in its normalised form."""
        self.start(snmpd=False)
        port = free_udp_port()
        passes = ["refused-auth-1", "refused-priv-1", "dup-auth-pass-2", "dup-priv-pass-2"]
        self.env.secrets.update(passes)
        pid, out = self.as_member([
            "mirror-enable " + MIRROR_SECRET,
            "trap-host add 127.0.0.1:%d user r1 auth MD5 refused-auth-1 priv AES refused-priv-1" % port,
            "trap-host add 127.0.0.1:%d user r2 auth SHA-256 dup-auth-pass-2 priv AES dup-priv-pass-2" % port,
            "trap-host add 127.0.0.1:%d user r2 auth SHA-256 dup-auth-pass-2 priv AES dup-priv-pass-2" % port,
            "trap-host remove 127.0.0.1",
            "trap-host remove",
        ])
        self.assertEqual([st for st, _ in out], ["OK", "ERR", "OK", "ERR", "ERR", "ERR"], out)
        self.assertEqual(out[4][1], "% no trap host 127.0.0.1:162\n")
        who = "operator uid=65534 gid=65534 pid=%d: " % pid
        mine = [e[len(who):] for e in self.entries("mirror")
                if e.startswith(who) and e != who + "mirror-enable"]
        self.assertEqual(len(mine), 5, mine)
        self.assertEqual(mine[1:], [
            "trap-host add 127.0.0.1:%d user r2 auth SHA-256 priv AES-128" % port,
            "trap-host add 127.0.0.1:%d refused: trapHost 127.0.0.1:%d is already defined at run "
            "time by uid 65534" % (port, port),
            "trap-host remove 127.0.0.1:162 refused: no trap host 127.0.0.1:162",
            "trap-host remove refused: no address",
        ])
        self.assertRegex(mine[0], r"^trap-host add 127\.0\.0\.1:%d refused: (trapHost: )?auth MD5 "
                                  r"is refused" % port)
        for e in self.entries("mirror"):
            for p in passes:
                self.assertNotIn(p, e)


class TestPaging(SecureLogCase):
    def test_from_past_the_newest_or_before_the_oldest_says_so(self):
        """from SEQ past the newest entry, or before the oldest kept one: the text says
        which; JSON has newest_seq and oldest_seq to tell."""
        self.start("mirrorLogSize 10\n", snmpd=False)
        self.env.raise_event("trap=5 mid=1 count=30")
        wait_for(lambda: any("mirror-id=30 " in e for e in self.entries("mirror")), 10,
                 what="the last event")
        conn = pmtest.CtlConn(self.env.path("run", "ctl.sock"))
        self.addCleanup(conn.close)
        self.assertEqual(conn.request("mirror-enable " + MIRROR_SECRET)[0], "OK")
        j = json.loads(conn.request("@json show mirror log")[1])
        oldest, newest = j["oldest_seq"], j["newest_seq"]
        self.assertEqual(newest - oldest + 1, 10, j)
        self.assertEqual(j["log_entries"][-1]["seq"], newest)
        st, text = conn.request("show mirror log from 1000")
        self.assertEqual(st, "OK", text)
        self.assertIn("no entries from 1000: the newest is %d\n" % newest, text)
        j = json.loads(conn.request("@json show mirror log from 1000")[1])
        self.assertEqual((j["shown"], j["newest_seq"]), (0, newest), j)
        st, text = conn.request("show mirror log from 1")
        self.assertIn("entries 1-%d were overwritten; showing from %d\n" % (oldest - 1, oldest), text)
        j = json.loads(conn.request("@json show mirror log from 1")[1])
        self.assertEqual((j["oldest_seq"], j["log_entries"][0]["seq"]), (oldest, oldest), j)
        # within the ring: no such sentence
        st, text = conn.request("show mirror log from %d" % oldest)
        self.assertNotIn("overwritten;", text)
        self.assertNotIn("no entries", text)
        # after a clear the numbers go on: those before are "cleared or overwritten"
        self.assertEqual(conn.request("clear mirror log")[0], "OK")
        st, text = conn.request("show mirror log from 1")
        self.assertIn("entries 1-%d were cleared or overwritten; showing from %d\n"
                      % (newest, newest + 1), text)

    def test_full_rings_are_shown_page_by_page(self):
        """65,536 entries: the default shows the newest 1000 and says how to get more;
        `from SEQ` pages continue exactly; `last N` shows the newest N."""
        cap = 65536
        self.start("secureLog on\nsecureLogSize %d\nmirrorLogSize %d\neventQueueSize 1048576\n"
                   % (cap, cap), snmpd=False)
        self.env.raise_event("trap=7 mid=1 trigger=%s count=%d" % ("t" * 40, cap + 100))
        wait_for(lambda: self.env.ctl_json("show", "mirror", "log")["overwritten"] >= 100, 120,
                 what="a full mirror log")
        wait_for(lambda: self.env.ctl_json("show", "snmp", "secure-log")["overwritten"] >= 100, 60,
                 what="a full audit log")
        # One connection, one mirror-enable: a pmirrorctl per read would add a
        # mirror-enable entry to the mirror log each time and move the ring under us.
        conn = pmtest.CtlConn(self.env.path("run", "ctl.sock"))
        self.addCleanup(conn.close)
        self.assertEqual(conn.request("mirror-enable " + MIRROR_SECRET)[0], "OK")

        def page_json(*words):
            st, body = conn.request("@json " + " ".join(words))
            self.assertEqual(st, "OK", body)
            return json.loads(body)

        for words in (["show", "mirror", "log"], ["show", "snmp", "secure-log"]):
            first = page_json(*words)
            self.assertEqual(first["entries"], cap)
            rows = first["log_entries"]
            self.assertEqual(len(rows), 1000)
            self.assertEqual(first["shown"], 1000)
            self.assertIs(first["more"], False)
            oldest, newest = first["oldest_seq"], rows[-1]["seq"]
            self.assertEqual(newest - oldest + 1, cap)
            self.assertEqual([r["seq"] for r in rows], list(range(newest - 999, newest + 1)))
            self.assertEqual(first["next_seq"], newest + 1)
            st, text = conn.request(" ".join(words))
            self.assertIn("from %d" % oldest, text)   # says how to see the older ones
            # every page, from the oldest on, continues exactly where the last one ended
            seqs, nxt, pages = [], oldest, 0
            while True:
                page = page_json(*words, "from", str(nxt))
                got = [r["seq"] for r in page["log_entries"]]
                self.assertEqual(got, list(range(nxt, nxt + len(got))))
                self.assertGreater(len(got), 0)
                seqs += got
                pages += 1
                self.assertEqual(page["next_seq"], got[-1] + 1)
                if not page["more"]:
                    break
                nxt = page["next_seq"]
            self.assertEqual(seqs, list(range(oldest, newest + 1)))
            self.assertEqual(pages, (cap + 999) // 1000)
            last = page_json(*words, "last", "5")
            self.assertEqual([r["seq"] for r in last["log_entries"]], list(range(newest - 4, newest + 1)))
            # a page from before the oldest entry starts at the oldest
            self.assertEqual(page_json(*words, "from", "1")["log_entries"][0]["seq"], oldest)
            st, body = conn.request(" ".join(words + ["last", "0"]))
            self.assertEqual(st, "ERR")
            self.assertIn("last N", body)


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
        self.assertRegex(ml[0], r"^operator uid=65534 gid=65534 pid=[1-9]\d*: mirror-enable$")

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
