"""Mirror triggers on a running daemon: `mirror`, `no mirror` and `show mirror
triggers` through pmirrorctl, invisible before mirror-enable; the rules of the
configuration with their FILE:LINE; duplicates and maxTriggers refused, the latter
with a CliTriggerBasedMirroringFailure noResourcesAvailable(1) at a real snmptrapd;
every change an operator action in the mirror log; the table reaches the real capture
process (its acknowledgement names the generation pushed); nothing of a trigger in
the ordinary log."""
import os
import re
import subprocess

import pmtest
from pmtest import MIRROR_SECRET, PmTestCase, wait_for

UNKNOWN = "Unknown command"
NOTIF = ".1.3.6.1.4.1.4874.2.2.77.3.0.2"          # CliTriggerBasedMirroringFailure
OBJ = ".1.3.6.1.4.1.4874.2.2.77.3.1.%d.0"        # juniPacketMirrorNotificationObjects


def varbinds(line):
    return dict((p.split(" = ", 1)[0].strip(), p.split(" = ", 1)[1].strip())
                for p in line.split("|")[1:] if " = " in p)


class TriggerCommandsTest(PmTestCase):
    def setUp(self):
        super().setUp()
        # identities, analyzers and mirror IDs of this test: never in an ordinary log
        self.env.secrets.update({"cfguser", "alice", "bob", "carol", "x y", "127.0.0.9:30030"})
        self.env.secret_ids.update({5, 7, 8, 9, 12})
        self.env.start_snmpd()
        self.env.start_snmptrapd()
        self.conf_line = "mirror username cfguser analyzer 127.0.0.9:30030 id 5"
        self.env.start_pmirrord("trapEnable true\n" + self.env.trap_host() + "\nmaxTriggers 3\n" +
                                self.conf_line + "\n")
        self.env.wait_registered()

    def tearDown(self):
        self.env.cleanup()

    def ctl(self, *words):
        return self.env.ctl(*words, secret=MIRROR_SECRET)

    def show(self):
        return self.env.ctl_json("show", "mirror", "triggers")

    def mirror_log(self):
        r = self.ctl("show", "mirror", "log")
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout

    def acked_generation(self):
        s = self.env.ctl_json("show", "mirror", "statistics")
        return s if s["trigger_ack_generation"] == s["trigger_table_generation"] else None

    def test_add_list_remove(self):
        # hidden before mirror-enable, answered like an unknown command
        for words in (("show", "mirror", "triggers"), ("mirror", "username", "alice", "analyzer",
                      "127.0.0.9:30030", "id", "7"), ("no", "mirror", "username", "alice"),
                      ("show", "mirror", "subscribers")):
            r = self.env.ctl(*words)
            self.assertNotEqual(r.returncode, 0)
            self.assertIn(UNKNOWN, r.stdout + r.stderr)
        r = self.env.ctl("help")
        self.assertNotIn("mirror triggers", r.stdout)
        r = self.ctl("help")
        self.assertIn("show mirror triggers", r.stdout)

        # the configuration's rule, with where it is written
        t = self.show()
        conf = pmtest.read_text(self.env.path("pmirrord.conf")).split("\n")
        where = "%s:%d" % (self.env.path("pmirrord.conf"), conf.index(self.conf_line) + 1)
        self.assertEqual((t["trigger_count"], t["max_triggers"]), (1, 3))
        self.assertEqual((t["triggers"][0]["rule"], t["triggers"][0]["source"]), (self.conf_line, where))
        s0 = wait_for(self.acked_generation, 10, what="the capture process to acknowledge the table")

        # add; the same again and the configuration's own are refused as duplicates
        r = self.ctl("mirror", "USERNAME", "alice", "analyzer", "127.0.0.9:30030", "id", "7",
                     "direction", "ingress", "until", "2099-01-01T00:00:00+01:00")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        r = self.ctl("mirror", "user-name", "alice", "analyzer", "127.0.0.9:30030", "id", "7")
        self.assertNotEqual(r.returncode, 0)       # not a type: refused, the value not echoed
        self.assertIn("word 2", r.stdout + r.stderr)
        self.assertNotIn("alice", r.stdout + r.stderr)
        r = self.ctl("mirror", "username", "alice", "analyzer", "127.0.0.8:1", "id", "7")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("already defined (pmirrorctl)", r.stdout + r.stderr)
        r = self.ctl("mirror", "username", "cfguser", "analyzer", "127.0.0.9:30030", "id", "5")
        self.assertIn("already defined (%s)" % where, r.stdout + r.stderr)
        r = self.ctl("mirror", "interface", "lo", "analyzer", "127.0.0.9:30030", "id", "8")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        t = self.show()
        self.assertEqual(t["trigger_count"], 3)
        rows = {x["rule"]: x for x in t["triggers"]}
        alice = ("mirror username alice analyzer 127.0.0.9:30030 id 7 direction ingress "
                 "until 2098-12-31T23:00:00Z")
        self.assertEqual(rows[alice]["source"], "pmirrorctl")
        self.assertEqual(rows[alice]["window"], "open")
        self.assertEqual(rows["mirror interface lo analyzer 127.0.0.9:30030 id 8"]["type"],
                         "interfaceString")
        s1 = wait_for(self.acked_generation, 10, what="the new table's acknowledgement")
        self.assertGreater(s1["trigger_table_generation"], s0["trigger_table_generation"])

        # maxTriggers: refused, and a CliTriggerBasedMirroringFailure noResourcesAvailable(1)
        r = self.ctl("mirror", "username", "carol", "analyzer", "127.0.0.9:30030", "id", "12")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("maxTriggers (3) reached", r.stdout + r.stderr)
        # (the static rule on lo, an interface this daemon does not capture, has
        # already raised its own failure: noSuchUserOrInterface(5))
        fails = wait_for(lambda: [varbinds(l) for l in self.env.trap_lines() if NOTIF in l]
                         if len([l for l in self.env.trap_lines() if NOTIF in l]) >= 2 else None,
                         15, what="both notifications")
        static = [v for v in fails if v[OBJ % 4] == "INTEGER: 0"]
        self.assertEqual(len(static), 1)
        self.assertEqual(static[0][OBJ % 6], "INTEGER: 5")             # noSuchUserOrInterface
        vb = [v for v in fails if v[OBJ % 4] != "INTEGER: 0"][0]
        self.assertEqual(vb[OBJ % 6], "INTEGER: 1")                     # ErrorCause
        self.assertEqual(vb[OBJ % 5], "INTEGER: 2")                     # cliTrigger
        self.assertEqual(vb[OBJ % 4], "INTEGER: 3")                     # username
        self.assertEqual(vb[OBJ % 3].replace('"', ""), "STRING: carol")  # Trigger
        self.assertEqual(vb[OBJ % 11].replace('"', ""), "STRING: spl_0000000c")
        self.assertEqual(vb[OBJ % 12], "Gauge32: 12")                   # PolicyId
        self.assertEqual(self.show()["trigger_count"], 3)

        # remove: by value and ID, by value (every ID); nothing left to remove is an error
        r = self.ctl("no", "mirror", "username", "alice", "id", "8")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("no trigger matches", r.stdout + r.stderr)
        r = self.ctl("no", "mirror", "username", "alice")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("1 trigger removed", r.stdout)
        r = self.ctl("no", "mirror", "interface", "lo", "id", "8")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        t = self.show()
        self.assertEqual((t["trigger_count"], [x["rule"] for x in t["triggers"]]), (1, [self.conf_line]))
        s2 = wait_for(self.acked_generation, 10, what="the acknowledgement after the removals")
        self.assertGreater(s2["trigger_table_generation"], s1["trigger_table_generation"])

        # a VALUE with a blank: the rule is shown, and logged, quoted as it is written,
        # not escaped into a line that no longer reads back as a rule
        r = self.ctl("mirror", "username", "x y", "analyzer", "127.0.0.9:30030", "id", "9")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        quoted = 'mirror username "x y" analyzer 127.0.0.9:30030 id 9'
        self.assertIn("trigger added: %s\n" % quoted, r.stdout)
        self.assertIn(quoted, [x["rule"] for x in self.show()["triggers"]])
        r = self.ctl("show", "mirror", "triggers")
        self.assertIn(quoted + " ", r.stdout)
        r = self.ctl("no", "mirror", "username", "x y")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

        # every operator change, and every refusal, in the mirror log
        log = self.mirror_log()
        self.assertIn(quoted + " added", log)
        self.assertRegex(log, r"operator uid=0 gid=0 pid=\d+: " + re.escape(alice) + " added")
        self.assertIn("mirror username alice analyzer 127.0.0.8:1 id 7 refused: a duplicate", log)
        self.assertIn("mirror username carol analyzer 127.0.0.9:30030 id 12 refused: maxTriggers reached",
                      log)
        self.assertIn("no mirror username alice removed 1", log)
        self.assertIn("no mirror username alice id 8 refused: no such trigger", log)
        self.assertIn("CliTriggerBasedMirroringFailure", log)
        self.assertAlive()

    def test_value_from_stdin(self):
        # a VALUE of "-" is read after the mirror secret: the identity is not in argv
        def run(*words, value):
            argv = [pmtest.PMIRRORCTL, "-s", self.env.path("run", "ctl.sock"), "-e", *words]
            if getattr(self.env, "server_user", None):
                argv[3:3] = ["--server-user", self.env.server_user]
            self.assertNotIn(value, argv)
            lines = MIRROR_SECRET + "\n" + (value + "\n" if value else "")
            return subprocess.run(argv, input=lines, capture_output=True, text=True, timeout=60)
        r = run("mirror", "username", "-", "analyzer", "127.0.0.9:30030", "id", "12", value="bob")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        rules = [x["rule"] for x in self.show()["triggers"]]
        self.assertIn("mirror username bob analyzer 127.0.0.9:30030 id 12", rules)
        self.assertNotIn("mirror username - analyzer 127.0.0.9:30030 id 12", rules)
        r = run("no", "mirror", "username", "-", "id", "12", value="bob")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("1 trigger removed", r.stdout)
        self.assertEqual(self.show()["trigger_count"], 1)
        # no value on stdin: refused before anything is sent
        r = run("mirror", "username", "-", "analyzer", "127.0.0.9:30030", "id", "12", value="")
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertIn("no value read", r.stderr)

    def test_config_errors(self):
        """A duplicate or one rule too many in the file: FILE:LINE, nothing of the value."""
        for extra, want in (
                ("mirror username secretval analyzer 127.0.0.9:1 id 1\n"
                 "mirror username secretval analyzer 127.0.0.9:2 id 1\n",
                 "the same trigger and mirror ID are defined at"),
                ("maxTriggers 1\nmirror username secretval analyzer 127.0.0.9:1 id 1\n"
                 "mirror username other analyzer 127.0.0.9:1 id 2\n", "more than maxTriggers (1)"),
                ("no mirror username secretval\n", "no earlier mirror line matches")):
            path = self.env.path("bad.conf")
            text = self.env.pmirrord_conf(extra)
            with open(path, "w") as f:
                f.write(text)
            os.chmod(path, 0o600)
            r = subprocess.run([pmtest.PMIRRORD, "-n", "-c", path], capture_output=True, text=True,
                               timeout=60)
            self.assertNotEqual(r.returncode, 0)
            n = len(text.rstrip("\n").split("\n"))
            self.assertIn("%s:%d: " % (path, n), r.stderr)
            self.assertIn(want, r.stderr)
            self.assertNotIn("secretval", r.stderr)
