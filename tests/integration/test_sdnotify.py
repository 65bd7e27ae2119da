"""What pmirrord tells systemd (docs/systemd.md), seen from a notification
socket the test binds, as systemd would: the daemon gets NOTIFY_SOCKET and
WATCHDOG_USEC in its environment and runs with -f, as the unit starts it.

Checked: READY=1 only once both children are ready (they run, the daemon
answers pmirrorctl and snmpd has its registration); STATUS= lines at start,
when ready, when a child restarts, when stopping; every message comes from
the monitor's PID (SCM_CREDENTIALS); WATCHDOG=1 keeps coming, stops while the
capture process is stopped (SIGSTOP: no heartbeat answer) with one "sd" log
line saying why, and comes back after SIGCONT; STOPPING=1 at SIGTERM; the
children's environment has no NOTIFY_SOCKET or WATCHDOG_*.

The daemon runs in a network namespace the test creates, capturing on its
loopback interface (a live source); snmpd and the sockets are files, the same
in every namespace.  Only processes this test started are signalled, by PID.
"""
import os
import re
import select
import signal
import socket
import struct
import subprocess
import time
import unittest

import pmtest
from pmtest import PmTestCase, wait_for
from test_procmodel import ready_tree

WATCHDOG_USEC = 2000000  # 2 s: heartbeats every 500 ms, fed every second


class Notifications:
    """A unix datagram socket as systemd's NOTIFY_SOCKET, with the sender's
    credentials of each datagram."""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        os.chmod(path, 0o666)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        self.msgs = []   # (monotonic time, pid, {key: value})

    def poll(self, timeout=0.0):
        end = time.monotonic() + timeout
        while True:
            left = max(0.0, end - time.monotonic())
            r, _, _ = select.select([self.sock], [], [], left)
            if not r:
                return
            data, anc, _, _ = self.sock.recvmsg(4096, socket.CMSG_SPACE(12))
            pid = None
            for level, typ, cdata in anc:
                if level == socket.SOL_SOCKET and typ == socket.SCM_CREDENTIALS:
                    pid = struct.unpack("iII", cdata[:12])[0]
            kv = dict(line.split("=", 1) for line in data.decode().splitlines() if "=" in line)
            self.msgs.append((time.monotonic(), pid, kv))
            timeout = 0.0
            end = time.monotonic()

    def wait(self, pred, timeout, what, since=0):
        """The first message from index since on that pred accepts."""
        def probe():
            self.poll(0.1)
            return next((m for m in self.msgs[since:] if pred(m[2])), None)
        return wait_for(probe, timeout, interval=0.0, what=what)

    def close(self):
        self.sock.close()


class TestSdNotify(PmTestCase):
    def setUp(self):
        super().setUp()
        self.ns = "pmsd-%d-%d" % (os.getpid(), int(time.monotonic() * 1000) % 100000)
        subprocess.run(["ip", "netns", "add", self.ns], check=True)
        self.addCleanup(subprocess.run, ["ip", "netns", "del", self.ns], stderr=subprocess.DEVNULL)
        subprocess.run(["ip", "-n", self.ns, "link", "set", "lo", "up"], check=True)
        self.n = Notifications(self.env.path("run", "notify.sock"))
        self.addCleanup(self.n.close)
        self.stopped = []   # PIDs this test SIGSTOPped: continued whatever happens
        self.addCleanup(self._cont)

    def _cont(self):
        for pid in self.stopped:
            try:
                os.kill(pid, signal.SIGCONT)
            except ProcessLookupError:
                pass

    def start(self):
        e = self.env
        e.start_snmpd()
        e.netns = self.ns
        path = e.path("pmirrord.conf")
        with open(path, "w") as f:
            f.write(e.pmirrord_conf("capture lo\n"))
        os.chmod(path, 0o600)
        env = dict(os.environ, NOTIFY_SOCKET=self.n.path, WATCHDOG_USEC=str(WATCHDOG_USEC))
        return e._spawn("pmirrord", [pmtest.PMIRRORD, "-f", "-c", path, "-p",
                                     e.path("run", "pmirrord.pid")], env)

    def keys(self, key):
        return [(t, pid, kv) for t, pid, kv in self.n.msgs if key in kv]

    def feeds_after(self, t0):
        return [t for t, _, kv in self.n.msgs if kv.get("WATCHDOG") == "1" and t >= t0]

    def test_ready_status_watchdog_and_stopping(self):
        e = self.env
        d = self.start()
        # READY=1 comes; when it does, both children run and the daemon serves
        ready = self.n.wait(lambda kv: kv.get("READY") == "1", 60, "READY=1")
        # read at once: the monitor logs each child's READY before it tells systemd
        log = e.read_log("pmirrord")
        t_ready = ready[0]
        self.assertRegex(log, r"agent process ready")
        self.assertRegex(log, r"capture process ready")
        t = ready_tree(e)
        mon = t["monitor"]
        r = e.ctl("show", "version")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(len(self.keys("READY")), 1)
        # the first STATUS said it is starting; READY came with a running status
        statuses = [kv["STATUS"] for _, _, kv in self.keys("STATUS")]
        self.assertEqual(statuses[0], "starting", statuses)
        self.assertRegex(ready[2].get("STATUS", ""), r"^running: agent and capture process ready")
        # every message from the monitor itself (NotifyAccess=main)
        self.assertEqual({pid for _, pid, _ in self.n.msgs}, {mon})
        # the children never see the notification socket or the watchdog
        for mode in ("agent", "capture"):
            with open("/proc/%d/environ" % t[mode], "rb") as f:
                environ = f.read().split(b"\0")
            for var in (b"NOTIFY_SOCKET=", b"WATCHDOG_USEC=", b"WATCHDOG_PID="):
                self.assertFalse([v for v in environ if v.startswith(var)], (mode, var))
        # the live source is counted once the capture process answered
        self.n.wait(lambda kv: re.search(r"1 live capture source\b", kv.get("STATUS", "")), 10,
                    "a STATUS with the live source")

        # WATCHDOG=1 keeps coming, at about half of WATCHDOG_USEC
        wait_for(lambda: self.n.poll(0.1) or len(self.feeds_after(t_ready)) >= 4, 10,
                 interval=0.0, what="four WATCHDOG=1")
        feeds = self.feeds_after(t_ready)
        gaps = [b - a for a, b in zip(feeds, feeds[1:])]
        self.assertLess(max(gaps), WATCHDOG_USEC / 1e6, gaps)

        # the capture process stopped: no heartbeat answer, no more WATCHDOG=1
        os.kill(t["capture"], signal.SIGSTOP)
        self.stopped.append(t["capture"])
        t_stop = time.monotonic()
        wait_for(lambda: re.search(r"\[sd\] warning: watchdog no longer fed: the capture process "
                                   r"has not answered a heartbeat", e.read_log("pmirrord")), 10,
                 what="the sd log line")
        self.n.poll(0.1)
        t_starved = time.monotonic()
        # silence for longer than the watchdog interval
        self.n.poll(WATCHDOG_USEC / 1e6 * 1.5)
        later = self.feeds_after(t_starved)
        self.assertEqual(later, [], "WATCHDOG=1 while the capture process is stopped")
        # at most the interval after the stop, it had stopped feeding
        last = max(self.feeds_after(t_ready))
        self.assertLess(last - t_stop, WATCHDOG_USEC / 1e6 + 0.5)
        self.assertEqual(len(re.findall(r"watchdog no longer fed", e.read_log("pmirrord"))), 1,
                         "logged once")
        # continued: the answers come again, so does WATCHDOG=1
        os.kill(t["capture"], signal.SIGCONT)
        self.stopped.remove(t["capture"])
        t_cont = time.monotonic()
        wait_for(lambda: self.n.poll(0.1) or len(self.feeds_after(t_cont)) >= 2, 10, interval=0.0,
                 what="WATCHDOG=1 again after SIGCONT")
        self.assertRegex(e.read_log("pmirrord"), r"\[sd\] info: watchdog fed again")
        self.assertEqual(ready_tree(e)["capture"], t["capture"], "the capture process was replaced")

        # SIGTERM: STOPPING=1, from the monitor
        d.stop()
        self.n.poll(0.2)
        stopping = self.keys("STOPPING")
        self.assertEqual(len(stopping), 1, self.n.msgs[-5:])
        self.assertEqual(stopping[0][1], mon)
        self.assertEqual(d.proc.returncode, 0)

    def test_child_restart_status(self):
        e = self.env
        self.start()
        self.n.wait(lambda kv: kv.get("READY") == "1", 60, "READY=1")
        t = ready_tree(e)
        os.kill(t["agent"], signal.SIGKILL)
        self.n.wait(lambda kv: re.search(r"the agent process died; starting it again \(restart 1\)",
                                         kv.get("STATUS", "")), 10, "the restart's STATUS")
        self.n.wait(lambda kv: re.search(r"^running: .*restarts: agent 1, capture 0",
                                         kv.get("STATUS", "")), 30, "running again")
        ready_tree(e, old={"agent": t["agent"]})
        # READY=1 said once: a child's restart is no new start-up
        self.assertEqual(len(self.keys("READY")), 1)
        # the watchdog is fed again once the new agent answers
        t1 = time.monotonic()
        wait_for(lambda: self.n.poll(0.1) or len(self.feeds_after(t1)) >= 2, 15, interval=0.0,
                 what="WATCHDOG=1 after the agent's restart")


# -- the unit's confinement, applied by hand -------------------------------------
UNIT = os.path.join(pmtest.SRC, "dist", "systemd", "pmirrord.service")
SYSFILTER = os.path.join(pmtest.BUILD, "pm_sysfilter")
# The build the unit runs: no sanitizer (LSan's leak check at exit stops the
# other threads with ptrace, which no service's filter allows).
PLAIN = os.environ.get("PM_PLAIN_BUILD_DIR", pmtest.BUILD)


def unit_values(key):
    """Every value of KEY= in the unit, in order."""
    with open(UNIT) as f:
        return [ln.split("=", 1)[1].strip() for ln in f if ln.startswith(key + "=")]


def syscall_groups():
    """{"@group": [member, ...]} from `systemd-analyze syscall-filter`."""
    out = subprocess.run(["systemd-analyze", "syscall-filter"], capture_output=True, text=True,
                         check=True).stdout
    groups, cur = {}, None
    for line in out.splitlines():
        if line.startswith("@"):
            cur = groups.setdefault(line.split()[0], [])
        elif cur is not None and line.strip() and not line.strip().startswith("#"):
            cur.append(line.strip())
    return groups


def expand(names, groups):
    out = set()
    for n in names:
        out |= expand(groups.get(n, []), groups) if n.startswith("@") else {n}
    return out


def unit_allowlist():
    """The system calls the unit's SystemCallFilter= lines allow (systemd.exec(5):
    the first line is an allow list; a later "~" line takes calls out of it, a
    later plain line puts calls back)."""
    groups, allow = syscall_groups(), None
    for v in unit_values("SystemCallFilter"):
        deny = v.startswith("~")
        names = expand(v.lstrip("~").split(), groups)
        if allow is None:
            assert not deny, "the unit's first SystemCallFilter= is not an allow list"
            allow = names
        elif deny:
            allow -= names
        else:
            allow |= names
    return allow


class TestUnitConfinement(PmTestCase):
    """The daemon runs under what the unit allows: its CapabilityBoundingSet=
    (setpriv), NoNewPrivileges=, its SystemCallFilter= (pm_sysfilter: any other
    call kills with SIGSYS) and LimitMEMLOCK=infinity; with a controlGroup, and
    started twice, the second time over the persistentDir the first gave to the
    agent.  Where this host's root may not raise RLIMIT_MEMLOCK (a container
    without CAP_SYS_RESOURCE) CAP_IPC_LOCK is added, as the agent then needs it;
    under systemd the limit is raised by the unit.  The children stop at the end
    of their monitor channels: root without CAP_KILL may not signal them."""

    def setUp(self):
        super().setUp()
        if not os.access(SYSFILTER, os.X_OK):
            self.fail("missing %s (build the target pm_sysfilter)" % SYSFILTER)
        self.ns = "pmsdc-%d-%d" % (os.getpid(), int(time.monotonic() * 1000) % 100000)
        subprocess.run(["ip", "netns", "add", self.ns], check=True)
        self.addCleanup(subprocess.run, ["ip", "netns", "del", self.ns], stderr=subprocess.DEVNULL)
        subprocess.run(["ip", "-n", self.ns, "link", "set", "lo", "up"], check=True)
        self.n = Notifications(self.env.path("run", "notify.sock"))
        self.addCleanup(self.n.close)

    def test_runs_under_the_units_limits(self):
        e = self.env
        caps = unit_values("CapabilityBoundingSet")
        self.assertEqual(len(caps), 1)
        bset = ["+" + c[4:].lower() for c in caps[0].split()]
        self.assertEqual(unit_values("NoNewPrivileges"), ["yes"])
        self.assertEqual(unit_values("LimitMEMLOCK"), ["infinity"])
        limit = ["prlimit", "--memlock=unlimited:unlimited"]
        if subprocess.run(limit + ["true"], capture_output=True).returncode != 0:
            limit = []
            bset.append("+ipc_lock")   # this host only: see the class's text
        allow = unit_allowlist()
        for call in ("setresuid", "capset", "seccomp", "landlock_restrict_self", "execve"):
            self.assertIn(call, allow)
        for call in ("setrlimit", "mount", "ptrace", "init_module"):
            self.assertNotIn(call, allow)
        with open(e.path("allow.txt"), "w") as f:
            f.write("\n".join(sorted(allow)) + "\n")
        e.start_snmpd()
        e.netns = self.ns
        path = e.path("pmirrord.conf")
        conf = e.pmirrord_conf("capture lo\ncontrolGroup daemon\n").replace(
            "persistentDir " + e.path("agent/persist"), "persistentDir " + e.path("agent/pm"))
        with open(path, "w") as f:
            f.write(conf)
        os.chmod(path, 0o600)
        argv = [*limit, "setpriv", "--bounding-set", "-all," + ",".join(bset), "--no-new-privs",
                SYSFILTER, e.path("allow.txt"), "--",
                os.path.join(PLAIN, "pmirrord"), "-f", "-c", path, "-p", e.path("run", "pmirrord.pid")]
        env = dict(os.environ, NOTIFY_SOCKET=self.n.path, WATCHDOG_USEC=str(WATCHDOG_USEC))
        for start in (1, 2):
            before = len(self.n.msgs)
            d = e._spawn("pmirrord", argv, env)
            self.n.wait(lambda kv: kv.get("READY") == "1", 60, "READY=1 (start %d)" % start,
                        since=before)
            t = ready_tree(e)
            # both children as they should be: the capture process keeps CAP_NET_RAW alone
            with open("/proc/%d/status" % t["capture"]) as f:
                st = dict(ln.split(":", 1) for ln in f.read().splitlines())
            self.assertEqual(int(st["CapEff"], 16), 1 << 13, "start %d" % start)
            self.assertEqual(st["NoNewPrivs"].strip(), "1")
            # the control socket, given to controlGroup
            sock = e.path("run", "ctl.sock")
            self.assertEqual(os.stat(sock).st_gid, 1, "control socket not given to controlGroup")
            r = e.ctl("show", "version")
            self.assertEqual(r.returncode, 0, r.stderr)
            e.wait_registered()
            # the watchdog fed: heartbeats answered under the filter
            t1 = time.monotonic()
            wait_for(lambda: self.n.poll(0.1) or len([m for m in self.n.msgs if m[0] >= t1 and
                                                      m[2].get("WATCHDOG") == "1"]) >= 2, 10,
                     interval=0.0, what="WATCHDOG=1 (start %d)" % start)
            self.assertEqual(ready_tree(e), t, "a child was restarted (start %d)" % start)
            rc = e.stop("pmirrord")
            self.assertEqual(rc, 0, e.read_log("pmirrord")[-3000:])
            log = e.read_log("pmirrord")
            self.assertNotRegex(log, r"SIGSYS|Operation not permitted|Permission denied")
            # stopped by the end of their channels (no CAP_KILL to signal them)
            self.assertNotRegex(log, r"needed SIGKILL")
        # the second start found persistentDir the agent's and left it so
        st = os.stat(e.path("agent/pm"))
        self.assertNotEqual(st.st_uid, 0)
        self.assertEqual(st.st_mode & 0o7777, 0o700)

if __name__ == "__main__":
    unittest.main()
