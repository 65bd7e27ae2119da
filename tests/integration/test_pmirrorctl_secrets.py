"""test_pmirrorctl_secrets - pmirrorctl keeps the mirror secret and USM passphrases
out of its history, out of argv, and away from a control socket that is not
served by root or the daemon's user.

The daemon is the real one (pm_evtestd); interactive sessions run on a pty;
the impostor server is a Python child that drops to nobody before it listens,
so SO_PEERCRED reports nobody.
"""
import os
import pwd
import re
import select
import signal
import socket
import subprocess
import termios
import threading
import time

import pmtest
from pmtest import PMIRRORCTL, MIRROR_SECRET, TRAP_USER, PmTestCase, free_udp_port, wait_for

AUTH, PRIV = "Hist0ry-auth-pass", "Hist0ry-priv-pass"          # typed in the interactive session
DASH_AUTH, DASH_PRIV = "Dash-auth-pass-7", "Dash-priv-pass-7"    # given at the no-echo prompts
ARGV_AUTH, ARGV_PRIV = "Argv-auth-pass-9", "Argv-priv-pass-9"    # refused on the command line
VERSION = re.compile(r"pmirrord \d+\.\d+")


PROMPT = r"pmirrorctl(\(mirror\))?[>#] "
# write(2)'s number in /proc/PID/syscall (asm/unistd.h)
WRITE_NR = {"x86_64": 1, "aarch64": 64, "i686": 4, "armv7l": 4}[os.uname().machine]


class Pty:
    """pmirrorctl on a pseudo-terminal: what a person at a terminal would see and type.
    Like a person, the test types only once the prompt it answers is on the screen:
    pmirrorctl sets the terminal mode a prompt reads in before it prints the prompt
    (the line editor's raw mode, or no echo for a secret), so what is typed after the
    prompt shows is read in that mode.  Typed earlier, it is not: the no-echo prompt
    drops it (TCSAFLUSH), and in the kernel's canonical mode Ctrl-D becomes a NUL byte
    that the editor then reads as an ordinary key instead of the end of input."""

    def __init__(self, argv, env):
        self.master, slave = os.openpty()
        self.slave_path = os.ttyname(slave)
        self.proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env,
                                     start_new_session=True)
        os.close(slave)
        self.out = b""
        self.pos = 0   # expect() looks only at what came after its last match

    def _pump(self, timeout):
        r, _, _ = select.select([self.master], [], [], timeout)
        if r:
            try:
                data = os.read(self.master, 65536)
            except OSError:   # EIO: the child closed the terminal
                data = b""
            self.out += data
            return bool(data)
        return False

    def text(self):
        return self.out.decode("utf-8", "replace")

    def expect(self, pattern, timeout=20):
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            m = rx.search(self.text(), self.pos)
            if m:
                self.pos = m.end()
                return m.start()
            if time.monotonic() > deadline:
                raise AssertionError("timed out waiting for %r; the terminal showed:\n%s"
                                     % (pattern, self.text()[self.pos:]))
            self._pump(0.1)

    def send(self, s):
        os.write(self.master, s.encode())

    def answer(self, prompt, s):
        """Waits for the prompt, then types s and Enter."""
        self.expect(prompt)
        self.send(s + "\r")

    def slave(self):
        """A descriptor of pmirrorctl's terminal (the caller closes it)."""
        return os.open(self.slave_path, os.O_RDWR | os.O_NOCTTY)

    def blocked_writing(self, fd):
        """Is pmirrorctl blocked in write(2) on fd?  (proc(5), /proc/PID/syscall)"""
        try:
            with open("/proc/%d/syscall" % self.proc.pid) as f:
                w = f.read().split()
        except OSError:
            return False
        return len(w) > 1 and w[0] == str(WRITE_NR) and int(w[1], 16) == fd

    def close(self, timeout=20):
        try:
            self.proc.wait(timeout)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait(5)
            os.close(self.master)
        return self.proc.returncode


class SecretsCase(PmTestCase):
    def setUp(self):
        super().setUp()
        self.env.secrets.update({MIRROR_SECRET, AUTH, PRIV, DASH_AUTH, DASH_PRIV, ARGV_AUTH, ARGV_PRIV})
        self.home = self.env.path("home")
        os.makedirs(self.home)

    def sock(self):
        return self.env.path("run", "ctl.sock")

    def cli_env(self):
        return dict(os.environ, HOME=self.home, TERM="vt100", LC_ALL="C.UTF-8")

    def run_ctl(self, *args, stdin="", sock=None):
        return subprocess.run([PMIRRORCTL, "-s", sock or self.sock(), *args], input=stdin,
                              capture_output=True, text=True, timeout=60, env=self.cli_env())

    def start_daemon(self):
        self.env.start_evtestd("trapEnable true\n")
        wait_for(lambda: os.path.exists(self.sock()), 10, what="the control socket")

    def assert_no_secret_in_home(self):
        for root, _, files in os.walk(self.home):
            for f in files:
                with open(os.path.join(root, f), "rb") as fh:
                    data = fh.read().decode("utf-8", "replace")
                for s in (MIRROR_SECRET, AUTH, PRIV, DASH_AUTH, DASH_PRIV):
                    self.assertNotIn(s, data, "%s in %s" % (s, os.path.join(root, f)))


def add_words(port, user, auth, priv):
    return ["trap-host", "add", "127.0.0.1:%d" % port, "user", user, "auth", "SHA-256", auth,
            "priv", "AES", priv]


class TestInteractive(SecretsCase):
    def test_history_keeps_no_secret_and_prompts_hide_passphrases(self):
        self.start_daemon()
        t = Pty([PMIRRORCTL, "-s", self.sock()], self.cli_env())
        try:
            t.answer(PROMPT, "show version")
            t.expect(VERSION.pattern)
            t.answer(PROMPT, "mirror-enable")
            t.answer(r"Mirror secret: ", MIRROR_SECRET)
            t.expect(r"Mirror mode enabled")
            t.answer(PROMPT, " ".join(add_words(free_udp_port(), "histUser", AUTH, PRIV)))
            t.expect(r"% trap-host add: not sent: a passphrase was typed on the line")
            # passphrases as "-": asked for without echo
            t.answer(PROMPT, " ".join(add_words(free_udp_port(), "dashUser", "-", "-")))
            t.answer(r"Auth passphrase: ", DASH_AUTH)
            t.answer(r"Priv passphrase: ", DASH_PRIV)
            t.expect(r"trap host \S+ added")
            # Up-arrow and Enter run the newest line in the history: that must be
            # "show version", never a line with a secret.
            t.expect(PROMPT)
            mark = t.pos
            t.send("\x1b[A")
            t.expect(r"show version|trap-host|mirror-enable")   # the editor redraws the line
            self.assertNotIn("trap-host", t.text()[mark:], "history recalled a trap-host add line")
            t.send("\r")
            t.expect(VERSION.pattern)
            after = t.text()[mark:]
            for s in (AUTH, PRIV, MIRROR_SECRET, "trap-host add"):
                self.assertNotIn(s, after, "history recalled a line with a secret")
            # more steps back end at the oldest entry: still no secret
            t.expect(PROMPT)
            t.send("\x1b[A\x1b[A\x1b[A\r")
            t.expect(VERSION.pattern)
            t.answer(PROMPT, "exit")
            self.assertEqual(t.close(), 0, t.text())
        except BaseException:
            if t.proc.poll() is None:
                t.proc.kill()
            raise
        text = t.text()
        for s in (DASH_AUTH, DASH_PRIV, MIRROR_SECRET):
            self.assertNotIn(s, text, "a prompted secret was echoed")
        hosts = self.env.ctl_json("show", "snmp", "trap")["hosts"]
        self.assertEqual(len(hosts), 1, hosts)
        self.assert_no_secret_in_home()


class TestTerminalModes(SecretsCase):
    """What is typed as soon as a prompt shows is read the way that prompt reads."""

    def fake_server(self, path):
        """A control socket on a thread: "@commands" gets an empty list at once; each
        other request is put on self.requests and answered "OK" with an empty body
        (nothing printed before the next prompt) only once self.release is set."""
        self.requests, self.release = [], threading.Event()
        ls = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        ls.bind(path)
        ls.listen(1)
        self.addCleanup(ls.close)

        def serve():
            c, _ = ls.accept()
            with c:
                c.sendall(b"HELLO 28\npmirrord control protocol 1\n")
                buf = b""
                while True:
                    d = c.recv(4096)
                    if not d:
                        return
                    buf += d
                    while b"\n" in buf:
                        line, buf = buf.split(b"\n", 1)
                        if line != b"@commands":
                            self.requests.append(line.decode())
                            self.release.wait(60)
                            self.release.clear()
                        c.sendall(b"OK 0\n")

        threading.Thread(target=serve, daemon=True).start()

    def test_editor_mode_is_set_before_the_prompt(self):
        sock = self.env.path("fake.sock")
        self.fake_server(sock)
        t = Pty([PMIRRORCTL, "-s", sock], self.cli_env())
        tty = t.slave()
        try:
            t.answer(PROMPT, "show version")
            wait_for(lambda: self.requests == ["show version"], 20, what="the request at the server")
            # pmirrorctl now waits for the answer; the next thing it prints is the prompt.
            # Stop the terminal's output (as Ctrl-S would) so that pmirrorctl blocks in
            # write(2) on the prompt, exactly when the prompt reaches the screen.
            termios.tcflow(tty, termios.TCOOFF)
            self.release.set()
            wait_for(lambda: t.blocked_writing(1), 20, what="pmirrorctl writing the prompt")
            lflag = termios.tcgetattr(tty)[3]
            # The person types Ctrl-D (end of input) as the prompt appears.
            t.send("\x04")
            termios.tcflow(tty, termios.TCOON)
            t.expect(PROMPT)
            self.assertFalse(lflag & (termios.ICANON | termios.ECHO),
                             "the prompt was printed before the terminal was in the editor's mode")
            self.assertEqual(t.close(10), 0, t.text())
        except BaseException:
            if t.proc.poll() is None:
                t.proc.kill()
            raise
        finally:
            os.close(tty)


class TestOneShot(SecretsCase):
    def test_passphrases_from_stdin(self):
        self.env.start_snmptrapd()
        self.start_daemon()
        name, _, ap, _, pp = TRAP_USER
        self.env.secrets.update({ap, pp})
        words = add_words(self.env.trap_port, name, "-", "-")
        r = self.run_ctl("-e", *words, stdin="%s\n%s\n%s\n" % (MIRROR_SECRET, ap, pp))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("added", r.stdout)
        # the receiver decodes it: the passphrases that arrived are the right ones
        self.env.raise_event("trap=5 mid=4711")
        wait_for(lambda: "77.3.1.1.0 = Gauge32: 4711" in "\n".join(self.env.trap_lines()), 10,
                 what="the notification with keys from stdin")
        # passphrase words left out altogether: read from stdin too
        words = ["trap-host", "add", "127.0.0.1:%d" % free_udp_port(), "user", name, "auth", "SHA-256",
                 "priv", "AES", "inform"]
        r = self.run_ctl("-e", *words, stdin="%s\n%s\n%s\n" % (MIRROR_SECRET, ap, pp))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        hosts = self.env.ctl_json("show", "snmp", "trap")["hosts"]
        self.assertEqual(len(hosts), 2, hosts)
        # end of input before the second passphrase: nothing is added
        words = add_words(free_udp_port(), name, "-", "-")
        r = self.run_ctl("-e", *words, stdin="%s\n%s\n" % (MIRROR_SECRET, ap))
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertIn("priv passphrase", r.stderr)
        self.assertEqual(len(self.env.ctl_json("show", "snmp", "trap")["hosts"]), 2)

    def test_passphrases_on_argv_are_refused(self):
        self.start_daemon()
        for words in (add_words(free_udp_port(), "argvUser", ARGV_AUTH, ARGV_PRIV),
                      add_words(free_udp_port(), "argvUser", "-", ARGV_PRIV),
                      add_words(free_udp_port(), "argvUser", ARGV_AUTH, "-")):
            with self.subTest(words=words):
                r = self.run_ctl("-e", *words, stdin=MIRROR_SECRET + "\n" + "x" * 12 + "\n")
                self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
                self.assertRegex(r.stderr, r"passphrase.*command line")
                self.assertIn("-", r.stderr)
                self.assertIn("stdin", r.stderr)
                for s in (ARGV_AUTH, ARGV_PRIV):
                    self.assertNotIn(s, r.stdout + r.stderr)
        # refused before connecting: the same with a socket that does not exist
        r = self.run_ctl("-e", *add_words(1162, "argvUser", ARGV_AUTH, ARGV_PRIV),
                         stdin=MIRROR_SECRET + "\n", sock=self.env.path("run", "none.sock"))
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertEqual(self.env.ctl_json("show", "snmp", "trap").get("hosts", []), [])

    def test_mirror_enable_secret_not_on_argv(self):
        self.start_daemon()
        r = self.run_ctl("mirror-enable", MIRROR_SECRET)
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertIn("-e", r.stderr)
        self.assertNotIn(MIRROR_SECRET, r.stdout + r.stderr)
        # refused before connecting: the same with a socket that does not exist
        r = self.run_ctl("mirror-enable", MIRROR_SECRET, sock=self.env.path("run", "none.sock"))
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)


IMPOSTOR = r"""
import os, socket, sys
uid = int(sys.argv[3])
if os.geteuid() == 0:
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1])
s.listen(8)
os.chmod(sys.argv[1], 0o777)
rec = open(sys.argv[2], "ab", buffering=0)
rec.write(b"listening\n")
while True:
    c, _ = s.accept()
    c.sendall(b"HELLO 28\npmirrord control protocol 1\n")
    buf = b""
    while True:
        d = c.recv(4096)
        if not d:
            break
        rec.write(d)
        buf += d
        while b"\n" in buf:
            _, buf = buf.split(b"\n", 1)
            c.sendall(b"OK 3\nok\n")
    c.close()
"""


class ImpostorCase(SecretsCase):
    """A socket served by someone other than root or the daemon's user."""

    def setUp(self):
        super().setUp()
        self.fake_dir = self.env.path("fake")
        os.makedirs(self.fake_dir)
        self.uid = 65534 if os.geteuid() == 0 else os.geteuid()
        os.chown(self.fake_dir, self.uid, -1)
        self.fake = os.path.join(self.fake_dir, "ctl.sock")
        self.record = os.path.join(self.fake_dir, "received")
        self.proc = subprocess.Popen(["/usr/bin/python3", "-c", IMPOSTOR, self.fake, self.record, str(self.uid)],
                                     cwd=self.fake_dir, stdin=subprocess.DEVNULL)
        self.addCleanup(self.stop_impostor)
        wait_for(lambda: os.path.exists(self.record) and b"listening" in self.received(), 10,
                 what="the impostor server")

    def stop_impostor(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(10)

    def received(self):
        with open(self.record, "rb") as f:
            return f.read()

    def assert_nothing_secret_received(self):
        got = self.received().decode("utf-8", "replace")
        for s in (MIRROR_SECRET, AUTH, PRIV, DASH_AUTH, DASH_PRIV):
            self.assertNotIn(s, got, "the impostor received a secret")


class TestImpostorServer(ImpostorCase):
    """A socket served by someone other than root or the daemon's user gets no secret."""

    def test_secret_and_passphrases_withheld(self):
        uname = pwd.getpwuid(self.uid).pw_name
        r = self.run_ctl("-e", "show", "mirror", "log", stdin=MIRROR_SECRET + "\n", sock=self.fake)
        self.assertEqual(r.returncode, 3, r.stdout + r.stderr)
        self.assertIn("uid %d" % self.uid, r.stderr)
        self.assertIn("--server-user", r.stderr)
        r = self.run_ctl("-e", *add_words(1162, "u1", "-", "-"),
                         stdin="%s\n%s\n%s\n" % (MIRROR_SECRET, DASH_AUTH, DASH_PRIV), sock=self.fake)
        self.assertEqual(r.returncode, 3, r.stdout + r.stderr)
        # interactive: mirror-enable typed alone or with the secret is not sent
        t = Pty([PMIRRORCTL, "-s", self.fake], self.cli_env())
        try:
            t.answer(PROMPT, "mirror-enable")
            t.expect(r"uid %d" % self.uid)
            t.answer(PROMPT, "mirror-enable " + MIRROR_SECRET)
            t.expect(r"uid %d" % self.uid)
            t.expect(PROMPT)
            t.send("\x04")   # end of input (the impostor does not know "exit")
            self.assertEqual(t.close(), 0, t.text())
        except BaseException:
            if t.proc.poll() is None:
                t.proc.kill()
            raise
        self.assertNotIn("Mirror secret:", t.text())
        self.assert_no_secret_in_home()
        self.assert_nothing_secret_received()
        # Control: naming the impostor's user as the daemon's lets the secret through,
        # so the check above is what kept it back.
        r = self.run_ctl("--server-user", uname, "-e", "show", "mirror", "log",
                         stdin=MIRROR_SECRET + "\n", sock=self.fake)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        wait_for(lambda: MIRROR_SECRET.encode() in self.received(), 5, what="the secret at the impostor")

    def test_server_user_option(self):
        r = self.run_ctl("--server-user", "no-such-user-here", "-e", "show", "version",
                         stdin=MIRROR_SECRET + "\n", sock=self.fake)
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertIn("no-such-user-here", r.stderr)
        self.assert_nothing_secret_received()


INLINE_SECRET = "my-mirror-secret-1"          # typed on an interactive line: never sent
INLINE_AUTH, INLINE_PRIV = "aaaaaaaa1", "bbbbbbbb1"
LONG_AUTH, LONG_PRIV = "A" * 126 + "1", "P" * 126 + "2"   # 127 characters: the longest USM passphrase


class TestInlineSecretsRefused(SecretsCase):
    def test_interactive_inline_secrets_refused_and_prompts_used(self):
        """At a terminal, a secret or passphrase typed on the line is refused (it is on the
        screen already) and nothing is sent; help shows mirror-enable without a secret; the
        prompts take them without echo, 8 to 127 characters, checked before sending."""
        self.env.start_snmptrapd(conf=pmtest.trapd_conf(
            self.env.trap_port, users=(("longUser", "SHA-256", LONG_AUTH, "AES", LONG_PRIV),)))
        self.start_daemon()
        self.env.secrets.update({INLINE_AUTH, INLINE_PRIV, LONG_AUTH, LONG_PRIV})
        t = Pty([PMIRRORCTL, "-s", self.sock()], self.cli_env())
        try:
            t.answer(PROMPT, "help")
            t.expect(r"mirror-enable +Unlock the mirror commands for this session \(prompts")
            self.assertNotIn("<secret>", t.text())
            t.answer(PROMPT, "mirror-enable " + INLINE_SECRET)
            t.expect(r"% mirror-enable: not sent: the secret was typed on the line, so it is "
                     r"already on the screen")
            t.expect(r"pmirrorctl> ")   # not in mirror mode
            t.send("mirror-enable\r")
            t.answer(r"Mirror secret: ", MIRROR_SECRET)
            t.expect(r"Mirror mode enabled")
            t.answer(PROMPT, "trap-host add 127.0.0.1:31170 user u5 auth SHA-256 %s priv AES %s"
                     % (INLINE_AUTH, INLINE_PRIV))
            t.expect(r"% trap-host add: not sent: a passphrase was typed on the line, so it is "
                     r"already on the screen")
            # 128 characters: refused by pmirrorctl before anything is sent
            t.answer(PROMPT, " ".join(add_words(self.env.trap_port, "longUser", "-", "-")))
            t.answer(r"Auth passphrase: ", LONG_AUTH + "x")
            t.expect(r"% trap-host add: auth passphrase must be 8 to 127 characters")
            # 127 characters: accepted end to end (the receiver below decodes with them)
            t.answer(PROMPT, " ".join(add_words(self.env.trap_port, "longUser", "-", "-")))
            t.answer(r"Auth passphrase: ", LONG_AUTH)
            t.answer(r"Priv passphrase: ", LONG_PRIV)
            t.expect(r"trap host \S+ added")
            t.answer(PROMPT, "exit")
            self.assertEqual(t.close(), 0, t.text())
        except BaseException:
            if t.proc.poll() is None:
                t.proc.kill()
            raise
        for s in (MIRROR_SECRET, LONG_AUTH, LONG_PRIV):
            self.assertNotIn(s, t.text(), "a prompted secret was echoed")
        hosts = self.env.ctl_json("show", "snmp", "trap")["hosts"]
        self.assertEqual([h["address"] for h in hosts], ["127.0.0.1:%d" % self.env.trap_port])
        self.env.raise_event("trap=5 mid=4712")
        wait_for(lambda: "77.3.1.1.0 = Gauge32: 4712" in "\n".join(self.env.trap_lines()), 10,
                 what="the notification sent with 127-character passphrases")
        # nothing of the refused requests reached the daemon: no refusal in the mirror log
        log = "\n".join(e["entry"] for e in self.env.ctl_json("show", "mirror", "log")["log_entries"])
        self.assertNotIn("refused", log)
        self.assertNotIn("31170", log)
        self.assertNotIn("wrong secret", log)   # the inline secret was never tried

    def test_one_shot_passphrase_length_checked_before_sending(self):
        self.start_daemon()
        self.env.secrets.update({LONG_AUTH, LONG_PRIV})
        words = add_words(free_udp_port(), "longUser", "-", "-")
        r = self.run_ctl("-e", *words, stdin="%s\n%s\n%s\n" % (MIRROR_SECRET, LONG_AUTH + "x", LONG_PRIV))
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertIn("pmirrorctl: trap-host add: auth passphrase must be 8 to 127 characters", r.stderr)
        r = self.run_ctl("-e", *words, stdin="%s\n%s\n%s\n" % (MIRROR_SECRET, "short", LONG_PRIV))
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertIn("auth passphrase must be 8 to 127 characters", r.stderr)
        r = self.run_ctl("-e", *words, stdin="%s\n%s\n%s\n" % (MIRROR_SECRET, LONG_AUTH, LONG_PRIV))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(len(self.env.ctl_json("show", "snmp", "trap")["hosts"]), 1)


class TestMalformedSecretLines(ImpostorCase):
    """Interactive lines that do not split into words (an unbalanced quote, more than 32
    words) but start with mirror-enable or trap-host add may hold a secret: the server's
    uid is checked first, and nothing of them reaches an impostor."""

    def test_unsplittable_secret_lines_withheld(self):
        filler = " ".join("w%d" % i for i in range(40))   # more than CTL_MAX_WORDS words
        lines = [
            'mirror-enable "abc def',
            '@json mirror-enable "abc def',
            'trap-host add 127.0.0.1 user u1 auth SHA-256 "%s priv AES %s' % (AUTH, PRIV),
            'trap-host add 127.0.0.1 user u1 auth SHA-256 %s priv AES %s %s' % (AUTH, PRIV, filler),
            '"trap-host" add 127.0.0.1 user u1 auth SHA-256 "%s' % AUTH,
        ]
        t = Pty([PMIRRORCTL, "-s", self.fake], self.cli_env())
        try:
            for line in lines:
                t.answer(PROMPT, line)
                t.expect(r"uid %d" % self.uid)   # the server check came first
            t.expect(PROMPT)
            t.send("\x04")
            self.assertEqual(t.close(), 0, t.text())
        except BaseException:
            if t.proc.poll() is None:
                t.proc.kill()
            raise
        self.assert_nothing_secret_received()
        got = self.received().decode("utf-8", "replace").splitlines()
        self.assertEqual([l for l in got if l not in ("listening", "@commands")], [],
                         "the impostor received a line")


BLANK_SECRET = "  blank-bordered secret \t "   # blanks at both ends belong to the secret


class TestSecretBlanks(SecretsCase):
    def test_hash_secret_and_server_keep_the_same_bytes(self):
        """hash-secret and the server's mirror-enable take the same bytes: a secret with
        leading and trailing blanks, hashed by hash-secret, unlocks mirror mode; the
        same secret without its blanks does not."""
        self.env.secrets.add(BLANK_SECRET.strip())
        conf = self.env.pmirrord_conf
        self.env.pmirrord_conf = lambda extra="", ping=2: conf(extra, ping).replace(
            pmtest.secret_hash(), pmtest.secret_hash(BLANK_SECRET))
        self.start_daemon()
        r = self.run_ctl("-e", "show", "version", stdin=BLANK_SECRET + "\n")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        r = self.run_ctl("-e", "show", "version", stdin=BLANK_SECRET.strip() + "\n")
        self.assertEqual(r.returncode, 4, r.stdout + r.stderr)


class TestSecretPrompt(SecretsCase):
    def test_overlong_secret_is_drained_not_run(self):
        """A secret longer than the prompt takes is refused whole: what is left of it is not
        read by the line editor as the next command (it would be echoed and sent)."""
        self.start_daemon()
        tail = "TailOfAnOverlongSecret"
        self.env.secrets.add(tail)
        t = Pty([PMIRRORCTL, "-s", self.sock()], self.cli_env())
        try:
            t.answer(PROMPT, "mirror-enable")
            t.answer(r"Mirror secret: ", "A" * 1100 + tail)   # more than 1024 characters
            t.expect(r"% no secret read")
            t.answer(r"pmirrorctl> ", "show version")    # the next command is the one typed next
            t.expect(VERSION.pattern)
            t.answer(PROMPT, "exit")
            self.assertEqual(t.close(), 0, t.text())
        except BaseException:
            if t.proc.poll() is None:
                t.proc.kill()
            raise
        self.assertNotIn(tail, t.text())
        self.assertNotIn("Unknown command", t.text())

    def test_echo_restored_when_interrupted_at_the_prompt(self):
        """SIGINT at a no-echo prompt ends pmirrorctl as before, with the terminal's echo on."""
        self.start_daemon()
        t = Pty([PMIRRORCTL, "-s", self.sock(), "-e", "show", "version"], self.cli_env())
        tty = t.slave()
        try:
            t.expect(r"Mirror secret: ")
            self.assertFalse(termios.tcgetattr(tty)[3] & termios.ECHO)   # the prompt's mode
            t.proc.send_signal(signal.SIGINT)
            self.assertEqual(t.proc.wait(20), -signal.SIGINT, t.text())
            echo = termios.tcgetattr(tty)[3] & termios.ECHO   # before the pty closes
            t.close()
            self.assertTrue(echo, "echo left off")
        except BaseException:
            if t.proc.poll() is None:
                t.proc.kill()
            raise
        finally:
            os.close(tty)


class TestQuotedEnableRefused(SecretsCase):
    def test_quoted_mirror_enable_with_inline_secret_not_sent(self):
        """A quoted keyword is the same command to the server ("mirror-enable" SECRET is
        mirror-enable with a secret): the secret typed on the line is refused all the same."""
        self.start_daemon()
        t = Pty([PMIRRORCTL, "-s", self.sock()], self.cli_env())
        try:
            for line in ('"mirror-enable" ' + MIRROR_SECRET,
                         '"mirror-enable"  ' + MIRROR_SECRET,
                         '@json "mirror-enable" ' + MIRROR_SECRET,
                         '"@json" mirror-enable ' + MIRROR_SECRET):
                t.answer(r"pmirrorctl> ", line)
                t.expect(r"% mirror-enable: not sent: the secret was typed on the line")
            t.answer(r"pmirrorctl> ", "exit")   # still not in mirror mode
            self.assertEqual(t.close(), 0, t.text())
        except BaseException:
            if t.proc.poll() is None:
                t.proc.kill()
            raise
        log = "\n".join(e["entry"] for e in self.env.ctl_json("show", "mirror", "log")["log_entries"])
        # one enable: the one show mirror log just made to read the log
        self.assertEqual(log.count(": mirror-enable"), 1, log)
        self.assertNotIn("refused", log)
        self.assertNotIn("wrong secret", log)


if __name__ == "__main__":
    import unittest
    unittest.main()
