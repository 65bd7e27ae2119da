"""No intercept data outlives its use (docs/hygiene.md).

A RADIUS-learnt targeted session from the wire, in a namespace of the test's own
(test_radius_sessions.RadiusCase: FreeRADIUS, a NAS, an analyzer on 127.0.0.3,
snmptrapd, and here an snmpd as AgentX master): Access-Request/Accept with the LI
VSAs, Accounting-Start, the target's packets mirrored to the analyzer,
Accounting-Stop.  Once the session ended, its notifications are at snmptrapd and
both secure logs were cleared through the control socket, the memory of the
monitor, the agent and the capture process (/proc/PID/mem, every readable mapping
but the kernel's capture rings) must hold neither the subscriber's name, nor its
address in dotted text, nor the mirror ID in decimal text.

Which mappings are the capture rings: libpcap maps each AF_PACKET socket's
TPACKET ring (PACKET_RX_RING + mmap of the socket), so the mapping's name in
/proc/PID/maps is "socket:[INODE]"; the scan skips a mapping only if INODE is a
packet socket of that process's network namespace (the Inode column of
/proc/PID/net/packet), and says what it skipped.  The kernel writes every
captured frame there and recycles the blocks as it pleases: what it holds is not
the process's to wipe.  Also skipped: [vvar]/[vsyscall] (kernel pages), pages
never touched (/proc/PID/pagemap: neither present nor swapped; they read as
zeros) and, in sanitizer builds, AddressSanitizer's shadow (poison states only).

The second test kills each process with SIGKILL in the middle of an intercept and
looks for the same strings on disk: persistentDir, the control socket's
directory, files under /tmp newer than the test's start, core files.
"""
import json
import os
import re
import signal
import time
import unittest

import pmtest
import test_procmodel as pm
import test_radius_sessions as trs
from pmtest import wait_for

# Distinctive values: nothing else in the daemon's world spells them.
ZQ = dict(user="zq7memscan-alice", pw="zq7-pw", ip="198.18.213.97", asid="zq7-sess-5501",
          mid=918273645, sid=0x5a5a1234)
NEEDLES = {"subscriber name": ZQ["user"].encode(), "dotted address": ZQ["ip"].encode(),
           "mirror ID": str(ZQ["mid"]).encode()}
# Binary, asserted: the jmirror header, the mirror ID then the session ID, four
# octets each big-endian (eight octets do not occur by chance in tens of MiB, the
# mirror ID's four alone might).  The jmirror batch arena held it until wiped.
BINARY = {"jmirror header (mirror ID, session ID)": ZQ["mid"].to_bytes(4, "big") +
          ZQ["sid"].to_bytes(4, "big")}
# The same pair in host order, as the capture process's structures hold it (the
# engine's table of live intercepts kept it in a slot emptied by the end).
HOST_ORDER = {"mirror ID, session ID (host order)": ZQ["mid"].to_bytes(4, "little") +
              ZQ["sid"].to_bytes(4, "little")}


# -- reading a process's memory -------------------------------------------------------
def packet_inodes(pid):
    """Inodes of the AF_PACKET sockets of the process's network namespace."""
    out = set()
    try:
        with open("/proc/%d/net/packet" % pid) as f:
            next(f)
            for ln in f:
                w = ln.split()
                if w:
                    out.add(w[-1])
    except OSError:
        pass
    return out


def mappings(pid):
    """[(start, end, perms, name)] of /proc/PID/maps."""
    out = []
    with open("/proc/%d/maps" % pid) as f:
        for ln in f:
            w = ln.split(None, 5)
            lo, hi = (int(x, 16) for x in w[0].split("-"))
            out.append((lo, hi, w[1], w[5].strip() if len(w) > 5 else ""))
    return out


def scan_plan(pid):
    """(mappings to read, [(mapping, why skipped)])."""
    rings = packet_inodes(pid)
    read, skipped = [], []
    for lo, hi, perms, name in mappings(pid):
        m = re.match(r"^socket:\[(\d+)\]$", name)
        label = "%x-%x %s %s" % (lo, hi, perms, name)
        if perms[0] != "r":
            continue
        if m and m.group(1) in rings:
            skipped.append((label, "packet socket ring (inode %s in /proc/PID/net/packet)" % m.group(1)))
        elif name in pm.SKIPPED:
            skipped.append((label, "kernel page"))
        elif lo >= pm.ASAN_SHADOW[0] and hi <= pm.ASAN_SHADOW[1]:
            skipped.append((label, "AddressSanitizer shadow"))
        else:
            read.append((lo, hi, name))
    return read, skipped


def scan_process(pid, needles):
    """[(needle name, address, mapping, octets around it)] of every occurrence, and
    the octets read."""
    hits, total = [], 0
    read, _ = scan_plan(pid)
    fd = os.open("/proc/%d/mem" % pid, os.O_RDONLY)
    try:
        for lo, hi, name in read:
            for a, b in pm.present_runs(pid, lo, hi):
                try:
                    data = bytearray()
                    addr = a
                    while addr < b:
                        chunk = os.pread(fd, min(1 << 22, b - addr), addr)
                        if not chunk:
                            break
                        data += chunk
                        addr += len(chunk)
                except OSError:      # raced with an munmap, or a guard page
                    pass
                total += len(data)
                for k, n in needles.items():
                    i = data.find(n)
                    while i >= 0:
                        ctx = bytes(data[max(0, i - 48):i + len(n) + 48])
                        hits.append((k, a + i, "%x-%x %s (offset 0x%x)" % (lo, hi, name or "[anon]",
                                                                         a + i - lo), ctx))
                        i = data.find(n, i + 1)
    finally:
        os.close(fd)
    return hits, total


def describe(proc, pid, hits):
    lines = []
    for k, addr, mapping, ctx in hits:
        lines.append("  %s (pid %d): %s at 0x%x in %s\n      %r" % (proc, pid, k, addr, mapping, ctx))
    return "\n".join(lines)


def describe_asan(env, procs, report):
    """Diagnosis (PM_MEMSCAN_DESCRIBE=1, sanitizer builds): AddressSanitizer says for
    each hit whether it is in a live or a freed chunk and where it was allocated
    (gdb calls __asan_describe_address in the process; the text goes to its log)."""
    import subprocess
    for ln in report:
        m = re.match(r"^  (\w+) \(pid (\d+)\): .* at (0x[0-9a-f]+) ", ln)
        if m and m.group(1) in procs:
            subprocess.run(["gdb", "-p", m.group(2), "-batch", "-ex",
                            "call (void)__asan_describe_address(%s)" % m.group(3)],
                           capture_output=True, timeout=120)
    for p, pid in procs.items():   # which thread's stack a hit is on
        r = subprocess.run(["gdb", "-p", str(pid), "-batch", "-ex", "thread apply all p $sp",
                            "-ex", "thread apply all bt 12"], capture_output=True, text=True,
                           timeout=120)
        print("---", p, pid, "\n", r.stdout[-12000:])
    print(env.read_log("pmirrord")[-20000:])


class MemscanCase(trs.RadiusCase):
    users = (dict(ZQ, vsas=trs.vsas(ZQ)),)
    snmpd = True

    def setUp(self):
        super().setUp()
        self.env.secrets.update({ZQ["user"], ZQ["ip"]})
        self.env.secret_ids.update({ZQ["mid"], ZQ["sid"]})

    def procs(self):
        t = pm.ready_tree(self.env)
        return {"monitor": t["monitor"], "agent": t["agent"], "capture": t["capture"]}

    def session(self, end=True):
        z, mid = ZQ, ZQ["mid"]
        self.login(z)
        self.wait_note("SessionStart", mid)
        self.traffic(z, "zq7")
        self.wait_mirrored(z, "zq7", mid, z["sid"])
        # the mirror log holds the session (else clearing it proves nothing)
        wait_for(lambda: any(z["user"] in e or str(mid) in e for e in self.mirror_log()), 10,
                 what="the session in the mirror log")
        # the other replies that name the subscriber, through the control socket
        subs = self.env.ctl_json("show", "mirror", "subscribers")
        self.assertIn(z["user"], str(subs))
        # and a walk of the Mirror MIB through snmpd (the agent's request PDUs)
        self.assertEqual(self.env.snmpwalk_v3(pmtest.OID_MIRROR_MIB).returncode, 0)
        if not end:
            return
        self.stop(z)
        self.wait_note("SessionEnd", mid)
        self.assertEqual(self.kinds(mid), ["SessionStart", "SessionEnd"])

    def end_session(self):
        """Accounting-Stop: SessionEnd."""
        self.stop(ZQ)
        self.wait_note("SessionEnd", ZQ["mid"])

    def clear_logs(self):
        conn = pmtest.CtlConn(self.env.path("run", "ctl.sock"))
        try:
            for req in ("mirror-enable " + pmtest.MIRROR_SECRET, "clear mirror log",
                        "clear snmp secure-log"):
                st, body = conn.request(req)
                self.assertEqual(st, "OK", "%s: %s" % (req.split()[0], body))
        finally:
            conn.close()


class TestMemoryScan(MemscanCase):
    def test_no_trace_in_any_process_after_the_session(self):
        procs = self.procs()
        self.session(end=False)
        # while the session lives the name is somewhere (else the scan proves nothing)
        live = {p: scan_process(pid, NEEDLES) for p, pid in procs.items()}
        for p, (_, total) in live.items():
            self.assertGreater(total, 1 << 20, "read too little of the %s" % p)
        self.assertTrue(any(h for h, _ in live.values()), "nothing found while the session lives: "
                        "scan broken?")
        self.end_session()
        self.clear_logs()
        # more traffic through the same paths after the end (not mirrored)
        before = self.src_lo().get("packets", 0)
        self.traffic(ZQ, "after")
        self.captured_since(before, 6)
        self.assertEqual(self.jm.marked(b"after-"), [])
        # the capture process drops an ended intercept's statistics row (mirror ID,
        # session ID, analyzer) within a second of its end (mir_stats.c
        # ACTIVE_EVERY_MS): wait for it to be gone from `show mirror statistics`
        wait_for(lambda: str(ZQ["mid"]) not in json.dumps(pm.mirror_stats(self.env)), 10,
                 interval=0.2, what="the intercept's statistics row dropped")
        self.assertEqual(procs, self.procs(), "a process was restarted")
        report, failed = [], False
        for p, pid in procs.items():
            read, skipped = scan_plan(pid)
            hits, total = scan_process(pid, NEEDLES)
            bin_hits, _ = scan_process(pid, BINARY)
            host_hits, _ = scan_process(pid, HOST_ORDER)
            self.assertGreater(total, 1 << 20, "read too little of the %s" % p)
            report.append("%s (pid %d): read %d octets of %d mappings; skipped %s" % (
                p, pid, total, len(read), [s for s in skipped if "packet" in s[1]] or "no ring"))
            if hits:
                failed = True
                report.append(describe(p, pid, hits))
            if bin_hits:
                failed = True
                report.append("  %d binary hits:\n%s" % (len(bin_hits), describe(p, pid, bin_hits[:8])))
            if host_hits:
                failed = True
                report.append("  %d host-order hits:\n%s" % (
                    len(host_hits), describe(p, pid, host_hits[:8])))
        print("\n".join(report))
        if os.environ.get("PM_MEMSCAN_DESCRIBE"):
            describe_asan(self.env, procs, report)
        if os.environ.get("PM_MEMSCAN_REPORT"):
            with open(os.environ["PM_MEMSCAN_REPORT"], "w") as f:
                f.write("\n".join(report) + "\n")
        self.assertFalse(failed, "intercept data outlived the session:\n" + "\n".join(report))

    def test_capture_ring_is_what_is_skipped(self):
        """The scan skips exactly the capture process's packet socket mappings: the
        monitor and the agent have none, the capture process one per live source."""
        procs = self.procs()
        for p, pid in procs.items():
            _, skipped = scan_plan(pid)
            rings = [s for s in skipped if "packet" in s[1]]
            self.assertEqual(len(rings), 1 if p == "capture" else 0, "%s: %s" % (p, skipped))


class TestMemoryScanInform(TestMemoryScan):
    """The same with the notifications sent as informs: each PDU is kept until
    snmptrapd's response, then freed."""
    trap_extra = "inform timeout 1 retries 1"


class TestMemoryScanCoaDisconnect(TestMemoryScan):
    """The same ended by the NAS's side instead: a CoA turns the intercept off
    (its DOWN comes from the CoA path), a Disconnect ends the session."""

    def end_session(self):
        z, mid = ZQ, ZQ["mid"]
        off = [("Acct-Session-Id", z["asid"]), ("NAS-IP-Address", trs.NAS), ("ERX-LI-Action", "off")]
        trs.rp.assert_ok(self, trs.rp.coa(self.ns, off), "CoA off")
        self.wait_note("InterfaceSessionDeactivated", mid)
        r = trs.rp.disconnect(self.ns, [("Acct-Session-Id", z["asid"]), ("NAS-IP-Address", trs.NAS)])
        trs.rp.assert_ok(self, r, "Disconnect")
        # the session is gone (no intercept left to announce its end): the capture
        # process's session count (show mirror statistics, source "sessions")
        wait_for(lambda: pm.mirror_stats(self.env)["by_source"].get("sessions", {}).get("sessions")
                 == 0, 10, interval=0.2, what="the session to end")


class TestMemoryScanPlain(TestMemoryScan):
    """The same with the daemon as shipped (no sanitizer): glibc's allocator, its
    per-thread cache turned off and M_PERTURB (docs/hygiene.md)."""

    def setUp(self):
        plain = os.path.join(os.environ.get("PM_PLAIN_BUILD_DIR", pmtest.BUILD), "pmirrord")
        if not os.access(plain, os.X_OK):
            self.fail("missing %s (build the plain_pmirrord target)" % plain)
        saved = pmtest.PMIRRORD
        pmtest.PMIRRORD = plain
        self.addCleanup(setattr, pmtest, "PMIRRORD", saved)
        super().setUp()

    def test_tcache_off_and_perturb_in_every_process(self):
        """Each process runs with glibc's tcache off (GLIBC_TUNABLES), the
        monitor after executing itself once with it (same PID)."""
        for p, pid in self.procs().items():
            env = open("/proc/%d/environ" % pid, "rb").read().split(b"\0")
            self.assertIn(b"GLIBC_TUNABLES=glibc.malloc.tcache_count=0", env, p)


class TestCapturePathAllocations(MemscanCase):
    """M_PERTURB and the tcache turned off make free() and malloc() slower; the
    capture path pays nothing for them only if it does not allocate per packet.
    gdb counts malloc/calloc/realloc/free in the capture process (the shipped
    build's allocator is glibc's; breakpoints on its entry points) while 2000
    datagrams of the target are mirrored."""

    def setUp(self):
        plain = os.path.join(os.environ.get("PM_PLAIN_BUILD_DIR", pmtest.BUILD), "pmirrord")
        saved = pmtest.PMIRRORD
        pmtest.PMIRRORD = plain
        self.addCleanup(setattr, pmtest, "PMIRRORD", saved)
        super().setUp()

    def test_no_allocation_per_mirrored_packet(self):
        import subprocess
        self.session(end=False)
        cap = self.procs()["capture"]
        fns = ("__libc_malloc", "__libc_calloc", "__libc_realloc", "__libc_free")
        argv = ["gdb", "-p", str(cap), "-batch", "-nx"]
        for i, fn in enumerate(fns):
            argv += ["-ex", "break " + fn, "-ex", "ignore %d 100000000" % (i + 1)]
        argv += ["-ex", "continue", "-ex", "info breakpoints"]
        gdb = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            # attached once the process runs on (gdb says "Continuing." only after the
            # breakpoints are in place); give it the time to get there
            wait_for(lambda: pm.proc_status(cap)["State"][0] in ("S", "R") and
                     pm.proc_status(cap).get("TracerPid", ["0"])[0] != "0", 60,
                     what="gdb attached to the capture process")
            before = self.src_lo().get("packets", 0)
            n = 1000
            self.traffic(ZQ, "bench", count=n)
            self.captured_since(before, 2 * n)
            wait_for(lambda: len(self.jm.marked(b"bench-", trs.JM1)) >= 2 * n, 30,
                     what="the bench datagrams at the analyzer")
        finally:
            gdb.send_signal(signal.SIGINT)
            out, _ = gdb.communicate(timeout=120)
        hits = {fn: 0 for fn in fns}
        for m in re.finditer(r"^(\d+)\s+breakpoint\s+keep\s+y\s.*\n\s+breakpoint already hit (\d+) time",
                             out, re.M):
            hits[fns[int(m.group(1)) - 1]] = int(m.group(2))
        listed = re.findall(r"^(\d+)\s+breakpoint\s+keep\s+y", out, re.M)
        print("capture process, %d datagrams mirrored (%d captured): %s" % (2 * n, 2 * n, hits))
        if os.environ.get("PM_MEMSCAN_DESCRIBE"):
            print(out[-4000:])
        self.assertEqual(listed, ["1", "2", "3", "4"], "gdb set no breakpoints:\n" + out[-3000:])
        self.assertLess(sum(hits.values()), n // 10,
                        "the capture path allocates per packet: %s\n%s" % (hits, out[-3000:]))


class TestKilledLeavesNothing(MemscanCase):
    def secrets_on_disk(self, since):
        """[(path, needle name)] of the strings in files where a dead process could
        have left them."""
        roots = [self.env.path("agent", "persist"), self.env.path("run"), "/tmp"]
        out = []
        for root in roots:
            for d, dirs, files in os.walk(root):
                if root == "/tmp" and d == "/tmp" and os.path.basename(self.env.dir) in dirs:
                    # the test's own directory: the peers (FreeRADIUS, snmptrapd) keep
                    # their logs there; pmirrord's parts of it are roots of their own
                    dirs.remove(os.path.basename(self.env.dir))
                    files = files + [os.path.join(self.env.dir, "logs", "pmirrord.out")]
                for fn in files:
                    p = os.path.join(d, fn)
                    try:
                        st = os.lstat(p)
                        if root == "/tmp" and st.st_mtime < since:
                            continue
                        if not os.path.isfile(p) or st.st_size > (64 << 20):
                            continue
                        with open(p, "rb") as f:
                            data = f.read()
                    except OSError:
                        continue
                    out += [(p, k) for k, n in NEEDLES.items() if n in data]
        # core files: wherever core_pattern sends them (a path relative to the
        # process's directory, "/" for a daemon)
        for d in ("/", self.env.dir, "/var/crash", "/var/lib/systemd/coredump"):
            try:
                names = os.listdir(d)
            except OSError:
                continue
            for fn in names:
                p = os.path.join(d, fn)
                if fn.startswith("core") and os.path.isfile(p) and os.stat(p).st_mtime >= since:
                    out.append((p, "a core file"))
        return out

    def assertHardened(self, p, pid):
        """RLIMIT_CORE 0 (soft and hard) and, for the children, not dumpable; a child
        just started drops its privileges and then hardens itself: polled."""
        def done():
            try:
                self.checkHardened(p, pid)
                return True
            except AssertionError:
                return False
        try:
            wait_for(done, 10, interval=0.1)
        except AssertionError:
            pass
        self.checkHardened(p, pid)

    def checkHardened(self, p, pid):
        limits = pmtest.read_text("/proc/%d/limits" % pid)
        core = re.search(r"^Max core file size\s+(\S+)\s+(\S+)", limits, re.M)
        self.assertEqual(core.groups(), ("0", "0"), "%s: RLIMIT_CORE %s" % (p, core.groups()))
        st = pm.proc_status(pid)
        if p == "monitor":
            # root: its /proc files are root's either way; pm_harden_process() failing
            # stops it at start (docs/hygiene.md)
            return
        self.assertNotEqual(int(st["Uid"][0]), 0, "%s runs as root" % p)
        # not dumpable: the kernel gives /proc/PID/mem to root, not the process's user
        self.assertEqual(os.stat("/proc/%d/mem" % pid).st_uid, 0, "%s is dumpable" % p)

    def test_sigkill_of_each_process_leaves_nothing_on_disk(self):
        since = time.time() - 1
        procs = self.procs()
        for p, pid in procs.items():
            self.assertHardened(p, pid)
        self.session(end=False)
        for victim in ("capture", "agent"):
            pid = self.procs()[victim]
            os.kill(pid, signal.SIGKILL)
            t2 = pm.ready_tree(self.env, old={victim: pid})
            # the new one has dropped its privileges (and then hardened itself)
            wait_for(lambda: int(pm.proc_status(t2[victim])["Uid"][0]) != 0, 20,
                     what="the new %s to run as its user" % victim)
            self.assertHardened(victim, t2[victim])
            self.assertEqual(self.secrets_on_disk(since), [], "after SIGKILL of the " + victim)
            if victim == "capture":
                wait_for(lambda: self.src_lo().get("state") == pm.SRC_UP, 30, interval=0.2,
                         what="the new capture process capturing lo")
        kids = self.procs()
        mon = self.env.daemons["pmirrord"]
        os.kill(kids["monitor"], signal.SIGKILL)
        mon.proc.wait(10)
        # the children follow their parent (PR_SET_PDEATHSIG)
        wait_for(lambda: not any(os.path.exists("/proc/%d" % kids[c]) for c in ("agent", "capture")),
                 10, what="the children to die with the monitor")
        self.assertEqual(self.secrets_on_disk(since), [], "after SIGKILL of the monitor")
        self.assertEqual([f for f in os.listdir(self.env.path("agent", "persist"))
                          if f.startswith("runtime")], [],
                         "persistRuntimeChanges is off: no runtime.conf")


class TestHeapHygieneExec(unittest.TestCase):
    """pm_heap_hygiene()'s one exec of /proc/self/exe (the shipped build): it
    happens at most once, whatever GLIBC_TUNABLES and the start say."""

    def setUp(self):
        import shutil
        import tempfile
        plain = os.path.join(os.environ.get("PM_PLAIN_BUILD_DIR", pmtest.BUILD), "pmirrord")
        if not os.access(plain, os.X_OK):
            self.fail("missing %s (build the plain_pmirrord target)" % plain)
        self.plain = plain
        self.dir = tempfile.mkdtemp(prefix="pm-memscan-exec-")
        self.addCleanup(shutil.rmtree, self.dir, True)

    def execs(self, tunables):
        """The execve() calls of `pmirrord -V` with GLIBC_TUNABLES=tunables."""
        import subprocess
        log = os.path.join(self.dir, "strace")
        env = {"PATH": "/usr/bin:/bin", "GLIBC_TUNABLES": tunables}
        r = subprocess.run(["strace", "-f", "-qq", "-v", "-s", "512", "-e", "trace=execve", "-o", log, self.plain, "-V"],
                           env=env, capture_output=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(log) as f:
            return [l for l in f if "execve(" in l and "= 0" in l]

    def test_a_later_tcache_count_is_not_taken_for_off(self):
        """glibc applies the tunables in order: "tcache_count=0:tcache_count=7"
        leaves the tcache on, "tcache_count=07" too; both are executed again."""
        self.assertEqual(len(self.execs("glibc.malloc.tcache_count=0")), 1)
        for t in ("glibc.malloc.tcache_count=0:glibc.malloc.tcache_count=7",
                  "glibc.malloc.tcache_count=07"):
            ex = self.execs(t)
            self.assertEqual(len(ex), 2, "%s: %s" % (t, ex))
            self.assertIn(t + ":glibc.malloc.tcache_count=0", ex[1])

    def test_secure_execution_does_not_loop(self):
        """Started set-user-ID or with file capabilities (AT_SECURE), the loader
        erases glibc.malloc.* from GLIBC_TUNABLES: an exec to set it would find it
        missing again, for ever (same PID, a CPU at 100 %%).  It must warn and run."""
        import shutil
        import subprocess
        if os.geteuid() != 0 or shutil.which("setcap") is None:
            self.fail("needs root and setcap (libcap2-bin) to give the copy a file capability")
        copy = os.path.join(self.dir, "pmirrord")
        shutil.copy(self.plain, copy)
        subprocess.run(["setcap", "cap_net_raw+ep", copy], check=True)
        os.chmod(self.dir, 0o755)
        try:
            r = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                                copy, "-V"], env={"PATH": "/usr/bin:/bin"},
                               capture_output=True, timeout=30)
        except subprocess.TimeoutExpired:
            self.fail("pmirrord -V with a file capability did not end: executing itself again and again")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(b"secure execution", r.stderr)


if __name__ == "__main__":
    unittest.main()
