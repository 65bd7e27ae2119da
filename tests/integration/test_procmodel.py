"""The process model of docs/process-model.md seen from outside: a root monitor
(the pidfile's PID), an unprivileged agent and a sandboxed capture process.

Runs the real daemon (pmirrord, or pm_evtestd where events are raised), snmpd
as the AgentX master, snmptrapd and pmirrorctl; needs root.  What is checked
comes from the kernel (/proc/PID/status, /proc/PID/task/*/children,
/proc/PID/mem, exit signals) and from the peers (snmpget, snmptrapd's log,
the control socket), not from the daemon's own report alone.  Children are
signalled by the PIDs found under the monitor this test started; nothing else
is.  Network traffic stays in namespaces the test creates (veths with
198.18.x.x addresses, test_capsrc.py's helpers).
"""
import base64
import hashlib
import os
import pwd
import re
import signal
import subprocess
import unittest

import pmtest
import test_capsrc as capsrc
from pmtest import (AGENT_ENGINE, OID_TRAPENABLE, TRAP_USER, TRAPD_ENGINE, PmTestCase,
                    wait_for)

# Builds without sanitizers (tests/CMakeLists.txt): an ASan process keeps freed
# memory in its quarantine, which a memory scan must not depend on either way.
PLAIN = os.environ.get("PM_PLAIN_BUILD_DIR", pmtest.BUILD)

CAP_NET_RAW = 1 << 13
CAP_IPC_LOCK = 1 << 14
NOBODY = 65534
MODES = ("agent", "capture")
# docs/process-model.md, "Start-up": the accounts, replaced by nobody where absent
ACCOUNTS = {"agent": "pmirrord", "capture": "pmirrord-capture"}


def run(argv, **kw):
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, **kw)


# -- the process tree ---------------------------------------------------------
def proc_status(pid):
    with open("/proc/%d/status" % pid) as f:
        return {k: v.split() for k, _, v in (ln.partition(":") for ln in f.read().splitlines())}


def children(pid):
    """PIDs of pid's children that are running (not zombies), from every thread."""
    out = []
    try:
        tasks = os.listdir("/proc/%d/task" % pid)
    except FileNotFoundError:
        return out
    for t in tasks:
        try:
            with open("/proc/%d/task/%s/children" % (pid, t)) as f:
                out += [int(w) for w in f.read().split()]
        except FileNotFoundError:
            pass
    return [c for c in out if proc_state(c) not in (None, "Z", "X")]


def proc_state(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return None


def cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return [a.decode("utf-8", "replace") for a in f.read().split(b"\0")[:-1]]
    except (FileNotFoundError, ProcessLookupError):
        return []


def child_mode(pid):
    """MODE of a child exec'd as `PROG --child MODE ...`, or None (not yet exec'd)."""
    argv = cmdline(pid)
    if "--child" in argv[1:-1]:
        return argv[argv.index("--child") + 1]
    return None


def tree(monitor):
    """{"agent": PID, "capture": PID} under the monitor, or None unless exactly one
    exec'd child of each mode runs."""
    got = {}
    for c in children(monitor):
        m = child_mode(c)
        if m is None:
            return None   # forked, not yet exec'd
        if m in got:
            return None
        got[m] = c
    return got if set(got) == set(MODES) else None


def ready_tree(env, name="pmirrord", timeout=30, old=None):
    """The children of the daemon env started, once both run (and, with old, once
    the ones named in old were replaced: {"capture": previous PID})."""
    d = env.daemons[name]

    def probe():
        if not d.alive():
            raise AssertionError("%s exited (rc %s):\n%s" % (name, d.proc.returncode,
                                                            env.read_log(name)[-4000:]))
        mon = d.pid()
        if mon is None:
            return None
        t = tree(mon)
        if t is None or any(t[m] == pid for m, pid in (old or {}).items()):
            return None
        return dict(t, monitor=mon)
    return wait_for(probe, timeout, what="the monitor's two children")


def capeff(pid):
    return int(proc_status(pid)["CapEff"][0], 16)


# -- the locked-memory figure (test_daemon.py's way of deciding) ---------------
def memlock_figure(conf_path, exe=pmtest.PMIRRORD):
    r = run([exe, "-n", "-c", conf_path])
    if r.returncode != 0:
        raise AssertionError(r.stderr)
    return int(re.search(r"memlock: (\d+) bytes needed", r.stdout).group(1))


def can_raise_memlock(limit):
    """Raising the hard limit needs CAP_SYS_RESOURCE (containers often withhold it)."""
    return run(["prlimit", "--memlock=%d:%d" % (limit, limit), "true"]).returncode == 0


# -- USM keys (RFC 3414 A.2, RFC 7860 for the SHA-2 family, RFC 3826 for AES) ---
def password_to_key(hashname, password):
    """Ku: the password repeated over 1 MiB, hashed (RFC 3414 A.2.1/A.2.2)."""
    pw = password.encode()
    buf = (pw * (1048576 // len(pw) + 1))[:1048576]
    return hashlib.new(hashname, buf).digest()


def localize(hashname, ku, engine_hex):
    """Kul = H(Ku || snmpEngineID || Ku) (RFC 3414 2.6)."""
    eid = bytes.fromhex(engine_hex[2:] if engine_hex.startswith("0x") else engine_hex)
    return hashlib.new(hashname, ku + eid + ku).digest()


HASHES = {"SHA-256": "sha256", "SHA-224": "sha224", "SHA-384": "sha384", "SHA-512": "sha512",
          "SHA": "sha1", "SHA1": "sha1", "MD5": "md5"}
PRIV_KEYLEN = {"AES": 16, "AES128": 16, "AES-128": 16, "DES": 16}


def usm_needles(user):
    """Every form of a trap host's passphrases pmirrord could hold: the text, Ku,
    and Kul localized with the engineID a TRAP uses (ours, RFC 3414 1.5.1) and the
    one an INFORM uses (the receiver's).  An AES-128 key is the first 16 octets of
    the localized privacy key (RFC 3826 1.2)."""
    name, auth, apass, priv, ppass = user
    h = HASHES[auth]
    out = {"auth passphrase": apass.encode(), "priv passphrase": ppass.encode()}
    for what, pw in (("auth", apass), ("priv", ppass)):
        ku = password_to_key(h, pw)
        out["%s Ku" % what] = ku
        for ename, eid in (("our engine", AGENT_ENGINE), ("trapd's engine", TRAPD_ENGINE)):
            kul = localize(h, ku, eid)
            out["%s Kul (%s)" % (what, ename)] = kul if what == "auth" else kul[:PRIV_KEYLEN[priv]]
    return out


def secret_needles():
    """The mirrorSecret line's value as text, and its salt and hash as octets."""
    text = pmtest.secret_hash()
    _, scheme, iters, salt, digest = text.split("$")
    return {"mirrorSecret hash text": text.encode(), "mirrorSecret salt": base64.b64decode(salt),
            "mirrorSecret hash": base64.b64decode(digest)}


# -- reading another process's memory -------------------------------------------
# AddressSanitizer's shadow on x86-64 (one octet per eight of application memory:
# poison states, no copy of any data) spans terabytes; it is not scanned.
ASAN_SHADOW = (0x00007fff8000, 0x10007fff8000)
SKIPPED = ("[vvar]", "[vvar_vclock]", "[vsyscall]")


def scan_regions(pid):
    """(start, end, name) of the mappings worth reading: readable, not the
    kernel's [vvar]/[vsyscall], not a packet ring (a mapping of an AF_PACKET
    socket), not ASan's shadow, and with something resident or swapped
    (an untouched mapping reads as zeros)."""
    out, cur = [], None
    with open("/proc/%d/smaps" % pid) as f:
        for ln in f:
            w = ln.split()
            if re.match(r"^[0-9a-f]+-[0-9a-f]+ ", ln):
                lo, hi = (int(x, 16) for x in w[0].split("-"))
                name = w[5] if len(w) > 5 else ""
                cur = [lo, hi, name, w[1], 0]
                out.append(cur)
            elif w and w[0] in ("Rss:", "Swap:") and cur is not None:
                cur[4] += int(w[1])
    return [(lo, hi, name) for lo, hi, name, perms, kb in out
            if perms[0] == "r" and name not in SKIPPED and not name.startswith("socket:")
            and not (lo >= ASAN_SHADOW[0] and hi <= ASAN_SHADOW[1]) and kb > 0]


def present_runs(pid, lo, hi):
    """[start, end) runs of pages of [lo, hi) that are in memory or swapped
    (/proc/PID/pagemap bits 63 and 62)."""
    page = os.sysconf("SC_PAGE_SIZE")
    runs = []
    with open("/proc/%d/pagemap" % pid, "rb") as f:
        f.seek(lo // page * 8)
        data = f.read((hi - lo) // page * 8)
    for i in range(len(data) // 8):
        e = int.from_bytes(data[8 * i:8 * i + 8], "little")
        if e >> 62 & 3:
            a = lo + i * page
            if runs and runs[-1][1] == a:
                runs[-1][1] = a + page
            else:
                runs.append([a, a + page])
    return runs


def scan_memory(pid, needles):
    """{needle name: (address, mapping)} of the needles found in the process's
    memory; also returns the octets read, so that a scan of nothing cannot pass."""
    found, total = {}, 0
    longest = max(len(n) for n in needles.values())
    fd = os.open("/proc/%d/mem" % pid, os.O_RDONLY)
    try:
        for lo, hi, name in scan_regions(pid):
            for a, b in present_runs(pid, lo, hi):
                tail, addr = b"", a
                while addr < b:
                    try:
                        data = os.pread(fd, min(1 << 22, b - addr), addr)
                    except OSError:   # raced with an munmap, or a guard page
                        data = b""
                    if not data:
                        break
                    buf = tail + data
                    for k, n in needles.items():
                        if k not in found:
                            i = buf.find(n)
                            if i >= 0:
                                found[k] = (addr - len(tail) + i, name)
                    total += len(data)
                    tail = buf[-(longest - 1):] if longest > 1 else b""
                    addr += len(data)
    finally:
        os.close(fd)
    return found, total


# -- show mirror statistics -----------------------------------------------------
# docs/capture-sources.md, "In the capture process": a source's `state` counter
SRC_UP, SRC_DOWN, SRC_MISSING, SRC_EOF = 1, 2, 3, 4


def mirror_stats(env):
    """`pmirrorctl show mirror statistics` (docs/control-protocol.md), with
    "by_source": {source: {counter: value}} made of its counter rows and
    "by_process": {"agent"|"capture": row} of its processes."""
    j = env.ctl_json("show", "mirror", "statistics")
    j["by_source"] = {}
    for c in j.get("counters", []):
        j["by_source"].setdefault(c["source"], {})[c["counter"]] = c["value"]
    j["by_process"] = {p["process"]: p for p in j.get("processes", [])}
    return j


class ProcModelCase(PmTestCase):
    def start(self, extra="", evtestd=True, trapd=True, snmpd=True):
        e = self.env
        if snmpd:
            e.start_snmpd()
        if trapd:
            e.start_snmptrapd()
        conf = "trapEnable true\n" + (e.trap_host() + "\n" if trapd else "") + extra
        if evtestd:
            e.start_evtestd(conf)
        else:
            e.start_pmirrord(conf)
        self.assertAlive()
        if snmpd:
            e.wait_registered()
        return ready_tree(e)

    def log_since(self, offset):
        return self.env.read_log("pmirrord")[offset:]

    def raise_and_receive(self, mid, timeout=20):
        """One SessionStart with mirror ID mid through the capture process's FIFO
        producer; returns once snmptrapd logged it."""
        e = self.env
        e.raise_event("trap=5 mid=%d sid=3" % mid)
        pat = re.compile(r"77\.3\.1\.1\.0 = Gauge32: %d\b" % mid)
        wait_for(lambda: any(pat.search(ln) for ln in e.trap_lines()), timeout,
                 what="the notification of mirror %d at snmptrapd" % mid)

    def agent_serves(self):
        """snmpget of juniPacketMirrorTrapEnable and a control-socket request both answer."""
        g = self.env.snmpget_v3(OID_TRAPENABLE, timeout=3.0)   # a loaded CI host is slow
        c = self.env.ctl("show", "version")
        return "INTEGER" in g.stdout and c.returncode == 0 and "pmirrord" in c.stdout


class TestProcessTree(ProcModelCase):
    def test_monitor_agent_capture_users_capabilities_sandbox(self):
        e = self.env
        t = self.start(evtestd=False)
        mon = t["monitor"]
        d = e.daemons["pmirrord"]
        self.assertEqual(mon, d.proc.pid, "the pidfile does not name the process started")
        self.assertEqual(sorted(children(mon)), sorted([t["agent"], t["capture"]]))
        for m in MODES:
            self.assertEqual(proc_status(t[m])["PPid"], [str(mon)], m)
            argv = cmdline(t[m])
            self.assertEqual(argv[1:3], ["--child", m], argv)
            self.assertEqual(argv[3:4], ["-f"], "a foreground monitor's child logs to stderr")

        # the monitor: root, everything it had
        st = proc_status(mon)
        self.assertEqual(st["Uid"], ["0"] * 4)
        self.assertNotEqual(int(st["CapEff"][0], 16), 0)

        # the children's accounts, or nobody where they do not exist (a build tree)
        log = e.read_log("pmirrord")
        for m in MODES:
            try:
                want = pwd.getpwnam(ACCOUNTS[m])
            except KeyError:
                want = pwd.getpwnam("nobody")
                self.assertRegex(log, r"user %s does not exist; running as nobody" %
                                 re.escape(ACCOUNTS[m]))
            st = proc_status(t[m])
            self.assertEqual(st["Uid"], [str(want.pw_uid)] * 4, m)
            self.assertEqual(st["Gid"], [str(want.pw_gid)] * 4, m)
            self.assertEqual(st["Groups"], [], m)
            self.assertEqual(int(st["CapInh"][0], 16), 0, m)
            self.assertEqual(int(st["CapAmb"][0], 16), 0, m)

        # capture: CAP_NET_RAW alone, no_new_privs, seccomp filter, not dumpable
        cap = t["capture"]
        wait_for(lambda: proc_status(cap)["Seccomp"] == ["2"], 10, what="seccomp on capture")
        st = proc_status(cap)
        for k in ("CapEff", "CapPrm", "CapBnd"):
            self.assertEqual(int(st[k][0], 16), CAP_NET_RAW, k)
        self.assertEqual(st["NoNewPrivs"], ["1"])
        self.assertEqual(st["Seccomp"], ["2"])
        # not dumpable: the kernel gives /proc/PID/mem to root, not to the process's user
        self.assertEqual(os.stat("/proc/%d/mem" % cap).st_uid, 0, "capture is dumpable")

        # agent: no capability, or CAP_IPC_LOCK alone where the monitor could not
        # raise RLIMIT_MEMLOCK to the configuration's figure (docs/memory-locking.md)
        agent = t["agent"]
        figure = memlock_figure(e.path("pmirrord.conf"))
        want = 0 if can_raise_memlock(figure) else CAP_IPC_LOCK
        st = proc_status(agent)
        self.assertEqual(int(st["CapEff"][0], 16), want, "agent CapEff (figure %d)" % figure)
        self.assertEqual(int(st["CapPrm"][0], 16), want, "agent CapPrm")
        self.assertEqual(st["NoNewPrivs"], ["1"], "agent no_new_privs")
        self.assertEqual(st["Seccomp"], ["0"], "the agent has no seccomp filter")
        self.assertEqual(os.stat("/proc/%d/mem" % agent).st_uid, 0, "agent is dumpable")
        # its memory is locked (the secure rings, the USM keys): in the agent now
        self.assertGreater(int(st["VmLck"][0]), 0, "agent memory not locked")

        # each child has the two channels of docs/process-model.md at fd 3 and 4
        for m in MODES:
            for fd in (3, 4):
                self.assertRegex(os.readlink("/proc/%d/fd/%d" % (t[m], fd)), r"^socket:\[\d+\]$",
                                 "%s fd %d" % (m, fd))

        # the daemon works as one: SNMP through the agent, the control socket
        self.assertTrue(self.agent_serves())

        # SIGTERM to the monitor stops both children, then it removes the control
        # socket (bound by the monitor, served by the agent) and the pidfile
        sock = e.path("run", "ctl.sock")
        self.assertTrue(os.path.exists(sock))
        self.assertEqual(e.stop("pmirrord"), 0)
        for m in MODES:
            self.assertIsNone(proc_state(t[m]), "%s outlived the monitor" % m)
        self.assertFalse(os.path.exists(sock))
        self.assertFalse(os.path.exists(d.pidfile))


class TestSecrets(ProcModelCase):
    def test_capture_memory_holds_no_usm_key_or_mirror_secret(self):
        """/proc/PID/mem of the capture process: no passphrase, no Ku or Kul of
        the trap host's user, no mirrorSecret hash; the agent's memory, scanned the
        same way, does hold them (else the scan proves nothing).  Both builds: the
        test build (ASan keeps freed memory readable in its quarantine) and the
        plain one (what ships)."""
        e = self.env
        e.start_snmpd()
        e.start_snmptrapd()
        needles = usm_needles(TRAP_USER)
        needles.update(secret_needles())
        default = pmtest.PM_EVTESTD
        self.addCleanup(setattr, pmtest, "PM_EVTESTD", default)
        builds = [pmtest.BUILD] + ([PLAIN] if PLAIN != pmtest.BUILD else [])
        for n, build in enumerate(builds):
            with self.subTest(build=build):
                pmtest.PM_EVTESTD = os.path.join(build, "pm_evtestd")
                e.start_evtestd("trapEnable true\nsecureLog on\n" + e.trap_host() + "\n")
                self.assertAlive()
                e.wait_registered()
                t = ready_tree(e)
                # a notification went out: the agent's USM user is in use
                self.raise_and_receive(11 + n)

                found, total = scan_memory(t["capture"], needles)
                self.assertGreater(total, 1 << 20, "read too little of the capture process")
                self.assertEqual(found, {}, "secrets in the capture process's memory")

                found, total = scan_memory(t["agent"], needles)
                self.assertIn("auth Kul (our engine)", found, "the agent's key not found: scan broken?")
                self.assertIn("priv Kul (our engine)", found)
                self.assertTrue({"mirrorSecret hash", "mirrorSecret hash text"} & set(found), found)

                # the monitor derives no key and wipes its copy of each slice once sent
                found, _ = scan_memory(t["monitor"], needles)
                self.assertEqual(found, {}, "secrets in the monitor's memory")
                self.assertEqual(e.stop("pmirrord"), 0)


class TestRestarts(ProcModelCase):
    def restarted(self, mode, pid, restarts):
        """The statistics once they show mode's new PID and its restart count, from
        the monitor (the process:MODE counters) and in the processes table."""
        def probe():
            j = mirror_stats(self.env)
            p = j["by_process"].get(mode, {})
            c = j["by_source"].get("process:" + mode, {})
            return j if p.get("pid") == pid and p.get("restarts") == restarts and \
                c.get("restarts") == restarts else None
        return wait_for(probe, 10, interval=0.2, what="%s restart %d, pid %d in show mirror "
                        "statistics" % (mode, restarts, pid))

    def test_capture_killed_is_restarted_while_the_agent_serves(self):
        e = self.env
        t = self.start()
        self.raise_and_receive(1)
        j = self.restarted("capture", t["capture"], 0)
        acks = j["trigger_acks"]
        self.assertGreaterEqual(acks, 1, "the first capture process acknowledged no table")
        offset = len(e.read_log("pmirrord"))
        os.kill(t["capture"], signal.SIGKILL)
        served = 0

        def replaced():
            nonlocal served
            # the agent answers SNMP and the control socket while capture is away
            # (the first round runs before the monitor's 1 s backoff has passed)
            self.assertTrue(self.agent_serves(), "the agent stopped serving")
            served += 1
            tt = tree(t["monitor"])
            return tt if tt is not None and tt["capture"] != t["capture"] else None
        t2 = wait_for(replaced, 30, interval=0.1, what="a new capture process")
        self.assertGreaterEqual(served, 1)
        self.assertEqual(t2["agent"], t["agent"], "the agent was restarted too")
        wait_for(lambda: re.search(r"capture process killed by SIGKILL; starting it again",
                                   self.log_since(offset)), 10, what="the monitor's log of the kill")
        self.restarted("capture", t2["capture"], 1)
        # the new capture process got the intercept table and acknowledged it
        wait_for(lambda: mirror_stats(e)["trigger_acks"] > acks, 10, what="a TRIGGER_ACK from the "
                 "new capture process")
        wait_for(lambda: mirror_stats(e)["by_source"].get("capture", {}).get("trigger_acks") == 1,
                 10, what="the new capture process's own count of tables acknowledged")
        # the death is in the secure trail (the mirror log), with its cause
        mlog = lambda: [r["entry"] for r in e.ctl_json("show", "mirror", "log").get("log_entries", [])]
        wait_for(lambda: any("capture process died (killed by SIGKILL)" in x for x in mlog()), 10,
                 what="the capture process's death in the mirror log")
        # the FIFO producer lives in the new capture process: events reach snmptrapd
        self.raise_and_receive(2)
        self.assertTrue(self.agent_serves())
        self.assertEqual(tree(t["monitor"]), {m: t2[m] for m in MODES})

    def test_agent_killed_is_restarted_and_registers_again(self):
        e = self.env
        t = self.start()
        self.raise_and_receive(1)
        offset = len(e.read_log("pmirrord"))
        os.kill(t["agent"], signal.SIGKILL)
        t2 = ready_tree(e, old={"agent": t["agent"]})
        self.assertEqual(t2["capture"], t["capture"], "the capture process was restarted too")
        wait_for(lambda: re.search(r"agent process killed by SIGKILL; starting it again",
                                   self.log_since(offset)), 10, what="the monitor's log of the kill")
        # registered with snmpd again (AgentX through the monitor), control socket served
        e.wait_registered(20)
        wait_for(lambda: e.ctl("show", "version").returncode == 0, 10, what="the control socket")
        j = self.restarted("agent", t2["agent"], 1)
        # the new agent's mirror log says what was lost with the old one
        mlog = [r["entry"] for r in e.ctl_json("show", "mirror", "log").get("log_entries", [])]
        self.assertTrue(any(x.startswith("agent process restarted (the previous one: killed by "
                                         "SIGKILL); the secure logs") for x in mlog), mlog)
        self.assertEqual(j["by_process"]["capture"]["pid"], t["capture"])
        self.assertEqual(j["by_process"]["capture"]["restarts"], 0)
        # the capture process talks to the new agent (peer-chan): events still arrive
        self.raise_and_receive(2)
        self.assertEqual(tree(t["monitor"]), {"agent": t2["agent"], "capture": t["capture"]})

    def test_seccomp_violation_kills_capture_with_sigsys_and_it_returns(self):
        e = self.env
        t = self.start()
        self.raise_and_receive(1)
        offset = len(e.read_log("pmirrord"))
        e.raise_event("violate=execve")
        t2 = ready_tree(e, old={"capture": t["capture"]})
        self.assertNotEqual(t2["capture"], t["capture"])
        self.assertEqual(t2["agent"], t["agent"])
        wait_for(lambda: re.search(r"capture process killed by SIGSYS; starting it again",
                                   self.log_since(offset)), 10, what="SIGSYS in the monitor's log")
        j = self.restarted("capture", t2["capture"], 1)
        # the cause is counted too (docs/process-model.md: `last cause: ...`)
        self.assertEqual(j["by_source"]["process:capture"].get("last cause: killed by SIGSYS"), 1,
                         j["by_source"]["process:capture"])
        # the new one is sandboxed as the first was, and its producer works
        wait_for(lambda: proc_status(t2["capture"])["Seccomp"] == ["2"], 10, what="seccomp")
        self.raise_and_receive(2)
        # a frame written to a capture socket (raw injection): killed the same way
        offset = len(e.read_log("pmirrord"))
        e.raise_event("violate=inject")
        t3 = ready_tree(e, old={"capture": t2["capture"]})
        self.assertNotEqual(t3["capture"], t2["capture"])
        wait_for(lambda: re.search(r"capture process killed by SIGSYS; starting it again",
                                   self.log_since(offset)), 15, what="SIGSYS after the injection")


INJECT = r"""
import socket, struct, sys
data = open(sys.argv[1], "rb").read()
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((sys.argv[2], 0))
off = 24
while off < len(data):
    incl = struct.unpack("<IIII", data[off:off + 16])[2]
    s.send(data[off + 16:off + 16 + incl])
    off += 16 + incl
"""


class TestCaptureSources(ProcModelCase):
    # the namespaces and veths of test_capsrc.py
    _teardown = capsrc.CaptureSources._teardown
    veth = capsrc.CaptureSources.veth
    link_up = capsrc.CaptureSources.link_up

    def setUp(self):
        capsrc.CaptureSources.setUp(self)   # its cleanup runs after the daemons stop
        super().setUp()

    def write_traffic(self, path):
        """The frames of one subscriber's start, written by scapy: RADIUS
        Access-Request and Access-Accept, DHCP Discover and Offer, RADIUS in an
        802.1Q and in a QinQ (802.1ad + 802.1Q) frame, a PPPoE session frame
        carrying IPv4/UDP.  Unicast frames go to a MAC that is not a0's, so the
        capture side's stack drops them without an answer (no extra frames)."""
        from scapy.all import BOOTP, DHCP, IP, PPP, UDP, Dot1AD, Dot1Q, Ether, PPPoE, Raw, wrpcap
        from scapy.layers.radius import Radius, RadiusAttribute
        nas, srv, sub, other = "02:00:00:00:00:0b", "02:00:00:00:00:0a", "02:00:00:00:00:0c", \
            "02:00:00:00:00:0d"
        user = [RadiusAttribute(type=1, value=b"procmodel-sub")]

        def radius(code, rid, sport, dport, *tags):
            l2 = Ether(src=nas, dst=srv)
            for tag in tags:
                l2 = l2 / tag
            return (l2 / IP(src="198.18.0.2", dst="198.18.0.9") / UDP(sport=sport, dport=dport) /
                    Radius(code=code, id=rid, authenticator=bytes(range(16)), attributes=user))

        def dhcp(kind, src, dst, sport, dport):
            return (Ether(src=sub if sport == 68 else other, dst="ff:ff:ff:ff:ff:ff") /
                    IP(src=src, dst=dst) / UDP(sport=sport, dport=dport) /
                    BOOTP(op=1 if sport == 68 else 2, chaddr=bytes.fromhex("02000000000c")) /
                    DHCP(options=[("message-type", kind), "end"]))
        frames = [
            radius(1, 1, 40000, 1812),
            radius(2, 1, 1812, 40000),
            dhcp("discover", "0.0.0.0", "255.255.255.255", 68, 67),
            dhcp("offer", "198.18.0.9", "255.255.255.255", 67, 68),
            radius(1, 2, 40001, 1812, Dot1Q(vlan=100)),
            radius(4, 3, 40002, 1813, Dot1AD(vlan=200), Dot1Q(vlan=300)),
            Ether(src=sub, dst=other, type=0x8864) / PPPoE(sessionid=0x1234) / PPP(proto=0x0021) /
            IP(src="198.18.0.12", dst="198.18.0.13") / UDP(sport=5000, dport=5001) / Raw(b"z" * 40),
        ]
        wrpcap(path, frames)
        # radius and dhcp as the decoder should count them
        return {"packets": len(frames), "radius": 4, "dhcp": 2}

    def inject(self, pcap, iface):
        """The pcap's frames, in order, on iface in namespace B (AF_PACKET, as is)."""
        capsrc.run("ip", "netns", "exec", self.nsb, capsrc.PY, "-c", INJECT, pcap, iface)

    def source_stats(self, name):
        return mirror_stats(self.env)["by_source"].get("src:" + name, {})

    def test_live_and_pcap_sources_agree_and_a_deleted_interface_returns(self):
        e = self.env
        pcap = e.path("traffic.pcap")
        want = self.write_traffic(pcap)
        self.veth(0)
        e.start_snmpd()
        # the daemon in namespace A: a0 is its interface; the AgentX and control
        # sockets are files, the same in every namespace
        e.netns = self.nsa
        e.start_evtestd("capture a0 role signalling\ncapture pcap:%s\n" % pcap)
        self.assertAlive()
        e.wait_registered()
        ready_tree(e)
        live, offline = "a0", "pcap:" + pcap
        keys = ("packets", "radius", "dhcp", "malformed", "duplicates")

        def counters(name):
            st = self.source_stats(name)
            return {k: st[k] for k in keys if k in st}

        def digest():
            return mirror_stats(e)["by_source"].get("capture", {}).get("sig_digest")
        wait_for(lambda: self.source_stats(offline).get("state") == SRC_EOF, 20,
                 what="the pcap file read to its end")
        st = self.source_stats(offline)
        self.assertEqual(st["offset"], st["size"])
        self.assertEqual(st["size"], os.path.getsize(pcap))
        wait_for(lambda: self.source_stats(live).get("state") == SRC_UP, 20, what="a0 up")
        # the digest of the signalling packets (test builds) after the file alone
        one = wait_for(digest, 10, what="sig_digest")
        self.assertNotEqual(one, 0)
        self.inject(pcap, "b0")
        wait_for(lambda: counters(live).get("packets", 0) >= want["packets"], 20,
                 what="the frames on a0")
        wait_for(lambda: counters(live) == counters(offline), 5,
                 what="the same counters: %s / %s" % (counters(live), counters(offline)))
        self.assertEqual(counters(live), dict(want, malformed=0, duplicates=0))
        # the same signalling records: addresses, ports and payloads of each packet
        # (one FNV-1a per packet, summed) from the wire as from the file
        wait_for(lambda: digest() == 2 * one % (1 << 64), 5,
                 what="the live packets' digest to equal the file's")
        done = counters(offline)

        # a0 deleted: noticed, in the mirror log; the pcap source's counters intact
        capsrc.run("ip", "-n", self.nsa, "link", "del", "a0")
        wait_for(lambda: self.source_stats(live).get("state") == SRC_DOWN, 10, what="a0 down")
        wait_for(lambda: [x for x in self.mirror_log() if re.search(r"\bsource a0 down\b", x)], 10,
                 what="a0 down in the mirror log")
        self.assertEqual(counters(offline), done)
        self.assertEqual(self.source_stats(offline)["state"], SRC_EOF)
        self.assertAlive()

        # re-created: capture resumes by itself
        self.veth(0)
        wait_for(lambda: self.source_stats(live).get("state") == SRC_UP, 20, what="a0 up again")
        self.inject(pcap, "b0")
        wait_for(lambda: counters(live).get("packets", 0) >= 2 * want["packets"], 20,
                 what="capture to resume on a0")
        wait_for(lambda: counters(live)["radius"] == 2 * want["radius"], 5, what="radius counted")
        self.assertEqual(counters(live)["packets"], 2 * want["packets"])
        self.assertEqual(self.source_stats(live)["reopens"], 1)
        self.assertEqual(counters(offline), done)
        self.assertTrue([x for x in self.mirror_log() if re.search(r"\bsource a0 up\b", x)],
                        self.mirror_log())

        # a restarted capture process does not read the file again (once per daemon
        # lifetime: the monitor opened it for the first start only); it captures a0
        t = ready_tree(e)
        os.kill(t["capture"], signal.SIGKILL)
        ready_tree(e, old={"capture": t["capture"]})
        wait_for(lambda: self.source_stats(offline).get("state") == SRC_EOF and
                 self.source_stats(live).get("state") == SRC_UP and
                 mirror_stats(e)["capture_restarts_seen"] == 1, 20,
                 what="the new capture process's sources")
        self.assertEqual(self.source_stats(offline).get("packets"), 0)
        self.inject(pcap, "b0")
        wait_for(lambda: counters(live).get("packets", 0) >= want["packets"], 20,
                 what="the frames on a0 in the new capture process")
        # its digest is the file's digest: the same signalling records, live
        wait_for(lambda: digest() == one, 5, what="the new process's digest to equal the file's")
        self.assertEqual(counters(live), dict(want, malformed=0, duplicates=0))

    def mirror_log(self):
        return [r["entry"] for r in self.env.ctl_json("show", "mirror", "log").get("log_entries", [])]


if __name__ == "__main__":
    unittest.main()
