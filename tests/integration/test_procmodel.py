"""The process model (docs/process-model.md) with the real peers: a root
monitor, an agent without capabilities, a capture process with CAP_NET_RAW
only, no_new_privs and a seccomp filter; SIGKILL of either child restarts it
(the agent registers with snmpd again); SIGTERM stops everything and removes
the control socket and the pidfile.

Needs the agent (src/daemon/agent_proc.c) and the capture process
(src/capture/cap_proc.c) merged with the monitor; run as root.
"""
import os
import signal
import unittest

import pmtest
from pmtest import wait_for

CAP_NET_RAW = 1 << 13
CAP_IPC_LOCK = 1 << 14


def children(ppid):
    """{pid: mode} of the processes whose parent is ppid and whose command
    line is `... --child MODE ...`."""
    out = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/status" % name) as f:
                status = f.read()
            with open("/proc/%s/cmdline" % name, "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        fields = dict(l.split(":\t", 1) for l in status.splitlines() if ":\t" in l)
        if int(fields.get("PPid", "0")) != ppid or b"--child" not in argv:
            continue
        i = argv.index(b"--child")
        if i + 1 < len(argv):
            out[int(name)] = argv[i + 1].decode()
    return out


def status(pid):
    with open("/proc/%d/status" % pid) as f:
        return dict(l.split(":\t", 1) for l in f.read().splitlines() if ":\t" in l)


def uid_of(user, fallback="nobody"):
    import pwd
    try:
        return pwd.getpwnam(user).pw_uid
    except KeyError:
        return pwd.getpwnam(fallback).pw_uid


class ProcModelTest(pmtest.PmTestCase):
    def start(self):
        if os.geteuid() != 0:
            self.skipTest("the process model needs root")
        env = self.env
        env.start_snmpd()
        env.start_pmirrord(extra="capture lo role signalling\n")
        env.wait_registered()
        self.assertAlive()
        mon = env.daemons["pmirrord"].pid()
        def both():
            c = children(mon)
            return c if sorted(c.values()) == ["agent", "capture"] else None
        kids = wait_for(both, 10, what="the agent and the capture process")
        return mon, {mode: pid for pid, mode in kids.items()}

    def test_process_tree(self):
        mon, kids = self.start()
        m = status(mon)
        self.assertEqual(m["Uid"].split()[1], "0")
        a = status(kids["agent"])
        self.assertEqual(int(a["Uid"].split()[1]), uid_of("pmirrord"))
        self.assertEqual(int(a["CapEff"], 16) & ~CAP_IPC_LOCK, 0)
        c = status(kids["capture"])
        self.assertEqual(int(c["Uid"].split()[1]), uid_of("pmirrord-capture"))
        self.assertEqual(int(c["CapEff"], 16), CAP_NET_RAW)
        self.assertEqual(c["NoNewPrivs"].strip(), "1")
        self.assertEqual(c["Seccomp"].strip(), "2")

    def test_sigkill_agent_restarts(self):
        mon, kids = self.start()
        os.kill(kids["agent"], signal.SIGKILL)
        new = wait_for(lambda: [p for p, m in children(mon).items() if m == "agent" and p != kids["agent"]],
                       15, what="a new agent process")
        self.assertTrue(new)
        self.env.wait_registered(timeout=20)
        self.assertAlive()
        self.assertIn("agent process killed by SIGKILL", self.env.read_log("pmirrord"))

    def test_sigkill_capture_restarts(self):
        mon, kids = self.start()
        os.kill(kids["capture"], signal.SIGKILL)
        wait_for(lambda: [p for p, m in children(mon).items() if m == "capture" and p != kids["capture"]],
                 15, what="a new capture process")
        self.assertAlive()
        self.assertIn("capture process killed by SIGKILL", self.env.read_log("pmirrord"))
        # the agent is the same process, still registered
        self.assertIn(kids["agent"], children(mon))
        self.env.wait_registered(timeout=5)

    def test_sigterm_stops_all(self):
        mon, kids = self.start()
        sock = self.env.path("run", "ctl.sock")
        pidfile = self.env.path("run", "pmirrord.pid")
        self.assertTrue(os.path.exists(sock))
        self.env.stop("pmirrord")
        for pid in kids.values():
            wait_for(lambda: not pmtest.pid_alive(pid), 10, what="child %d to end" % pid)
        self.assertFalse(os.path.exists(sock))
        self.assertFalse(os.path.exists(pidfile))


if __name__ == "__main__":
    unittest.main()
