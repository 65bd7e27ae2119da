"""pmtest - harness for pmirrord integration tests.

Every test gets a private directory with its own snmpd (AgentX master on a
unix socket in that directory, 127.0.0.1 on an unprivileged port, fixed
engineID, private persistent directory), its own snmptrapd when needed, and
its own pmirrord.  Daemons are stopped by the PID in their pidfile; nothing
else is ever signalled.  Waiting is done with poll loops, never fixed sleeps.
"""
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest

SRC = os.environ.get("PM_SOURCE_DIR", os.path.abspath(os.path.join(os.path.dirname(__file__), "../..")))
BUILD = os.environ.get("PM_BUILD_DIR", os.path.join(SRC, "build"))
PMIRRORD = os.path.join(BUILD, "pmirrord")
PMIRRORCTL = os.path.join(BUILD, "pmirrorctl")

OID_TRAPENABLE = "1.3.6.1.4.1.4874.2.2.77.2.1.0"
OID_MIRROR_MIB = "1.3.6.1.4.1.4874.2.2.77"
OID_SYSUPTIME = "1.3.6.1.2.1.1.3.0"
OID_SYSOR_ID = "1.3.6.1.2.1.1.9.1.2"

MASTER_ENGINE = "0x80001f8804706d2d6d6173746572"   # "pm-master"
AGENT_ENGINE = "0x80001f8804706d2d6167656e74"      # "pm-agent"
TRAPD_ENGINE = "0x80001f8804706d2d7472617064"      # "pm-trapd"

ADMIN = ("mirrorAdmin", "SHA-256", "admin-auth-pass", "AES", "admin-priv-pass")
OPS = ("opsUser", "SHA-256", "ops-auth-pass")


def free_udp_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_for(pred, timeout, interval=0.05, what="condition"):
    """Poll pred() until it returns a true value or timeout seconds pass."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %.1fs waiting for %s" % (timeout, what))
        time.sleep(interval)


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie child still "exists"; reap it if it is ours
    try:
        wpid, _ = os.waitpid(pid, os.WNOHANG)
        if wpid == pid:
            return False
    except ChildProcessError:
        pass
    return True


class Daemon:
    def __init__(self, name, argv, env, pidfile, log, proc):
        self.name, self.argv, self.env, self.pidfile, self.log, self.proc = name, argv, env, pidfile, log, proc

    def pid(self):
        try:
            with open(self.pidfile) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return None

    def alive(self):
        return self.proc.poll() is None

    def stop(self, sig=signal.SIGTERM, timeout=10):
        pid = self.pid() or self.proc.pid
        if self.proc.poll() is None:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.kill(pid, signal.SIGKILL)
                self.proc.wait(5)
        return self.proc.returncode


# An ID as a log would show it: "mid=7", "mirror 7", "mirror ID 7", "session-id: 7",
# "SessionIdentifier 7", "...MirrorIdentifier.0 = Gauge32: 7" (not any bare number: counts, ports and pids are numbers too).
LABELED_ID = re.compile(r"(?i)(?:\b(?:[ms]id|id|mirror|session)|identifier)(?:[ _-]?id(?:entifier)?)?"
                        r"(?:\.0\s*=\s*(?:Gauge32|Unsigned32):)?\s*[=:#]?\s*(\d+)\b")


class Env:
    """A private world: directory, snmpd, snmptrapd, pmirrord."""

    def __init__(self, testcase):
        self.tc = testcase
        self.dir = tempfile.mkdtemp(prefix="pmtest.")
        os.chmod(self.dir, 0o755)
        self.daemons = {}
        # A network namespace the test created: daemons started from now on run in it
        # ("ip netns exec" execs the daemon, so pidfile and Popen PIDs stay the daemon's).
        self.netns = None
        # Strings that identify subscribers, triggers, analyzers or mirror IDs in
        # this test: they must never reach pmirrord's ordinary log or snmpd's log.
        self.secrets = set()
        # Mirror and session IDs of the events this test raised (note_event()):
        # numbers, so they count as leaked where a log names them as IDs.
        self.secret_ids = set()
        self.agentx = os.path.join(self.dir, "agentx.sock")
        self.snmp_port = free_udp_port()
        self.trap_port = free_udp_port()
        self._ietf = os.environ.get("PM_IETF_MIBDIR") or os.path.join(SRC, ".deps/node_modules/net-snmp/lib/mibs")
        for d in ("master/etc", "master/persist", "agent/persist", "trapd/etc", "trapd/persist", "run", "logs"):
            os.makedirs(os.path.join(self.dir, d), exist_ok=True)
        self.tool_env = dict(os.environ, MIBS="", SNMP_PERSISTENT_DIR=os.path.join(self.dir, "tools"),
                             SNMPCONFPATH=os.path.join(self.dir, "tools"), HOME=self.dir)

    def path(self, *p):
        return os.path.join(self.dir, *p)

    @property
    def ietf(self):
        """The IETF base MIB text (SNMPv2-SMI...) for tests that load MIB modules."""
        d = self._ietf
        if not any(os.path.isfile(os.path.join(d, "SNMPv2-SMI" + ext)) for ext in ("", ".txt", ".mib")):
            raise AssertionError("IETF MIB text missing at %s: run scripts/deps" % d)
        return d

    def note_event(self, line):
        """Records the mirror and session IDs of an event line (pm_evtestd syntax)."""
        kv = dict(w.split("=", 1) for w in line.split() if "=" in w)
        if "mid" in kv:
            mid, count = int(kv["mid"]), int(kv.get("count", "1"))
            self.secret_ids.update(range(mid, mid + count))   # pm_evtestd: mid + 1 per copy
        if "sid" in kv:
            self.secret_ids.add(int(kv["sid"]))

    def leaked_ids(self, text):
        """Recorded IDs that the text shows as an ID: after mid/sid/id, mirror,
        session or identifier, with or without "=", ":" or "#"."""
        return sorted({int(m.group(1)) for m in LABELED_ID.finditer(text)} & self.secret_ids)

    def cleanup(self):
        for name in list(self.daemons):
            self.stop(name)
        leaks = []
        for log in ("pmirrord.out", "snmpd.log", "snmpd.out"):
            p = self.path("logs", log)
            if os.path.exists(p):
                text = read_text(p)
                leaks += ["%s in %s" % (s, log) for s in self.secrets if s in text]
                leaks += ["ID %d in %s" % (i, log) for i in self.leaked_ids(text)]
        if leaks:
            keep = self.dir
            raise AssertionError("intercept data reached an ordinary log: %s (kept %s)" % (leaks, keep))
        if os.environ.get("PM_KEEP_TMP"):
            print("kept", self.dir)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)

    # -- processes ---------------------------------------------------------
    def _spawn(self, name, argv, env=None, stdout_log=True):
        log = self.path("logs", name + ".out")
        out = open(log, "ab")
        if self.netns:
            argv = ["ip", "netns", "exec", self.netns, *argv]
        proc = subprocess.Popen(argv, env=env or os.environ.copy(), stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)
        out.close()
        pidfile = self.path("run", name + ".pid")
        d = Daemon(name, argv, env, pidfile, log, proc)
        self.daemons[name] = d
        return d

    def stop(self, name, sig=signal.SIGTERM):
        d = self.daemons.pop(name, None)
        if d is None:
            return None
        return d.stop(sig)

    def read_log(self, name):
        with open(self.path("logs", name + ".out"), "rb") as f:
            return f.read().decode("utf-8", "replace")

    # -- snmpd --------------------------------------------------------------
    def write_snmpd_conf(self, extra=""):
        vacm = os.path.join(SRC, "examples", "snmpd-pmirrord.conf")
        conf = f"""agentAddress udp:127.0.0.1:{self.snmp_port}
master agentx
agentXSocket {self.agentx}
agentXPerms 0660 0755
agentXTimeout 1
agentXRetries 1
exactEngineID {MASTER_ENGINE}
createUser {ADMIN[0]} {ADMIN[1]} "{ADMIN[2]}" {ADMIN[3]} "{ADMIN[4]}"
createUser {OPS[0]} {OPS[1]} "{OPS[2]}"
sysLocation pmtest
includeFile {vacm}
{extra}
"""
        with open(self.path("master/etc/snmpd.conf"), "w") as f:
            f.write(conf)

    def start_snmpd(self, extra="", wait=True):
        if not os.path.exists(self.path("master/etc/snmpd.conf")):
            self.write_snmpd_conf(extra)
        env = dict(os.environ, MIBS="", SNMPCONFPATH=self.path("master/etc") + ":" + self.path("master/persist"),
                   SNMP_PERSISTENT_DIR=self.path("master/persist"))
        self.snmpd_netns = self.netns
        d = self._spawn("snmpd", ["/usr/sbin/snmpd", "-f", "-A", "-Lf", self.path("logs", "snmpd.log"),
                                  "-p", self.path("run", "snmpd.pid")], env)
        if wait:
            wait_for(lambda: self.snmpget_v3(OID_SYSUPTIME, timeout=0.3).returncode == 0, 20,
                     what="snmpd to answer")
        return d

    # -- pmirrord ------------------------------------------------------------
    def pmirrord_conf(self, extra="", ping=2):
        return f"""# pmtest configuration
agentXSocket {self.agentx}
agentXPingInterval {ping}
persistentDir {self.path('agent/persist')}
engineId {AGENT_ENGINE}
controlSocket {self.path('run', 'ctl.sock')}
mirrorSecret {secret_hash()}
{extra}
"""

    def start_pmirrord(self, extra="", ping=2, conf_text=None, args=()):
        path = self.path("pmirrord.conf")
        with open(path, "w") as f:
            f.write(conf_text if conf_text is not None else self.pmirrord_conf(extra, ping))
        os.chmod(path, 0o600)
        return self._spawn("pmirrord", [PMIRRORD, "-f", "-c", path, "-p", self.path("run", "pmirrord.pid"),
                                        *args])

    def wait_registered(self, timeout=15):
        wait_for(lambda: "INTEGER" in self.snmpget_v3(OID_TRAPENABLE, timeout=0.3).stdout, timeout,
                 what="pmirrord to register with snmpd")

    # -- Net-SNMP command line tools ------------------------------------------
    def _tool(self, argv, timeout=1.0, retries=0):
        full = [argv[0], "-t", str(timeout), "-r", str(retries), "-On", *argv[1:]]
        ns = getattr(self, "snmpd_netns", None)
        if ns:   # the tools ask snmpd where it runs
            full = ["ip", "netns", "exec", ns, *full]
        return subprocess.run(full, env=self.tool_env, capture_output=True, text=True, timeout=60)

    def v3_admin_args(self, level="authPriv"):
        a = ["-v3", "-l", level, "-u", ADMIN[0], "-a", ADMIN[1], "-A", ADMIN[2]]
        if level == "authPriv":
            a += ["-x", ADMIN[3], "-X", ADMIN[4]]
        return a

    def target(self):
        return "udp:127.0.0.1:%d" % self.snmp_port

    def snmpget_v3(self, oid, timeout=1.0, level="authPriv"):
        return self._tool(["snmpget", *self.v3_admin_args(level), self.target(), oid], timeout)

    def snmpset_v3(self, oid, typ, value, timeout=1.0):
        return self._tool(["snmpset", *self.v3_admin_args(), self.target(), oid, typ, value], timeout)

    def snmpget_ops(self, oid):
        return self._tool(["snmpget", "-v3", "-l", "authNoPriv", "-u", OPS[0], "-a", OPS[1], "-A", OPS[2],
                           self.target(), oid])

    def snmpset_ops(self, oid, typ, value):
        return self._tool(["snmpset", "-v3", "-l", "authNoPriv", "-u", OPS[0], "-a", OPS[1], "-A", OPS[2],
                           self.target(), oid, typ, value])

    def snmpget_v2c(self, oid):
        return self._tool(["snmpget", "-v2c", "-c", "public", self.target(), oid])

    def snmpset_v2c(self, oid, typ, value):
        return self._tool(["snmpset", "-v2c", "-c", "public", self.target(), oid, typ, value])

    def snmpwalk_v3(self, oid):
        return self._tool(["snmpwalk", *self.v3_admin_args(), self.target(), oid], 1.0)


class PmTestCase(unittest.TestCase):
    """Base class: self.env is a fresh Env, torn down after each test."""

    def setUp(self):
        for exe in (PMIRRORD, "/usr/sbin/snmpd", "/usr/bin/snmpget"):
            if not os.access(exe, os.X_OK):
                self.fail("missing %s (CI must not skip: install it)" % exe)
        self.env = Env(self)
        self.addCleanup(self.env.cleanup)

    def assertAlive(self, name="pmirrord"):
        d = self.env.daemons.get(name)
        self.assertIsNotNone(d, name + " was not started")
        self.assertTrue(d.alive(), "%s exited (rc %s); log:\n%s" % (name, d.proc.returncode,
                                                                    self.env.read_log(name)[-3000:]))


def read_text(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        return f.read()


# -- notifications --------------------------------------------------------------
TRAP_USER = ("trapUser", "SHA-256", "trap-auth-pass", "AES", "trap-priv-pass")
PM_EVTESTD = os.path.join(BUILD, "pm_evtestd")
MIB_PREFIX = "1.3.6.1.4.1.4874.2.2.77"


def trapd_conf(port, engine=TRAPD_ENGINE, users=(TRAP_USER,), sender_engine=AGENT_ENGINE, extra=""):
    lines = [f"snmpTrapdAddr udp:127.0.0.1:{port}", f"exactEngineID {engine}"]
    for u in users:
        name, a, ap, p, pp = u
        lines.append(f'createUser -e {sender_engine} {name} {a} "{ap}" {p} "{pp}"')   # TRAPs from pmirrord
        lines.append(f'createUser {name} {a} "{ap}" {p} "{pp}"')                       # INFORMs
        lines.append(f"authUser log {name} priv")
    # one line per notification: security model, then every varbind as OID|type|value
    lines.append("format2 RX %P|%V|%v\\n")
    lines.append("outputOption nQ" if False else "")
    return "\n".join(lines) + "\n" + extra


def _env_trapd(self, name="snmptrapd", port=None, conf=None):
    port = port or self.trap_port
    etc = self.path(name, "etc")
    persist = self.path(name, "persist")
    os.makedirs(etc, exist_ok=True)
    os.makedirs(persist, exist_ok=True)
    with open(os.path.join(etc, "snmptrapd.conf"), "w") as f:
        f.write(conf if conf is not None else trapd_conf(port))
    env = dict(os.environ, MIBS="", SNMPCONFPATH=etc + ":" + persist, SNMP_PERSISTENT_DIR=persist)
    log = self.path("logs", name + ".log")
    d = self._spawn(name, ["/usr/sbin/snmptrapd", "-f", "-X", "-A", "-On", "-Lf", log,
                           "-p", self.path("run", name + ".pid")], env)
    wait_for(lambda: os.path.exists(log) and "NET-SNMP version" in read_text(log), 20,
             what=name + " to start")
    return d


HEX_CONTINUATION = re.compile(r"^([0-9A-F]{2} )+")


def _env_trap_lines(self, name="snmptrapd"):
    """One string per received notification (Net-SNMP breaks long Hex-STRINGs over lines)."""
    log = self.path("logs", name + ".log")
    if not os.path.exists(log):
        return []
    out = []
    for l in read_text(log).splitlines():
        if l.startswith("RX "):
            out.append(l)
        elif out and HEX_CONTINUATION.match(l):
            out[-1] += " " + l
    return out


def _env_start_evtestd(self, extra="", ping=2):
    fifo = self.path("run", "events.fifo")
    if not os.path.exists(fifo):
        os.mkfifo(fifo)
    path = self.path("pmirrord.conf")
    with open(path, "w") as f:
        f.write(self.pmirrord_conf(extra, ping))
    os.chmod(path, 0o600)   # pmirrord refuses a configuration others can read
    env = dict(os.environ, PM_EVTEST_FIFO=fifo)
    logp = self.path("logs", "pmirrord.out")
    offset = os.path.getsize(logp) if os.path.exists(logp) else 0
    argv_extra = ["-D", os.environ["PM_DEBUG"]] if os.environ.get("PM_DEBUG") else []
    d = self._spawn("pmirrord", [PM_EVTESTD, "-f", "-c", path, "-p", self.path("run", "pmirrord.pid"), *argv_extra], env)
    wait_for(lambda: "evtest: reading events" in self.read_log("pmirrord")[offset:] or not d.alive(), 30,
             what="pm_evtestd to start")
    return d


def _env_raise(self, line):
    """Write event lines to the FIFO (the daemon's reader keeps it open between writes)."""
    for l in line.splitlines():
        self.note_event(l)
    fifo = self.path("run", "events.fifo")
    fd = os.open(fifo, os.O_WRONLY)
    try:
        os.write(fd, (line.rstrip("\n") + "\n").encode())
    finally:
        os.close(fd)


def _env_trap_host(self, port=None, user=TRAP_USER, extra=""):
    port = port or self.trap_port
    name, a, ap, p, pp = user
    return f"trapHost 127.0.0.1:{port} user {name} auth {a} {ap} priv {p} {pp} {extra}"


Env.start_snmptrapd = _env_trapd
Env.trap_lines = _env_trap_lines
Env.start_evtestd = _env_start_evtestd
Env.raise_event = _env_raise
Env.trap_host = _env_trap_host


# -- control socket ---------------------------------------------------------------
MIRROR_SECRET = "mirror-secret-for-tests"
_hash_cache = {}


def secret_hash(secret=MIRROR_SECRET):
    """A mirrorSecret line value, made by pmirrorctl itself (few iterations: tests only)."""
    if secret not in _hash_cache:
        r = subprocess.run([PMIRRORCTL, "hash-secret", "1000"], input=secret + "\n", capture_output=True,
                           text=True, timeout=60)
        if r.returncode != 0:
            raise AssertionError("hash-secret failed: " + r.stderr)
        _hash_cache[secret] = r.stdout.strip()
    return _hash_cache[secret]


def passphrases_to_stdin(words):
    """pmirrorctl takes no passphrase from argv: trap-host add's "auth PROTO PASS" and
    "priv PROTO PASS" become "... PROTO -", and the passphrases go to stdin, in order."""
    words, passes = list(words), []
    if words[:2] == ["trap-host", "add"]:
        for i in range(3, len(words) - 2):
            if words[i].lower() in ("auth", "priv") and words[i + 2] != "-":
                passes.append(words[i + 2])
                words[i + 2] = "-"
    return words, passes


def _env_ctl(self, *words, secret=None, json_out=False, user=None, sock=None):
    argv = [PMIRRORCTL, "-s", sock or self.path("run", "ctl.sock")]
    if json_out:
        argv.append("--json")
    if getattr(self, "server_user", None):   # a daemon that runs as that user, not root
        argv += ["--server-user", self.server_user]
    if secret is not None:
        argv.append("-e")
    words, passes = passphrases_to_stdin(words)
    argv += words
    if user is not None:
        argv = ["setpriv", *user, "--", *argv]
    lines = ([secret] if secret is not None else []) + passes
    r = subprocess.run(argv, input="".join(l + "\n" for l in lines) if lines else None, capture_output=True,
                       text=True, timeout=60)
    return r


def _env_ctl_json(self, *words, secret=MIRROR_SECRET):
    import json
    r = self.ctl(*words, secret=secret, json_out=True)
    if r.returncode != 0:
        raise AssertionError("pmirrorctl %s failed (%d): %s %s" % (" ".join(words), r.returncode, r.stdout,
                                                                    r.stderr))
    return json.loads(r.stdout)


Env.ctl = _env_ctl
Env.ctl_json = _env_ctl_json


class CtlConn:
    """The control protocol spoken directly (docs/control-protocol.md, Framing):
    no pmirrorctl in between, so the peer is this process."""

    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(60)
        self.s.connect(path)
        self.buf = b""
        st, _ = self.frame()
        if st != "HELLO":
            raise AssertionError("no greeting: " + st)

    def frame(self):
        """(status, body) of the next response."""
        while b"\n" not in self.buf:
            self._more()
        hdr, self.buf = self.buf.split(b"\n", 1)
        status, n = hdr.decode().split(" ")
        while len(self.buf) < int(n):
            self._more()
        body, self.buf = self.buf[:int(n)], self.buf[int(n):]
        return status, body.decode()

    def _more(self):
        d = self.s.recv(1 << 16)
        if not d:
            raise AssertionError("control connection closed")
        self.buf += d

    def request(self, line):
        self.s.sendall(line.encode() + b"\n")
        return self.frame()

    def close(self):
        self.s.close()
