"""test_ctl_cli - pmirrorctl against ctl_testd (a control server with test commands).

Runs the real client binary one-shot, with --json and with -e, as root, as an
unprivileged user (setpriv) and as a member of the control group.  Needs root
(groupadd, setpriv); the group it creates is removed at the end.
"""
import base64
import grp
import hashlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

from pmtest import wait_for

SRC = os.environ.get("PM_SOURCE_DIR", os.path.abspath(os.path.join(os.path.dirname(__file__), "../..")))
BUILD = os.environ.get("PM_BUILD_DIR", os.path.join(SRC, "build"))
GROUP = "pmctltest"
SECRET = "open sesame, twice"
UNKNOWN = "% Unknown command. Type 'help' for a list of commands.\n"
NOBODY = ["setpriv", "--reuid=nobody", "--regid=nogroup"]


def find(name):
    for d in (BUILD, os.path.join(BUILD, "tests"), os.path.join(BUILD, "tests", "tools")):
        p = os.path.join(d, name)
        if os.access(p, os.X_OK):
            return p
    # never a skip: in CI a missing capability is a failure
    raise AssertionError("%s not built in %s" % (name, BUILD))


class TestdServer:
    """ctl_testd on a socket in dir; stopped by its own PID."""

    def __init__(self, sock, *args):
        self.sock = sock
        d = os.path.dirname(sock)
        self.out = open(os.path.join(os.path.dirname(d), os.path.basename(d) + ".out"), "w+")
        self.proc = subprocess.Popen([find("ctl_testd"), "-s", sock] + list(args),
                                     stdout=self.out, stderr=subprocess.STDOUT)
        wait_for(lambda: "ready" in self.output() or self.proc.poll() is not None, 10, what="ctl_testd")
        if self.proc.poll() is not None:
            raise AssertionError("ctl_testd failed: " + self.output())

    def output(self):
        self.out.seek(0)
        return self.out.read()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(10)
        self.out.close()
        return self.proc.returncode


class CtlCliTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if os.geteuid() != 0:
            raise AssertionError("needs root (groupadd, setpriv): run the suite as root")
        cls.tmp = tempfile.mkdtemp(prefix="test_ctl_cli.")
        cls.addClassCleanup(shutil.rmtree, cls.tmp, ignore_errors=True)
        os.chmod(cls.tmp, 0o755)
        # unprivileged users must be able to run the client: a copy outside /work
        cls.ctl = os.path.join(cls.tmp, "pmirrorctl")
        shutil.copy(find("pmirrorctl"), cls.ctl)
        os.chmod(cls.ctl, 0o755)
        try:
            grp.getgrnam(GROUP)
        except KeyError:
            subprocess.run(["groupadd", "--system", GROUP], check=True)
            cls.addClassCleanup(subprocess.run, ["groupdel", GROUP], check=False)
        cls.gid = grp.getgrnam(GROUP).gr_gid
        r = subprocess.run([cls.ctl, "hash-secret", "1000"], input=SECRET + "\n",
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        cls.hash = r.stdout.strip()
        cls.sock = os.path.join(cls.tmp, "run", "ctl.sock")
        cls.srv = TestdServer(cls.sock, "-g", GROUP, "-H", cls.hash, "-b", "200")
        cls.addClassCleanup(cls.srv.stop)

    def run_ctl(self, *args, prefix=(), stdin=None, sock=None):
        argv = list(prefix) + [self.ctl, "-s", sock or self.sock] + list(args)
        return subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=60)

    # ---- tests ----

    def test_hash_secret_is_pbkdf2(self):
        """The CLI's hash string, checked with Python's own PBKDF2."""
        scheme, it, salt, dk = self.hash.split("$")[1:]
        self.assertEqual(scheme, "pbkdf2-sha256")
        self.assertEqual(it, "1000")
        salt, dk = base64.b64decode(salt, validate=True), base64.b64decode(dk, validate=True)
        self.assertEqual(len(salt), 16)
        self.assertEqual(hashlib.pbkdf2_hmac("sha256", SECRET.encode(), salt, 1000, len(dk)), dk)
        r = self.run_ctl("hash-secret", "12")
        self.assertEqual(r.returncode, 2)

    def test_hash_secret_exit_status_as_documented(self):
        """-h says 2 is "none read"; a secret under 8 characters is refused, and -h says so."""
        usage = self.run_ctl("-h").stdout
        self.assertIn("none read", usage)
        self.assertIn("shorter\nthan 8 characters", usage)
        r = self.run_ctl("hash-secret", stdin="")
        self.assertEqual((r.returncode, r.stdout), (2, ""), r.stderr)
        self.assertIn("no secret read", r.stderr)
        r = self.run_ctl("hash-secret", "1000", stdin="short\n")
        self.assertEqual((r.returncode, r.stdout), (2, ""), r.stderr)
        self.assertIn("at least 8 characters", r.stderr)
        r = self.run_ctl("hash-secret", "1000", stdin="1234567\n")
        self.assertEqual(r.returncode, 2, r.stderr)
        r = self.run_ctl("hash-secret", "1000", stdin="12345678\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(r.stdout.startswith("$pbkdf2-sha256$1000$"), r.stdout)

    def test_help_hides_mirror_commands(self):
        r = self.run_ctl("help")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("show things", r.stdout)
        self.assertIn("mirror-enable", r.stdout)
        self.assertNotIn("mirror log", r.stdout)
        self.assertNotIn("secure-log", r.stdout)

    def test_hidden_equals_unknown(self):
        unknown = self.run_ctl("show", "bogus")
        hidden = self.run_ctl("show", "mirror", "log")
        self.assertEqual(unknown.returncode, 1)
        self.assertEqual(unknown.stderr, UNKNOWN)
        self.assertEqual((hidden.returncode, hidden.stdout, hidden.stderr),
                         (unknown.returncode, unknown.stdout, unknown.stderr))
        uj = self.run_ctl("--json", "no", "snmp", "bogus")
        hj = self.run_ctl("--json", "no", "snmp", "secure-log")
        self.assertEqual(uj.returncode, 1)
        self.assertEqual(json.loads(uj.stdout)["status"], "error")
        self.assertEqual((hj.returncode, hj.stdout), (uj.returncode, uj.stdout))

    def test_json(self):
        r = self.run_ctl("--json", "show", "things")
        self.assertEqual(r.returncode, 0, r.stderr)
        doc = json.loads(r.stdout)
        self.assertEqual(doc["status"], "ok")
        self.assertEqual(doc["Hosts"], 2)
        self.assertEqual(doc["hosts"][0], {"Address": "10.16.2.12", "Port": "162"})
        r = self.run_ctl("-j", "help")
        cmds = [c["command"] for c in json.loads(r.stdout)["commands"]]
        self.assertIn("trap-host add <address> [port] [words...]", cmds)
        self.assertNotIn("show mirror log", cmds)

    def test_arguments(self):
        r = self.run_ctl("trap-host", "add", "10.0.0.1", "sec name", 'q"uote')
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, '[10.0.0.1] [sec name] [q"uote]\n')
        r = self.run_ctl("trap-host", "add")
        self.assertEqual((r.returncode, r.stderr), (1, "% trap-host add: address missing\n"))

    def test_enable_right_secret(self):
        r = self.run_ctl("-e", "show", "mirror", "log", stdin=SECRET + "\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("Mirror-ID", r.stdout)
        self.assertNotIn(SECRET, r.stdout + r.stderr)
        r = self.run_ctl("--json", "-e", "show", "mirror", "log", stdin=SECRET + "\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout)["entries"][0]["Mirror-ID"], "42")
        r = self.run_ctl("-e", "no", "snmp", "secure-log", "x", stdin=SECRET)
        self.assertEqual((r.returncode, r.stdout), (0, "[x]\n"))

    def test_enable_wrong_secret(self):
        r = self.run_ctl("-e", "show", "mirror", "log", stdin="not it\n")
        self.assertEqual(r.returncode, 4)
        self.assertEqual(r.stderr, "% Access denied.\n")
        self.assertEqual(r.stdout, "")
        r = self.run_ctl("--json", "-e", "help", stdin="not it either\n")
        self.assertEqual(r.returncode, 4)
        self.assertEqual(json.loads(r.stdout)["status"], "denied")
        wait_for(lambda: "mirror-enable: wrong secret" in self.srv.output(), 5, what="report")

    def test_usage_and_connect_errors(self):
        self.assertEqual(self.run_ctl("--no-such-option").returncode, 2)
        self.assertEqual(self.run_ctl("-e", stdin=SECRET).returncode, 2)
        r = self.run_ctl("help", sock=os.path.join(self.tmp, "nothing.sock"))
        self.assertEqual(r.returncode, 3)
        self.assertIn("cannot connect", r.stderr)

    def test_interactive_from_pipe(self):
        script = "help\nshow mirror log\nmirror-enable\n" + SECRET + "\nshow mirror log\n" \
                 "disable\nshow mirror log\nexit\nhelp\n"
        r = self.run_ctl(stdin=script)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.count("Mirror-ID"), 1)
        self.assertIn("Mirror mode enabled.", r.stdout)
        self.assertIn("Mirror mode disabled.", r.stdout)
        self.assertEqual(r.stderr, UNKNOWN * 2)
        self.assertEqual(r.stdout.count("show things"), 1)  # nothing after exit

    def test_interactive_inline_secret_refused(self):
        """Interactively a secret typed on the line is not sent; help shows mirror-enable
        without a secret (it prompts)."""
        r = self.run_ctl(stdin="help\nmirror-enable " + SECRET + "\nshow mirror log\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout, r"\n  mirror-enable +Unlock the mirror commands .*prompts")
        self.assertNotIn("<secret>", r.stdout)
        self.assertIn("% mirror-enable: not sent: the secret was typed on the line", r.stderr)
        self.assertNotIn("Mirror mode enabled", r.stdout)
        self.assertTrue(r.stderr.endswith(UNKNOWN), r.stderr)   # still not in mirror mode
        # with the @json prefix too; and "@json mirror-enable" alone prompts
        r = self.run_ctl(stdin="@json mirror-enable " + SECRET + "\n@json mirror-enable\n" + SECRET
                         + "\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("% mirror-enable: not sent", r.stderr)
        self.assertEqual([json.loads(l)["status"] for l in r.stdout.splitlines()], ["ok"], r.stdout)

    def test_extra_words_refused_by_builtins(self):
        """exit, quit, disable and mirror-disable take no word: one more is refused and
        nothing is done (the session stays open, mirror mode stays on)."""
        r = self.run_ctl(stdin="mirror-enable\n" + SECRET + "\nexit now\nquit now\n"
                         "disable now\nmirror-disable now\nshow things extra\nshow mirror log\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        for w in ("exit", "quit", "disable", "mirror-disable"):
            self.assertIn('%% %s: unexpected word "now"\n' % w, r.stderr)
        self.assertIn('% show things: unexpected word "extra"\n', r.stderr)
        self.assertNotIn("Mirror mode disabled", r.stdout)
        self.assertIn("Mirror-ID", r.stdout)   # the last command ran: still open, still enabled
        j = self.run_ctl("--json", "show", "things", "extra")
        self.assertEqual(j.returncode, 1)
        self.assertEqual(json.loads(j.stdout),
                         {"status": "error", "error": 'show things: unexpected word "extra"'})

    def test_unprivileged_user_cannot_connect(self):
        r = self.run_ctl("help", prefix=NOBODY + ["--clear-groups"])
        self.assertEqual(r.returncode, 3, r.stdout + r.stderr)
        self.assertIn("cannot connect to %s: Permission denied: are you root or a member of "
                      "the control group (controlGroup in pmirrord.conf)?" % self.sock, r.stderr)

    def test_control_group_member_admitted(self):
        r = self.run_ctl("help", prefix=NOBODY + ["--groups=%d" % self.gid])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("show things", r.stdout)
        r = self.run_ctl("-e", "show", "mirror", "log", stdin=SECRET + "\n",
                         prefix=["setpriv", "--reuid=nobody", "--regid=%d" % self.gid,
                                 "--clear-groups"])
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_server_refuses_non_member(self):
        """With the socket open to all, the server's own peer check refuses and reports."""
        sock = os.path.join(self.tmp, "open", "ctl.sock")
        srv = TestdServer(sock, "-g", GROUP, "-o")
        try:
            r = self.run_ctl("help", sock=sock, prefix=NOBODY + ["--clear-groups"])
            self.assertEqual(r.returncode, 3)
            self.assertIn("refused", r.stderr)
            wait_for(lambda: "refused uid=65534" in srv.output(), 5, what="refusal report")
            self.assertIn('not a member of control group "%s"' % GROUP, srv.output())
            r = self.run_ctl("help", sock=sock, prefix=NOBODY + ["--groups=%d" % self.gid])
            self.assertEqual(r.returncode, 0, r.stderr)
            st = os.stat(sock)
            self.assertEqual((st.st_mode & 0o777, st.st_gid), (0o666, self.gid))
        finally:
            self.assertEqual(srv.stop(), 0)
        self.assertFalse(os.path.exists(sock), "socket left behind after stop")

    def test_socket_mode(self):
        st = os.stat(self.sock)
        self.assertEqual((st.st_mode & 0o777, st.st_uid, st.st_gid), (0o660, 0, self.gid))
        st = os.stat(os.path.dirname(self.sock))
        self.assertEqual((st.st_mode & 0o777, st.st_gid), (0o750, self.gid))


if __name__ == "__main__":
    unittest.main()
