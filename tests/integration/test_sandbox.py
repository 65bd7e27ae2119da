"""The capture process's sandbox (src/capture/sandbox.c, docs/sandbox.md) through
`pm_capdump --sandbox USER`.

Root; namespaces, veth pairs (198.18.x.x) and helpers are those of
test_capsrc.py: pm_capdump captures in namespace A, B sends, tearDown deletes
both namespaces.  What is checked comes from the kernel (/proc/PID/status, the
exit signal), not from the program's own report.  A seccomp kill is seen as the
exit signal (SIGSYS, 31); the audit log is not needed.

pm_capdump is an ASan build in the test tree: LeakSanitizer's exit check
ptraces the process from a clone()d thread, which the sandbox forbids (and
which cannot work on a non-dumpable process anyway), so leak checking is off
for the sandboxed runs.
"""
import os
import re
import signal
import unittest

import pmtest
import test_capsrc as capsrc

NOBODY = 65534
SIGSYS = 31
CAP_NET_RAW = 1 << 13


def proc_status(pid):
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for ln in f:
            k, _, v = ln.partition(":")
            out[k] = v.split()
    return out


class Sandbox(unittest.TestCase):
    # the namespaces and veths of test_capsrc.py
    _teardown = capsrc.CaptureSources._teardown
    veth = capsrc.CaptureSources.veth
    link_up = capsrc.CaptureSources.link_up
    send = capsrc.CaptureSources.send

    def setUp(self):
        capsrc.CaptureSources.setUp(self)
        env = os.environ.get("ASAN_OPTIONS")
        os.environ["ASAN_OPTIONS"] = re.sub(r"detect_leaks=1", "detect_leaks=0",
                                            env or "") + ":detect_leaks=0"
        self.addCleanup(lambda: os.environ.__setitem__("ASAN_OPTIONS", env)
                        if env is not None else os.environ.pop("ASAN_OPTIONS", None))
        # pm_capdump starts with a supplementary group (adm), which the sandbox must shed
        groups = os.getgroups()
        os.setgroups([4])
        self.addCleanup(os.setgroups, groups)

    def capdump(self, *specs, user="nobody", triggers=()):
        args = ["--sandbox", user]
        for t in triggers:
            args += ["--trigger", t]
        cd = capsrc.Capdump(self, self.nsa, *specs, args=args)
        cd.wait_line(r"^ready$")
        return cd

    def assert_sandboxed(self, pid):
        st = proc_status(pid)
        self.assertEqual(st["Uid"], [str(NOBODY)] * 4)
        self.assertEqual(st["Gid"], [str(NOBODY)] * 4)
        self.assertEqual(st["Groups"], [])
        for cap in ("CapEff", "CapPrm", "CapBnd"):
            self.assertEqual(int(st[cap][0], 16), CAP_NET_RAW, cap)
        for cap in ("CapInh", "CapAmb"):
            self.assertEqual(int(st[cap][0], 16), 0, cap)
        self.assertEqual(st["NoNewPrivs"], ["1"])
        self.assertEqual(st["Seccomp"], ["2"])
        # not dumpable: the kernel gives /proc/PID/mem (not the directory) to root, not the user
        self.assertEqual(os.stat("/proc/%d/mem" % pid).st_uid, 0,
                         "/proc/PID/mem not root's: dumpable")

    def test_sandboxed_capture_survives_interface_recreation(self):
        self.veth(1)
        self.veth(2)
        # a1: TPACKET_V3 without a filter; a2: immediate mode (V2) with a BPF filter
        cd = self.capdump("a1", 'a2 role signalling filter "udp port 1812"')
        # Landlock: any ABI version (1 on Debian 12's 6.1, 2 from 6.2...); none is a failure
        self.assertTrue(any(re.match(r"^sandbox user=65534 gid=65534 eff=2000 bnd=2000 nnp=1 "
                                     r"seccomp=2 landlock=[1-9]\d*$", ln) for ln in cd.lines()),
                        cd.lines())
        self.assert_sandboxed(cd.proc.pid)
        self.send(1, (1812, 10))
        self.send(2, (1813, 5), (1812, 11))
        self.assertEqual([cl for cl, _, _, _ in cd.wait_udp(1, "a1")], [52])
        self.assertEqual([cl for cl, _, _, _ in cd.wait_udp(1, "a2")], [53])

        # deleted and re-created: each source reopens under the filter
        # (socket, bind, setsockopt, mmap, ioctl after the sandbox is in place)
        for i, n in ((1, 2), (2, 2)):
            capsrc.run("ip", "-n", self.nsa, "link", "del", "a%d" % i)
            cd.wait_line(r"^state a%d down " % i, timeout=5)
            self.veth(i)
            cd.wait_line(r"^state a%d up " % i, count=2)
            self.send(i, (1812, 20))
            self.assertEqual([cl for cl, _, _, _ in cd.wait_udp(n, "a%d" % i)][-1], 62)
        self.assertEqual(cd.stats("a1")["reopens"], "1")
        self.assertEqual(cd.stats("a2")["reopens"], "1")
        self.assert_sandboxed(cd.proc.pid)
        # the ordinary exit (stats, close, munmap, exit_group) is allowed too
        self.assertEqual(cd.stop(), 0, "\n".join(cd.lines()))

    def test_forbidden_system_calls_kill_with_sigsys(self):
        self.veth(1)
        target = os.path.join(self.dir, "written")
        for trigger in ("exec:/bin/true", "write:" + target):
            cd = self.capdump("a1", triggers=(trigger,))
            self.assert_sandboxed(cd.proc.pid)
            cd.proc.send_signal(signal.SIGUSR2)
            # dead, or alive and saying what the call returned
            pmtest.wait_for(lambda: cd.proc.poll() is not None or
                            any(ln.startswith("trigger ") for ln in cd.lines()), 10,
                            what="pm_capdump's end after %s" % trigger)
            rc = cd.proc.poll()
            self.assertEqual(rc, -SIGSYS, "%s: exit %s\n%s" % (trigger, rc, "\n".join(cd.lines())))
            self.assertFalse([ln for ln in cd.lines() if ln.startswith("trigger ")], trigger)
        self.assertFalse(os.path.exists(target))

    def test_files_root_only_or_outside_sys_are_unreadable(self):
        self.veth(1)
        # a root-only file where Landlock lets the process read (sysfs of the
        # test's namespace): only the file mode stops it
        root_only = "/sys/class/net/a1/ifalias"
        capsrc.run("ip", "netns", "exec", self.nsa, "chmod", "0600", root_only)
        # a world-readable file outside /sys: only Landlock stops it
        os.chmod(self.dir, 0o755)
        public = os.path.join(self.dir, "public")
        with open(public, "w") as f:
            f.write("x\n")
        os.chmod(public, 0o644)
        allowed = "/sys/class/net/a1/mtu"
        paths = (root_only, public, allowed)
        cd = self.capdump("a1", triggers=["read:" + p for p in paths])
        self.assert_sandboxed(cd.proc.pid)
        for p in paths:
            cd.proc.send_signal(signal.SIGUSR2)
            cd.wait_line(r"^trigger read %s " % re.escape(p))
        got = {ln.split()[2]: " ".join(ln.split()[3:]) for ln in cd.lines()
               if ln.startswith("trigger read ")}
        # read-only opens pass the seccomp filter: the file mode and Landlock decide
        self.assertEqual(got, {root_only: "Permission denied", public: "Permission denied",
                               allowed: "ok"})
        self.assertIsNone(cd.proc.poll())

    def test_missing_user_falls_back_to_nobody(self):
        self.veth(1)
        cd = self.capdump("a1", user="pm-no-such-user")
        warn = [ln for ln in cd.lines() if ln.startswith("warn sandbox ")]
        self.assertEqual(len(warn), 1, cd.lines())
        self.assertIn("pm-no-such-user does not exist; running as nobody", warn[0])
        self.assert_sandboxed(cd.proc.pid)


if __name__ == "__main__":
    unittest.main()
