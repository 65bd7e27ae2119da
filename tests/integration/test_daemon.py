"""pmirrord's start-up: command line, configuration checks, daemon mode, pidfile,
process hardening and the locked-memory budget (README "Running pmirrord").

Runs pmirrord, pmirrorctl, snmpd and snmptrapd for real; the memory-locking test
runs the daemon as nobody (setpriv) under a prlimit memlock limit.  Needs root.
"""
import ctypes
import os
import re
import signal
import stat
import subprocess
import sys
import unittest

import pmtest
from pmtest import MIRROR_SECRET, PMIRRORCTL, PMIRRORD, PmTestCase, wait_for

# Builds without sanitizers, for what must be measured as shipped: an ASan
# process reserves terabytes of shadow memory, which mlockall() would count.
PLAIN = os.environ.get("PM_PLAIN_BUILD_DIR", pmtest.BUILD)
OPTIONS = ("-c", "-f", "-n", "-D", "-p", "-h", "--help", "-V")


def run(argv, **kw):
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, **kw)


LIBC = ctypes.CDLL(None, use_errno=True)
LIBC.ptrace.restype = ctypes.c_long
LIBC.ptrace.argtypes = (ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p)
PTRACE_CONT, PTRACE_DETACH, PTRACE_GETEVENTMSG, PTRACE_SEIZE = 7, 17, 0x4201, 0x4206
PTRACE_O_TRACEFORK, PTRACE_EVENT_FORK, WALL = 0x2, 1, 0x40000000


def ptrace(req, pid, addr=None, data=None):
    if LIBC.ptrace(req, pid, addr, data) < 0:
        e = ctypes.get_errno()
        raise OSError(e, "ptrace(%#x, %d): %s" % (req, pid, os.strerror(e)))


def hold_fork(parent):
    """Kills parent (a Popen) as soon as it has forked, the child stopped from the
    fork on (ptrace(2), PTRACE_O_TRACEFORK), then lets the child go on alone; returns
    its PID."""
    ptrace(PTRACE_SEIZE, parent.pid, None, PTRACE_O_TRACEFORK)
    child = None
    while child is None:
        _, st = os.waitpid(parent.pid, WALL)
        if not os.WIFSTOPPED(st):
            raise AssertionError("pmirrord ended before it forked (status %#x)" % st)
        sig = os.WSTOPSIG(st)
        if sig == signal.SIGTRAP and st >> 16 == PTRACE_EVENT_FORK:
            msg = ctypes.c_ulong()
            ptrace(PTRACE_GETEVENTMSG, parent.pid, None, ctypes.addressof(msg))
            child = msg.value
        else:   # a signal for pmirrord itself: delivered
            ptrace(PTRACE_CONT, parent.pid, None, sig if sig != signal.SIGTRAP else 0)
    os.waitpid(child, WALL)   # its first stop, before it runs
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait(20)
    ptrace(PTRACE_DETACH, child, None, 0)
    return child


class DaemonCase(PmTestCase):
    def conf(self, text, mode=0o600, name="pmirrord.conf"):
        path = self.env.path(name)
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, mode)
        return path

    def check(self, text, mode=0o600):
        path = self.conf(text, mode)
        return path, run([PMIRRORD, "-n", "-c", path])


class TestCommandLine(DaemonCase):
    def test_help_lists_every_option(self):
        for flag in ("-h", "--help"):
            r = run([PMIRRORD, flag])
            self.assertEqual(r.returncode, 0, flag + ": " + r.stderr)
            self.assertIn("usage: pmirrord", r.stdout)
            for opt in OPTIONS:
                self.assertRegex(r.stdout, r"(^|[\s\[|,])" + re.escape(opt) + r"\b", opt)
            self.assertEqual(r.stderr, "")

    def test_help_lists_the_debug_tokens(self):
        r = run([PMIRRORD, "-h"])
        self.assertEqual(r.returncode, 0)
        tokens = r.stdout.split("-D TOKENS", 1)[1].split("-p PIDFILE", 1)[0]
        for tok in ("all", "main", "conf", "agentx", "snmp", "mib", "notify", "traphost", "slog",
                    "ctl", "event", "mon"):
            self.assertRegex(tokens, r"\b%s\b" % tok)

    def test_evtestd_help_describes_its_fifo_and_event_lines(self):
        r = run([pmtest.PM_EVTESTD, "-h"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("usage: pmirrord", r.stdout)   # pmirrord's options first
        extra = r.stdout.split("PM_EVTEST_FIFO", 1)
        self.assertEqual(len(extra), 2, r.stdout)
        for word in ("trap=", "mid=", "sid=", "trigger=", "user=", "tip=", "aa=", "count=N",
                     "rate=R", "%20", "*N:c"):
            self.assertIn(word, extra[1], word)
        self.assertEqual(r.stderr, "")

    def test_version(self):
        r = run([PMIRRORD, "-V"])
        self.assertEqual(r.returncode, 0)
        self.assertRegex(r.stdout, r"^pmirrord \d+\.\d+\.\d+\n$")

    def test_bad_option_prints_usage_and_fails(self):
        r = run([PMIRRORD, "-x"])
        self.assertEqual(r.returncode, 2)
        self.assertIn("usage: pmirrord", r.stderr)
        self.assertEqual(r.stdout, "")

    def test_bad_debug_token_lists_the_valid_ones(self):
        path = self.conf(self.env.pmirrord_conf())
        r = run([PMIRRORD, "-n", "-D", "conf,nope", "-c", path])
        self.assertEqual(r.returncode, 2)
        self.assertIn('unknown debug token "nope"', r.stderr)
        for tok in ("all", "main", "conf", "agentx", "notify", "ctl"):
            self.assertIn(tok, r.stderr.split("nope", 1)[1])


class TestConfigFile(DaemonCase):
    def test_config_readable_by_others_is_refused(self):
        text = self.env.pmirrord_conf()
        for mode in (0o644, 0o640, 0o604, 0o620, 0o602):
            path, r = self.check(text, mode)
            self.assertEqual(r.returncode, 2, oct(mode))
            self.assertIn(path, r.stderr)
            self.assertIn("%04o" % mode, r.stderr)
            self.assertIn("chmod 600 " + path, r.stderr)
            # and the daemon itself does not start
            r = run([PMIRRORD, "-f", "-c", path])
            self.assertEqual(r.returncode, 2)
            self.assertIn("chmod 600", r.stderr)
        for mode in (0o600, 0o400):
            path, r = self.check(text, mode)
            self.assertEqual(r.returncode, 0, r.stderr)

    def test_config_owned_by_another_user_is_refused(self):
        """Its owner could rewrite mirrorSecret and the trap hosts, mode 0600 or not."""
        nobody = int(run(["id", "-u", "nobody"]).stdout)
        path = self.conf(self.env.pmirrord_conf())
        os.chown(path, nobody, -1)
        for argv in ([PMIRRORD, "-n", "-c", path], [PMIRRORD, "-f", "-c", path]):
            r = run(argv)
            self.assertEqual(r.returncode, 2, r.stderr)
            self.assertIn("%s: owned by uid %d, not by root" % (path, nobody), r.stderr)
            self.assertIn("chown root " + path, r.stderr)
        os.chown(path, 0, -1)
        self.assertEqual(run([PMIRRORD, "-n", "-c", path]).returncode, 0)

    def test_config_in_a_writable_directory_is_refused(self):
        """Whoever may write a directory above the file can replace it."""
        nobody = int(run(["id", "-u", "nobody"]).stdout)
        confdir = self.env.path("etc")
        os.mkdir(confdir)
        os.chmod(confdir, 0o777)
        path = os.path.join(confdir, "pmirrord.conf")
        with open(path, "w") as f:
            f.write(self.env.pmirrord_conf())
        os.chmod(path, 0o600)
        r = run([PMIRRORD, "-n", "-c", path])
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("%s: %s is writable by group or others" % (path, confdir), r.stderr)
        # -n names every problem at once: the owner and the directory
        os.chown(path, nobody, -1)
        r = run([PMIRRORD, "-n", "-c", path])
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("owned by uid %d" % nobody, r.stderr)
        self.assertIn("%s is writable by group or others" % confdir, r.stderr)
        os.chown(path, 0, -1)
        # sticky, like /tmp: nobody else can rename or remove the file
        os.chmod(confdir, 0o1777)
        r = run([PMIRRORD, "-n", "-c", path])
        self.assertEqual(r.returncode, 0, r.stderr)
        # a symbolic link on the way is refused too: check the real path
        os.chmod(confdir, 0o755)
        os.symlink(confdir, self.env.path("etclink"))
        r = run([PMIRRORD, "-n", "-c", self.env.path("etclink", "pmirrord.conf")])
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("%s is a symbolic link" % self.env.path("etclink"), r.stderr)

    def test_unknown_first_word_that_is_no_directive_name_is_not_echoed(self):
        """A trapHost line broken in two starts the next line with a passphrase: an unknown
        first word is quoted only if it looks like a directive name."""
        secret = "Brok3n-priv-pass"
        self.env.secrets.add(secret)
        _, r = self.check(self.env.pmirrord_conf() + "%s more\n" % secret)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("unknown directive (word 1 is not a directive name)", r.stderr)
        self.assertNotIn(secret, r.stderr + r.stdout)
        _, r = self.check(self.env.pmirrord_conf() + "trapHots x\n")
        self.assertIn('unknown directive "trapHots"', r.stderr)

    def test_boolean_words(self):
        base = self.env.pmirrord_conf()
        for word, val in (("yes", 1), ("no", 0), ("on", 1), ("off", 0), ("true", 1), ("false", 0),
                          ("enable", 1), ("disable", 0), ("Yes", 1), ("TRUE", 1)):
            for directive in ("trapEnable", "secureLog"):
                path, r = self.check(base + "%s %s\n" % (directive, word))
                self.assertEqual(r.returncode, 0, "%s %s: %s" % (directive, word, r.stderr))
        for word in ("maybe", "1", "2", "0"):
            path, r = self.check("# 1\ntrapEnable %s\n" % word)
            self.assertEqual(r.returncode, 2, word)
            self.assertIn(path + ":2: trapEnable:", r.stderr)
            self.assertIn("yes", r.stderr)

    def test_agentx_tcp_address(self):
        base = self.env.pmirrord_conf().replace("agentXSocket", "# agentXSocket")
        for ok in ("tcp:127.0.0.1", "tcp:127.0.0.1:705", "tcp:10.1.2.3:7050", "/var/agentx/master",
                   "unix:/run/agentx", "tcp:[::1]", "tcp:[::1]:705", "tcp:[2001:db8::7]:7050",
                   "tcp:[::ffff:127.0.0.1]:705"):
            path, r = self.check(base + "agentXSocket %s\n" % ok)
            self.assertEqual(r.returncode, 0, ok + ": " + r.stderr)
        n = base.count("\n") + 1
        for bad, msg in (("tcp:localhost", "use a numeric address"),
                         ("tcp:localhost:705", "use a numeric address"),
                         ("tcp:agentx.example.net:705", "use a numeric address"),
                         ("tcp:127.0.0.1:0", "port"), ("tcp:127.0.0.1:70000", "port"),
                         ("tcp:127.0.0.1:", "port"), ("tcp:", "address"),
                         ("tcp:localhost", "is not a numeric IPv4 address"),
                         ("tcp:::1", "must be in brackets"), ("tcp:::1:705", "must be in brackets"),
                         ("tcp:[::1", "in brackets"), ("tcp:[::1]705", "in brackets"),
                         ("tcp:[localhost]:705", '"localhost" is not a numeric IPv6 address'),
                         ("tcp:[127.0.0.1]", "is not a numeric IPv6 address"),
                         ("tcp:[fe80::1%lo]", "is not a numeric IPv6 address"),
                         ("tcp:[::1]:0", "port"), ("tcp:[::1]:70000", "port"),
                         ("tcp:[::1]:", "port"), ("tcp:[]:705", "address")):
            path, r = self.check(base + "agentXSocket %s\n" % bad)
            self.assertEqual(r.returncode, 2, bad)
            self.assertIn("%s:%d: agentXSocket" % (path, n), r.stderr)
            self.assertIn(msg, r.stderr, bad)

    def test_agentx_over_tcp_ipv6(self):
        """agentXSocket tcp:[::1]:PORT reaches an snmpd listening on tcp6:[::1]:PORT."""
        lo = run(["ip", "-6", "addr", "show", "lo"]).stdout
        if "::1/128" not in lo:
            self.fail("needs IPv6 on the loopback (::1 on lo): `ip -6 addr show lo` shows none")
        import socket
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as sk:
            sk.bind(("::1", 0))
            port = sk.getsockname()[1]
        e = self.env
        e.agentx = "tcp6:[::1]:%d" % port
        e.write_snmpd_conf()
        e.start_snmpd()
        text = e.pmirrord_conf().replace("agentXSocket " + e.agentx,
                                         "agentXSocket tcp:[0:0::1]:%d" % port)
        self.assertIn("tcp:[0:0::1]", text)
        e.start_pmirrord(conf_text=text)
        e.wait_registered()
        self.assertIn("registered with the AgentX master at tcp:[::1]:%d" % port,
                      e.read_log("pmirrord"))

    def test_missing_control_group_names_file_and_line(self):
        path, r = self.check("# one\n# two\ncontrolGroup pm-no-such-group\n")
        self.assertEqual(r.returncode, 2)
        self.assertIn(path + ':3: controlGroup: group "pm-no-such-group" does not exist', r.stderr)

    def test_weak_mirror_secret_is_warned_about(self):
        base = self.env.pmirrord_conf().replace("mirrorSecret", "# mirrorSecret")
        n = base.count("\n") + 1
        for iters, warned in ((1000, True), (99999, True), (100000, False)):
            h = run([PMIRRORCTL, "hash-secret", str(iters)], input="s3cret-for-test\n").stdout.strip()
            path, r = self.check(base + "mirrorSecret %s\n" % h)
            self.assertEqual(r.returncode, 0, r.stderr)
            if warned:
                self.assertIn("%s:%d: " % (path, n), r.stderr)
                self.assertIn("%d PBKDF2 iterations" % iters, r.stderr)
                self.assertIn("100000", r.stderr)
            else:
                self.assertNotIn("iterations", r.stderr)
            self.assertNotIn(h.split("$")[3], r.stderr)   # never the salt or hash

    def test_weak_mirror_secret_is_warned_about_once_at_start(self):
        # the file is parsed again to slice it for each child and by the
        # child itself: only the validating parse speaks
        h = run([PMIRRORCTL, "hash-secret", "1000"], input="s3cret-for-test\n").stdout.strip()
        text = self.env.pmirrord_conf().replace("mirrorSecret", "# mirrorSecret")
        self.env.start_pmirrord(conf_text=text + "mirrorSecret %s\n" % h)
        log = wait_for(lambda: (lambda t: t if "PBKDF2 iterations" in t else None)(
            self.env.read_log("pmirrord")), 10, what="the warning")
        self.assertEqual(log.count("1000 PBKDF2 iterations"), 1, log)

    def test_check_prints_warnings_as_plainly_as_errors(self):
        base = self.env.pmirrord_conf().replace("mirrorSecret", "# mirrorSecret")
        n = base.count("\n") + 1
        h = run([PMIRRORCTL, "hash-secret", "1000"], input="s3cret-for-test\n").stdout.strip()
        path, r = self.check(base + "mirrorSecret %s\n" % h)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stderr, r"(?m)^pmirrord: warning: %s:%d: mirrorSecret has only 1000 "
                         % (re.escape(path), n))
        self.assertNotRegex(r.stderr, r"\d\d:\d\d:\d\d|\[conf\]")
        path, r = self.check(base + "trapEnable maybe\n")
        self.assertEqual(r.returncode, 2)
        self.assertRegex(r.stderr, r"(?m)^pmirrord: %s:%d: trapEnable" % (re.escape(path), n))

    def test_check_names_a_missing_parent_of_persistent_dir(self):
        base = self.env.pmirrord_conf().replace("persistentDir", "# persistentDir")
        n = base.count("\n") + 1
        missing = self.env.path("no-such-dir")
        path, r = self.check(base + "persistentDir %s/state\n" % missing)
        self.assertEqual(r.returncode, 2, r.stdout)
        self.assertIn("%s:%d: persistentDir: the parent directory %s of %s/state does not exist"
                      % (path, n, missing, missing), r.stderr)
        self.assertEqual(r.stdout, "")
        # the daemon does not start either
        r = run([PMIRRORD, "-f", "-c", path])
        self.assertEqual(r.returncode, 2)
        self.assertIn("parent directory %s " % missing, r.stderr)
        blocker = self.env.path("a-file")
        open(blocker, "w").close()
        for bad, msg in ((blocker, "is not a directory"), (blocker + "/state", "is not a directory")):
            path, r = self.check(base + "persistentDir %s\n" % bad)
            self.assertEqual(r.returncode, 2, bad)
            self.assertIn("%s:%d: persistentDir" % (path, n), r.stderr)
            self.assertIn(msg, r.stderr)
        # a directory pmirrord will create itself, under one that exists: fine
        path, r = self.check(base + "persistentDir %s\n" % self.env.path("new-state"))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertFalse(os.path.exists(self.env.path("new-state")), "-n only checks")

    def test_persistent_dir_the_agent_cannot_use_stops_the_start(self):
        """The agent runs unprivileged: a persistentDir it cannot reach, or one that is
        not pmirrord's own (it would be given to the agent's user), is a configuration
        error (status 2, also for -n) with the directive's FILE:LINE and what is in
        the way; nothing is created or chowned."""
        base = self.env.pmirrord_conf().replace("persistentDir", "# persistentDir")
        n = base.count("\n") + 1
        locked = self.env.path("locked")
        os.makedirs(locked + "/state")
        os.chmod(locked, 0o700)   # root's, not searchable by the agent's user
        path = self.conf(base + "persistentDir %s/state\n" % locked)
        r = run([PMIRRORD, "-n", "-c", path])   # -n says it too: a configuration error
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("is not searchable by it", r.stderr)
        r = run([PMIRRORD, "-f", "-c", path])
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("%s:%d: persistentDir %s/state: the agent's user" % (path, n, locked), r.stderr)
        self.assertIn("%s is not searchable by it" % locked, r.stderr)
        shared = self.env.path("shared")
        os.makedirs(shared + "/someone-elses-dir")
        path = self.conf(base + "persistentDir %s\n" % shared)
        r = run([PMIRRORD, "-f", "-c", path])
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn('%s:%d: persistentDir %s holds "someone-elses-dir"' % (path, n, shared), r.stderr)
        self.assertEqual(os.stat(shared).st_uid, 0)
        self.assertEqual(os.stat(locked + "/state").st_uid, 0)
        # a FIFO as a pcap file: refused by -n, never opened for reading (no hang)
        fifo = self.env.path("trace.pcap")
        os.mkfifo(fifo)
        path = self.conf(self.env.pmirrord_conf() + "capture pcap:%s\n" % fifo)
        r = run([PMIRRORD, "-n", "-c", path])
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("capture pcap:%s: not a regular file" % fifo, r.stderr)

    def test_check_prints_the_memlock_figure(self):
        def figure(extra):
            path, r = self.check(self.env.pmirrord_conf() + extra)
            self.assertEqual(r.returncode, 0, r.stderr)
            m = re.search(r"memlock: (\d+) bytes needed", r.stdout)
            self.assertIsNotNone(m, r.stdout)
            return int(m.group(1))
        base = figure("")
        self.assertGreater(base, 8 << 20)
        # 16 control sessions' replies are bounded by what one log page can hold
        # (docs/memory-locking.md), not by 8 x the ring: the default needs < 64 MiB
        # besides the 64 trap hosts (queueSize 32, events of 696 bytes) that
        # "trap-host add" may add at run time
        runtime_hosts = 64 * (32 * (696 + 64) + (512 << 10))
        self.assertGreater(base, runtime_hosts)
        self.assertLess(base - runtime_hosts, 64 << 20)
        # a page holds 512 KiB of entry text whatever the ring's size: a larger
        # audit log adds its slots and at most the largest reply buffer per session
        big = figure("secureLogSize 65536\n")
        self.assertLess(big - base, (65536 - 100) * (4352 + 48) + 19 * (4 << 20) + 4096)
        self.assertGreater(figure("mirrorLogSize 10000\n"), base + 10000 * 512)
        self.assertGreater(figure("eventQueueSize 100000\n"), base + 96000 * 600)
        host = self.env.trap_host(extra="queueSize 50000")
        self.assertGreater(figure(host + "\n"), base + 50000 * 600)
        # maxTriggers: during a reload the table, the file's rules as parsed and
        # the new table exist at once (a rule with its source: 1136 bytes), with
        # three copies of the TRIGGER_SET entries (872 bytes each)
        self.assertGreater(figure("maxTriggers 10000\n"), base + 9900 * (3 * 1136 + 3 * 872) - 65536)
        # room for every trap host "trap-host add" may add at run time is in the
        # figure already: configuring hosts of the default queue size adds nothing
        hosts = "".join(self.env.trap_host(port=20000 + i) + "\n" for i in range(3))
        self.assertEqual(figure(hosts), base)


class TestTrapEnable(DaemonCase):
    def test_configured_value_is_not_persisted(self):
        """Without an SNMP SET, the file's trapEnable is not persisted at the
        stop: changing it in the file takes effect at the next start."""
        e = self.env
        e.start_snmpd()
        e.start_pmirrord("trapEnable yes")
        e.wait_registered()
        self.assertEqual(e.stop("pmirrord"), 0)
        pers = e.path("agent", "persist", "pmirrord-agent.conf")
        self.assertNotIn("pmTrapEnable", pmtest.read_text(pers) if os.path.exists(pers) else "")
        offset = len(e.read_log("pmirrord"))
        e.start_pmirrord("trapEnable no")
        e.wait_registered()
        wait_for(lambda: "juniPacketMirrorTrapEnable is false" in e.read_log("pmirrord")[offset:],
                 10, what="the start-up line")
        self.assertNotIn("overridden", e.read_log("pmirrord")[offset:])

    def test_persisted_value_overriding_the_config_is_warned_about(self):
        e = self.env
        e.start_snmpd()
        e.start_pmirrord("trapEnable yes")
        e.wait_registered()
        self.assertNotIn("overridden", e.read_log("pmirrord"))
        self.assertEqual(e.snmpset_v3(pmtest.OID_TRAPENABLE, "i", "2").returncode, 0)
        self.assertEqual(e.stop("pmirrord"), 0)
        offset = len(e.read_log("pmirrord"))
        path = e.path("pmirrord.conf")
        n = e.pmirrord_conf("trapEnable yes").split("\n").index("trapEnable yes") + 1
        d = e.start_pmirrord("trapEnable yes")
        e.wait_registered()
        want = ("trapEnable yes (%s:%d) is overridden by the persisted value false (set by SNMP); "
                "change it with snmpset" % (path, n))
        wait_for(lambda: want in e.read_log("pmirrord")[offset:], 10, what="the warning")
        self.assertRegex(e.read_log("pmirrord")[offset:], r"\[agentx\] warning: trapEnable yes")
        # the same value as persisted, or no trapEnable line: nothing to say
        for extra in ("trapEnable no", ""):
            e.stop("pmirrord")
            offset = len(e.read_log("pmirrord"))
            e.start_pmirrord(extra)
            e.wait_registered()
            wait_for(lambda: "juniPacketMirrorTrapEnable is false" in e.read_log("pmirrord")[offset:],
                     10, what="the start-up line")
            self.assertNotIn("overridden", e.read_log("pmirrord")[offset:])


class TestPidfile(DaemonCase):
    def test_symlinked_pidfile_is_refused(self):
        target = self.env.path("victim")
        with open(target, "w") as f:
            f.write("precious\n")
        link = self.env.path("run", "pmirrord.pid")
        os.symlink(target, link)
        path = self.conf(self.env.pmirrord_conf())
        r = run([PMIRRORD, "-f", "-c", path, "-p", link])
        self.assertNotEqual(r.returncode, 0)
        self.assertIn(link, r.stderr)
        self.assertIn("symbolic link", r.stderr)
        with open(target) as f:
            self.assertEqual(f.read(), "precious\n")
        self.assertTrue(os.path.islink(link))

    def refused_pidfile(self, pidfile):
        """pmirrord -f with -p pidfile must stop before it writes anything there."""
        path = self.conf(self.env.pmirrord_conf())
        r = run([PMIRRORD, "-f", "-c", path, "-p", pidfile])
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertFalse(os.path.exists(self.env.path("run", "ctl.sock")), "it went on")
        return r.stderr

    def plant(self, path, uid, text="1\n"):
        with open(path, "w") as f:
            f.write(text)
        os.chown(path, uid, -1)

    def test_pidfile_owned_by_another_user_is_refused(self):
        """Its owner could write any PID into it, for root's stop scripts to signal:
        even where the directory is safe (sticky, like /tmp), it is refused."""
        nobody = int(run(["id", "-u", "nobody"]).stdout)
        shared = self.env.path("shared")
        os.mkdir(shared)
        os.chmod(shared, 0o1777)
        pidfile = os.path.join(shared, "pmirrord.pid")
        self.plant(pidfile, nobody)
        err = self.refused_pidfile(pidfile)
        self.assertIn("pidfile %s is owned by uid %d, not by uid 0" % (pidfile, nobody), err)
        with open(pidfile) as f:
            self.assertEqual(f.read(), "1\n")

    def test_pidfile_in_a_group_writable_directory_is_refused(self):
        """A member of the group could replace the file between two starts."""
        nogroup = int(run(["id", "-g", "nobody"]).stdout)
        nobody = int(run(["id", "-u", "nobody"]).stdout)
        group = self.env.path("group")
        os.mkdir(group)
        os.chown(group, 0, nogroup)
        os.chmod(group, 0o775)
        pidfile = os.path.join(group, "pmirrord.pid")
        for planted in (True, False):
            if planted:
                self.plant(pidfile, nobody)
            elif os.path.exists(pidfile):
                os.unlink(pidfile)
            err = self.refused_pidfile(pidfile)
            self.assertIn("pidfile %s: %s is writable by group or others" % (pidfile, group), err)
            self.assertEqual(os.path.exists(pidfile), planted)

    def test_pidfile_with_another_link_is_refused(self):
        """A second name for the file (a hard link) would keep what we write."""
        other = self.env.path("other")
        self.plant(other, 0)
        pidfile = self.env.path("run", "pmirrord.pid")
        os.link(other, pidfile)
        err = self.refused_pidfile(pidfile)
        self.assertIn("pidfile %s has 2 links" % pidfile, err)
        with open(other) as f:
            self.assertEqual(f.read(), "1\n")

    def test_pidfile_below_a_symlinked_directory_is_refused(self):
        real = self.env.path("realrun")
        os.mkdir(real, 0o755)
        link = self.env.path("linkrun")
        os.symlink(real, link)
        pidfile = os.path.join(link, "pmirrord.pid")
        err = self.refused_pidfile(pidfile)
        self.assertIn("pidfile %s: %s is a symbolic link" % (pidfile, link), err)
        self.assertEqual(os.listdir(real), [])

    def test_pidfile_in_a_missing_directory_is_refused(self):
        """A directory that does not exist yet could be created by anybody before the
        pidfile is: it is refused, and nothing is created."""
        missing = self.env.path("missing")
        pidfile = os.path.join(missing, "x.pid")
        err = self.refused_pidfile(pidfile)
        self.assertIn("pidfile %s: %s does not exist" % (pidfile, missing), err)
        self.assertFalse(os.path.exists(missing))

    def test_group_or_other_writable_pidfile_is_refused(self):
        """Ours, in a safe directory, but writable by others: they could write a PID."""
        pidfile = self.env.path("run", "pmirrord.pid")
        for mode in (0o664, 0o646, 0o666):
            self.plant(pidfile, 0)
            os.chmod(pidfile, mode)
            err = self.refused_pidfile(pidfile)
            self.assertIn("pidfile %s is writable by group or others (mode %04o)" % (pidfile, mode),
                          err)
            with open(pidfile) as f:
                self.assertEqual(f.read(), "1\n")

    def test_pidfile_is_written_and_removed(self):
        self.env.start_snmpd()
        d = self.env.start_pmirrord()
        wait_for(lambda: d.pid() == d.proc.pid, 20, what="the pidfile")
        st = os.stat(d.pidfile)
        self.assertEqual(stat.S_IMODE(st.st_mode) & 0o022, 0)
        self.assertEqual(self.env.stop("pmirrord"), 0)
        self.assertFalse(os.path.exists(d.pidfile))


    def test_second_instance_leaves_the_first_ones_pidfile(self):
        """The pidfile is the instance lock: a second pmirrord with the same -p fails
        naming the running one's PID, whatever its control socket, and the first one
        keeps its pidfile and stops by it."""
        self.env.start_snmpd()
        d = self.env.start_pmirrord()
        wait_for(lambda: d.pid() == d.proc.pid, 20, what="the pidfile")
        first = d.proc.pid
        same = self.env.path("pmirrord.conf")
        other = self.conf(self.env.pmirrord_conf().replace(
            self.env.path("run", "ctl.sock"), self.env.path("run", "ctl2.sock")), name="p2.conf")
        for path in (same, other):
            for mode in ((), ("-f",)):
                r = run([PMIRRORD, *mode, "-c", path, "-p", d.pidfile], stdin=subprocess.DEVNULL)
                self.assertEqual(r.returncode, 1, r.stderr)
                self.assertIn("pidfile %s is locked by a running pmirrord, PID %d" % (d.pidfile, first),
                              r.stderr)
                self.assertEqual(d.pid(), first, "the first daemon's pidfile was changed")
                self.assertTrue(d.alive())
        self.assertFalse(os.path.exists(self.env.path("run", "ctl2.sock")))
        with open(d.pidfile) as f:
            os.kill(int(f.read()), signal.SIGTERM)
        self.assertEqual(d.proc.wait(20), 0)
        self.assertFalse(os.path.exists(d.pidfile))

    def test_stale_pidfile_is_taken_over_and_removed(self):
        pidfile = self.env.path("run", "pmirrord.pid")
        with open(pidfile, "w") as f:
            f.write("999999\n")
        self.env.start_snmpd()
        d = self.env.start_pmirrord()
        wait_for(lambda: d.pid() == d.proc.pid, 20, what="the pidfile")
        self.assertEqual(self.env.stop("pmirrord"), 0)
        self.assertFalse(os.path.exists(pidfile))


class TestDaemonMode(DaemonCase):
    def daemonize(self, conf_text):
        path = self.conf(conf_text)
        pidfile = self.env.path("run", "pmirrord.pid")
        r = run([PMIRRORD, "-c", path, "-p", pidfile], stdin=subprocess.DEVNULL)
        return pidfile, r

    def test_start_failure_is_reported_by_the_parent(self):
        blocker = self.env.path("not-a-dir")
        with open(blocker, "w") as f:
            f.write("")
        text = self.env.pmirrord_conf().replace(self.env.path("run", "ctl.sock"),
                                                 os.path.join(blocker, "ctl.sock"))
        pidfile, r = self.daemonize(text)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("not-a-dir", r.stderr)
        self.assertIn("pmirrord: ", r.stderr)
        self.assertFalse(os.path.exists(pidfile))
        # in the foreground the same failure is logged at error level
        r = run([PMIRRORD, "-f", "-c", self.env.path("pmirrord.conf")])
        self.assertEqual(r.returncode, 1)
        self.assertRegex(r.stderr, r"pmirrord\[main\] error: cannot start: .*not-a-dir")

    def test_start_up_messages_reach_the_terminal(self):
        """Daemon mode logs to syslog, which a host may lack: what is logged until the
        daemon is ready is printed on the starting terminal too (no snmpd here: the
        absent master is a start-up warning)."""
        pidfile, r = self.daemonize(self.env.pmirrord_conf())
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(pidfile) as f:
            pid = int(f.read())
        try:
            self.assertRegex(r.stderr, r"(?m)^pmirrord\[agent\] info: SNMP engineID 0x[0-9a-f]+ ")
            self.assertRegex(r.stderr, r"(?m)^pmirrord\[agentx\] warning: AgentX master at .* is absent")
            self.assertRegex(r.stderr, r"(?m)^pmirrord\[main\] info: pmirrord [0-9.]+ started$")
            self.assertEqual(r.stdout, "")
            # the messages' own quotes as with -f, not backslash-escaped
            self.assertNotIn('\\"', r.stderr)
            if "without both accounts" in r.stderr:
                self.assertIn('(README, "Build and install")', r.stderr)
        finally:
            os.kill(pid, signal.SIGTERM)
            wait_for(lambda: not os.path.exists("/proc/%d" % pid), 20, what="pmirrord to stop")
        # a failure is said once, by the parent
        other = self.conf(self.env.pmirrord_conf(), name="p2.conf")
        d = self.env.start_pmirrord()
        wait_for(lambda: d.pid() == d.proc.pid, 20, what="the first pmirrord")
        r = run([PMIRRORD, "-c", other, "-p", self.env.path("run", "p2.pid")], stdin=subprocess.DEVNULL)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertEqual(r.stderr.count("another server is listening"), 1, r.stderr)

    def test_start_survives_the_parent_dying(self):
        """The waiting parent killed while the child starts (its terminal closed): the
        start-up messages hit a pipe nobody reads, which must not kill the daemon."""
        self.env.start_snmpd()
        path = self.conf(self.env.pmirrord_conf())
        pidfile = self.env.path("run", "pmirrord.pid")
        parent = subprocess.Popen([PMIRRORD, "-c", path, "-p", pidfile], stdin=subprocess.DEVNULL,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # the child is held from the fork on while its parent dies, so everything it
        # writes to the pipe meets a reader that is gone
        pid = hold_fork(parent)
        try:
            def holds_pid():
                try:
                    with open(pidfile) as f:
                        return f.read() == "%d\n" % pid
                except FileNotFoundError:
                    return False
            wait_for(lambda: holds_pid() or not os.path.exists("/proc/%d" % pid), 20,
                     what="the pidfile")
            self.assertTrue(os.path.exists("/proc/%d" % pid), "the daemon died")
            # started: it serves its control socket (written after the pidfile)
            wait_for(lambda: self.env.ctl("show", "version").returncode == 0
                     or not os.path.exists("/proc/%d" % pid), 20, what="the control socket")
            self.assertTrue(os.path.exists("/proc/%d" % pid), "the daemon died")
            self.assertTrue(holds_pid())
        finally:
            if os.path.exists("/proc/%d" % pid):
                os.kill(pid, signal.SIGTERM)
                wait_for(lambda: not os.path.exists("/proc/%d" % pid), 20, what="pmirrord to stop")

    def test_failed_start_echo_holds_no_secret(self):
        """What the parent prints of a failed start with a trap host configured holds
        none of its passphrases."""
        auth, priv = "Echo-auth-pass-3", "Echo-priv-pass-3"
        self.env.secrets.update({auth, priv})
        # named with a bidi override (U+202E): printed escaped, it cannot reorder the line
        blocker = self.env.path("not-a-dir\u202e")
        with open(blocker, "w") as f:
            f.write("")
        text = self.env.pmirrord_conf(
            "trapHost 127.0.0.1:%d user echoUser auth SHA-256 %s priv AES %s\n"
            % (pmtest.free_udp_port(), auth, priv)).replace(
                self.env.path("run", "ctl.sock"), os.path.join(blocker, "ctl.sock"))
        pidfile, r = self.daemonize(text)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("not-a-dir\\xe2\\x80\\xae", r.stderr)
        self.assertNotIn("\u202e", r.stderr)
        for s in self.env.secrets | {MIRROR_SECRET}:
            self.assertNotIn(s, r.stderr + r.stdout)

    def test_success_only_once_ready(self):
        self.env.start_snmpd()
        pidfile, r = self.daemonize(self.env.pmirrord_conf())
        self.assertEqual(r.returncode, 0, r.stderr)
        # no waiting: the parent returned only after the child was ready
        with open(pidfile) as f:
            pid = int(f.read())
        try:
            c = self.env.ctl("show", "version")
            self.assertEqual(c.returncode, 0, c.stderr)
            self.assertIn("pmirrord", c.stdout)
        finally:
            os.kill(pid, signal.SIGTERM)
            wait_for(lambda: not os.path.exists("/proc/%d" % pid), 20, what="pmirrord to stop")
        self.assertFalse(os.path.exists(pidfile))


def status(pid):
    with open("/proc/%d/status" % pid) as f:
        return dict(l.split(":", 1) for l in f.read().splitlines())


def kib(pid, key):
    return int(status(pid)[key].split()[0]) * 1024


class TestLockedMemory(DaemonCase):
    """mlockall() and a RLIMIT_MEMLOCK computed from the configuration, as nobody."""

    def setUp(self):
        super().setUp()
        if os.geteuid() != 0:
            self.fail("needs root (setpriv, prlimit): run the suite as root")
        self.evtestd = os.path.join(PLAIN, "pm_evtestd")
        self.nobody = int(run(["id", "-u", "nobody"]).stdout)

    def figure(self, path, exe=os.path.join(PLAIN, "pmirrord")):
        r = run([exe, "-n", "-c", path])
        self.assertEqual(r.returncode, 0, r.stderr)
        return int(re.search(r"memlock: (\d+) bytes needed", r.stdout).group(1))

    def start_as_nobody(self, limit, text, nobody=True, caplock=False):
        e = self.env
        path = self.conf(text)
        fifo = e.path("run", "events.fifo")
        if not os.path.exists(fifo):
            os.mkfifo(fifo)
        if nobody:
            for p in (path, e.path("agent/persist"), e.path("run"), fifo):
                os.chown(p, self.nobody, -1)
        argv = [self.evtestd, "-f", "-c", path, "-p", e.path("run", "pmirrord.pid")]
        if caplock:
            argv = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                    "--inh-caps=+ipc_lock", "--ambient-caps=+ipc_lock", "--"] + argv
        elif nobody:
            argv = ["prlimit", "--memlock=%d:%d" % (limit, limit), "--", "setpriv", "--reuid=nobody",
                    "--regid=nogroup", "--clear-groups", "--"] + argv
        return e._spawn("pmirrord", argv, dict(os.environ, PM_EVTEST_FIFO=fifo))

    def workload(self, nobody):
        """Start with the computed limit, raise events, read them back; return (pid, limit)."""
        e = self.env
        e.write_snmpd_conf("agentXPerms 0666 0755\n")
        e.start_snmpd()
        e.start_snmptrapd()
        text = e.pmirrord_conf("trapEnable true\nsecureLog on\n" + e.trap_host(extra="queueSize 64"))
        limit = self.figure(self.conf(text))
        caplock = nobody and not self.can_raise(limit)
        if caplock:
            sys.stderr.write("note: root cannot raise RLIMIT_MEMLOCK to %d bytes here (no "
                             "CAP_SYS_RESOURCE); running as nobody with CAP_IPC_LOCK instead\n" % limit)
        d = self.start_as_nobody(limit, text, nobody, caplock)
        if nobody:
            e.server_user = "nobody"   # pmirrorctl sends the secret only to root or this user
        wait_for(lambda: "evtest: reading events" in e.read_log("pmirrord") or not d.alive(), 30,
                 what="pm_evtestd to start")
        self.assertAlive()
        pid = d.proc.pid
        if nobody:   # setpriv and prlimit exec: the PID is the daemon's
            wait_for(lambda: status(pid)["Uid"].split()[1] == str(self.nobody), 5, what="uid nobody")
        e.wait_registered()
        e.raise_event("trap=5 mid=7 sid=9 user=alice tt=3 trigger=alice count=40")
        e.secrets.add("alice")
        wait_for(lambda: len(e.trap_lines()) >= 40, 30, what="40 notifications")
        r = e.ctl("show", "snmp", "trap", secret=MIRROR_SECRET)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout, r"events:\s+40")
        for what in (("show", "mirror", "log"), ("show", "snmp", "secure-log")):
            r = e.ctl(*what, secret=MIRROR_SECRET)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("alice", r.stdout)
        self.assertAlive()
        locked, size = kib(pid, "VmLck"), kib(pid, "VmSize")
        self.assertGreater(locked, 0, "mlockall() was not applied")
        self.assertGreaterEqual(locked, size - (1 << 20), "not everything is locked")
        self.assertLessEqual(locked, limit, "more locked than the computed figure")
        return pid, limit

    def test_locked_memory_stays_within_the_figure(self):
        """As root (not held to the limit, but charged the same way): VmLck <= the figure."""
        self.workload(nobody=False)

    def test_trap_hosts_added_at_run_time_stay_within_the_figure(self):
        """The figure of a configuration without trap hosts covers those that
        "pmirrorctl trap-host add" adds later (docs/memory-locking.md)."""
        e = self.env
        e.start_snmpd()
        e.start_snmptrapd()
        text = e.pmirrord_conf("trapEnable true\nsecureLog on\n")
        limit = self.figure(self.conf(text))
        d = self.start_as_nobody(limit, text, nobody=False)
        wait_for(lambda: "evtest: reading events" in e.read_log("pmirrord") or not d.alive(), 30,
                 what="pm_evtestd to start")
        self.assertAlive()
        e.wait_registered()
        name, a, ap, p, pp = pmtest.TRAP_USER
        e.secrets.update({ap, pp})
        ports = [e.trap_port] + [pmtest.free_udp_port() for _ in range(3)]
        for port in ports:   # only the first one listens: the others' queues fill up
            r = e.ctl("trap-host", "add", "127.0.0.1:%d" % port, "user", name, "auth", a, ap,
                      "priv", p, pp, secret=MIRROR_SECRET)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(len(e.ctl_json("show", "snmp", "trap")["hosts"]), len(ports))
        e.raise_event("trap=5 mid=7 sid=9 user=alice tt=3 trigger=alice count=80")
        e.secrets.add("alice")
        wait_for(lambda: len(e.trap_lines()) >= 80, 30, what="80 notifications")
        self.assertAlive()
        pid = d.proc.pid
        locked, size = kib(pid, "VmLck"), kib(pid, "VmSize")
        self.assertGreaterEqual(locked, size - (1 << 20), "not everything is locked")
        self.assertLessEqual(locked, limit, "more locked than the computed figure")

    def test_runs_as_nobody_within_the_computed_limit(self):
        """As nobody: with RLIMIT_MEMLOCK = the figure where root may raise it; where it
        may not (a container without CAP_SYS_RESOURCE, whose hard limit is lower than
        any process that locks libnetsnmp and libcrypto), with CAP_IPC_LOCK alone and
        the container's limit.  Either way everything is locked and VmLck <= the figure."""
        self.workload(nobody=True)

    def test_too_small_a_limit_is_refused_clearly(self):
        text = self.env.pmirrord_conf()
        limit = self.figure(self.conf(text))
        with open("/proc/self/limits") as f:
            hard = [l for l in f if l.startswith("Max locked memory")][0].split()[4]
        half = limit // 2 if hard == "unlimited" else min(limit // 2, int(hard))
        for small in (half, 1 << 20):
            d = self.start_as_nobody(small, text)
            rc = d.proc.wait(30)
            log = self.env.read_log("pmirrord")
            self.env.daemons.pop("pmirrord")
            self.assertEqual(rc, 1, log)
            self.assertIn("RLIMIT_MEMLOCK", log)
            self.assertIn("%d bytes" % limit, log)
            self.assertIn("LimitMEMLOCK", log)

    def can_raise(self, limit):
        """Raising the hard limit needs CAP_SYS_RESOURCE (containers often withhold it)."""
        return run(["prlimit", "--memlock=%d:%d" % (limit, limit), "true"]).returncode == 0

    def test_root_sets_the_limit_and_locks_everything(self):
        self.env.start_snmpd()
        d = self.env.start_pmirrord()
        self.env.wait_registered()
        pid = d.proc.pid
        with open("/proc/%d/limits" % pid) as f:
            line = [l for l in f if l.startswith("Max locked memory")][0].split()
        want = self.figure(self.env.path("pmirrord.conf"), PMIRRORD)
        if self.can_raise(want):
            self.assertEqual(line[3:5], [str(want), str(want)])
        else:
            # root without CAP_SYS_RESOURCE: says so, and relies on CAP_IPC_LOCK; with
            # CAP_IPC_LOCK that is harmless, so info, not a warning on every start
            log = self.env.read_log("pmirrord")
            self.assertIn("cannot raise RLIMIT_MEMLOCK to %d bytes" % want, log)
            self.assertIn("[mon] info: cannot raise RLIMIT_MEMLOCK", log)
            self.assertNotIn("warning: cannot raise RLIMIT_MEMLOCK", log)
        self.assertGreater(kib(pid, "VmLck"), 0)
        with open("/proc/%d/limits" % pid) as f:
            core = [l for l in f if l.startswith("Max core file size")][0].split()
        self.assertEqual(core[4:6], ["0", "0"])


if __name__ == "__main__":
    unittest.main()
