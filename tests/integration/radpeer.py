"""radpeer - real RADIUS peers for pmirrord's integration tests, all on the
loopback of a network namespace the test creates.

- Netns: a fresh network namespace with lo up (and IPv6 on), the addresses a
  test needs added to lo (127.0.0.0/8 is local already; subscribers get
  198.18.0.0/15 addresses and 2001:2::/48 prefixes, the IPv4 and IPv6
  benchmarking ranges of RFC 2544 and RFC 5180).  Deleted at cleanup; nothing
  it holds can reach another network.
- RadiusServer: FreeRADIUS 3.2 (Debian's freeradius) with a minimal private
  configuration written from scratch (no /etc/freeradius, no EAP, no proxy,
  listeners on 127.0.0.1 only, Access-Reject without reply items), started
  in the namespace, ready when it says so, stopped by its PID.
- radclient helpers for Access-Request, Accounting-Request (Start, Interim,
  Stop), CoA-Request and Disconnect-Request, each sent from a chosen
  127.0.0.x source (Packet-Src-IP-Address).
- FakeNas: the NAS's RFC 5176 dynamic-authorization server on 127.0.0.2:3799,
  bounded in time, answering CoA-ACK/Disconnect-ACK (or NAK) with correct
  Response Authenticators and silently discarding requests whose Request
  Authenticator does not verify (RFC 5176 section 3.5); it logs every request
  octet for octet, so a test can replay one.
- JmListener: UDP sockets on analyzer addresses (127.0.0.x) collecting every
  datagram, decoded as jmirror (docs/jmirror.md: 2-bit version, 30-bit mirror
  ID, 32-bit session ID, then the mirrored IP packet).
- send_udp(): datagrams from and to a subscriber's address, inside the
  namespace, so that `capture lo` sees them.

Behaviour relied on (FreeRADIUS 3.2.1, Debian 12): `freeradius -f -l stdout`
prints "Ready to process requests" once its sockets are bound and stops within
a fraction of a second on SIGTERM; an Access-Reject carries no reply item
only because of the Post-Auth-Type REJECT block below; radclient exits 0 when
the expected answer came with a verifying authenticator and 1 otherwise
(reject, NAK, no answer, wrong secret), and "Response-Packet-Type =
Access-Reject" makes a reject the expected answer; `Packet-Src-IP-Address`
binds radclient to that source.

Every process is started by this module and stopped by its PID; every wait
is a poll (pmtest.wait_for).  The RADIUS facts relied on (ERX VSAs 26-58..61
salt-encrypted with the Access-Request's authenticator in an Access-Accept
and with 16 zero octets in CoA and Disconnect requests) are in docs/radius.md.
"""
import os
import re
import signal
import struct
import subprocess
import time

import pmtest

PY = "/usr/bin/python3"
FREERADIUS = "/usr/sbin/freeradius"
RADCLIENT = "/usr/bin/radclient"
SECRET = "li-test-secret"
AUTH_PORT, ACCT_PORT, COA_PORT = 21812, 21813, 3799
SERVER = "127.0.0.1"      # the RADIUS server, and the CoA sender
NAS = "127.0.0.2"         # the NAS: RADIUS client, dynamic-authorization server
ANALYZER = "127.0.0.3"    # mediation devices (analyzers)


def run(argv, check=True, **kw):
    r = subprocess.run(argv, capture_output=True, text=True, timeout=60, **kw)
    if check and r.returncode != 0:
        raise AssertionError("%s failed (%d): %s%s" % (" ".join(argv), r.returncode, r.stdout, r.stderr))
    return r


def stop_pid(proc, sig=signal.SIGTERM, timeout=10):
    """Stops a process this module started (proc: its Popen), by its PID."""
    if proc is None or proc.poll() is not None:
        return None if proc is None else proc.returncode
    try:
        os.kill(proc.pid, sig)
    except ProcessLookupError:
        pass
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(5)
    return proc.returncode


# -- the namespace -------------------------------------------------------------
class Netns:
    """A network namespace of the test's own: lo up, IPv6 on lo, addresses added."""

    def __init__(self, tag="pmrad"):
        self.name = "%s-%d-%d" % (tag, os.getpid(), int(time.monotonic() * 1000) % 1000000)
        run(["ip", "netns", "add", self.name])
        try:
            run(["ip", "netns", "exec", self.name, "sysctl", "-q", "-w", "net.ipv6.conf.lo.disable_ipv6=0"],
                check=False)
            run(["ip", "-n", self.name, "link", "set", "lo", "up"])
        except Exception:
            self.delete()
            raise

    def exec_argv(self, argv):
        return ["ip", "netns", "exec", self.name, *argv]

    def add_address(self, cidr):
        """An address on lo: 198.18.x.y/32, or an IPv6 /128 (nodad: usable at once)."""
        extra = ["nodad"] if ":" in cidr else []
        run(["ip", "-n", self.name, "addr", "add", cidr, "dev", "lo", *extra])

    def run(self, argv, check=True, **kw):
        return run(self.exec_argv(argv), check=check, **kw)

    def popen(self, argv, log):
        out = open(log, "ab")
        try:
            # ip netns exec execs the program: the Popen PID is the program's own
            return subprocess.Popen(self.exec_argv(argv), stdout=out, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL)
        finally:
            out.close()

    def delete(self):
        subprocess.run(["ip", "netns", "del", self.name], stderr=subprocess.DEVNULL)


# -- FreeRADIUS -------------------------------------------------------------------
RADIUSD_CONF = """\
prefix = /usr
exec_prefix = /usr
sysconfdir = /etc
localstatedir = /var
sbindir = /usr/sbin
libdir = /usr/lib/freeradius
name = freeradius
logdir = ${{confdir}}/log
run_dir = ${{confdir}}/run
radacctdir = ${{logdir}}/radacct
pidfile = ${{run_dir}}/${{name}}.pid
max_request_time = 30
cleanup_delay = 5
max_requests = 1024
hostname_lookups = no
proxy_requests = no

log {{
	destination = files
	file = ${{logdir}}/radius.log
	auth = yes
}}

security {{
	max_attributes = 200
	reject_delay = 0
	status_server = yes
}}

{clients}
modules {{
	pap {{
	}}
	files {{
		filename = ${{confdir}}/users
	}}
	detail {{
		filename = ${{radacctdir}}/detail
		permissions = 0600
	}}
}}

server default {{
	listen {{
		type = auth
		ipaddr = {server}
		port = {auth}
	}}
	listen {{
		type = acct
		ipaddr = {server}
		port = {acct}
	}}
	authorize {{
		files
		pap
	}}
	authenticate {{
		Auth-Type PAP {{
			pap
		}}
	}}
	preacct {{
	}}
	accounting {{
		detail
	}}
	post-auth {{
		# An Access-Reject carries no reply item of the users file.
		Post-Auth-Type REJECT {{
			update {{
				&reply: !* ANY
			}}
		}}
	}}
}}
"""


def li_vsas(mid, sid=None, analyzer=ANALYZER, port=30030, action="on"):
    """The ERX LI VSAs as FreeRADIUS reply/request items.  sid=None: the 4-byte
    handle (top bits 01, domain.md: the session ID then comes from
    Acct-Session-Id); else the 8-byte handle (top bits 00, mid, sid)."""
    if sid is None:
        handle = "0x%08x" % (0x40000000 | mid)
    else:
        handle = "0x%08x%08x" % (mid, sid)
    return [("ERX-LI-Action", action), ("ERX-Med-Dev-Handle", handle),
            ("ERX-Med-Ip-Address", analyzer), ("ERX-Med-Port-Number", str(port))]


class RadiusServer:
    """A private FreeRADIUS in namespace ns; users: {name: (password, [(attr, value)...])}."""

    def __init__(self, ns, workdir, users, secret=SECRET, clients=(SERVER, NAS), auth=AUTH_PORT,
                 acct=ACCT_PORT):
        self.ns, self.secret, self.auth, self.acct = ns, secret, auth, acct
        self.dir = os.path.join(workdir, "freeradius")
        self.raddb = os.path.join(self.dir, "raddb")
        self.out = os.path.join(self.dir, "freeradius.out")
        self.proc = None
        os.makedirs(self.raddb, mode=0o700, exist_ok=True)
        os.chmod(self.dir, 0o700)
        for d in ("log", "run"):
            os.makedirs(os.path.join(self.raddb, d), exist_ok=True)
        cl = "".join("client c%d {\n\tipaddr = %s\n\tsecret = %s\n}\n" % (i, a, secret)
                     for i, a in enumerate(clients))
        with open(os.path.join(self.raddb, "radiusd.conf"), "w") as f:
            f.write(RADIUSD_CONF.format(clients=cl, server=SERVER, auth=auth, acct=acct))
        with open(os.path.join(self.raddb, "users"), "w") as f:
            for name, (password, reply) in users.items():
                f.write('"%s"\tCleartext-Password := "%s"\n' % (name, password))
                f.write(",\n".join("\t%s = %s" % (a, v) for a, v in reply))
                f.write("\n\n")

    def start(self, timeout=10):
        open(self.out, "wb").close()
        self.proc = self.ns.popen([FREERADIUS, "-f", "-l", "stdout", "-d", self.raddb], self.out)

        def ready():
            text = pmtest.read_text(self.out)
            if self.proc.poll() is not None:
                raise AssertionError("freeradius exited (%s):\n%s" % (self.proc.returncode, text[-3000:]))
            return "Ready to process requests" in text
        pmtest.wait_for(ready, timeout, what="freeradius to be ready")
        return self

    def stop(self):
        return stop_pid(self.proc)

    def log(self):
        return pmtest.read_text(self.out)


# -- radclient ------------------------------------------------------------------------
# Text attributes (always quoted) and those whose values are dictionary names (never).
STRING_ATTRS = {"User-Name", "User-Password", "Acct-Session-Id", "Calling-Station-Id",
                "Called-Station-Id", "NAS-Port-Id", "NAS-Identifier", "Class"}
NAMED_VALUES = {"Acct-Status-Type", "Acct-Terminate-Cause", "ERX-LI-Action", "Service-Type",
                "Framed-Protocol", "Response-Packet-Type"}


def _req_text(attrs, src):
    lines = ["Packet-Src-IP-Address = %s" % src]
    for a, v in attrs:
        if a in STRING_ATTRS or (a not in NAMED_VALUES and
                                 not re.match(r"^(0x[0-9a-fA-F]+|[0-9.]+|[0-9a-fA-F:]+/\d+)$", v)):
            v = '"%s"' % v.replace("\\", "\\\\").replace('"', '\\"')
        lines.append("%s = %s" % (a, v))
    return "\n".join(lines) + "\n"


def radclient(ns, dest, kind, attrs, secret=SECRET, src=NAS, retries=1, timeout=2.0):
    """radclient -x from src to dest (ADDR:PORT) with the request's attributes:
    kind auth, acct, coa or disconnect.  Returns the CompletedProcess (rc 0: the
    expected answer came and its authenticator verified)."""
    return ns.run([RADCLIENT, "-x", "-r", str(retries), "-t", str(timeout), dest, kind, secret],
                  check=False, input=_req_text(attrs, src))


def auth(ns, user, password, extra=(), reject=False, **kw):
    attrs = [("User-Name", user), ("User-Password", password), ("NAS-IP-Address", NAS),
             ("NAS-Port", "100")] + list(extra)
    if reject:
        attrs.append(("Response-Packet-Type", "Access-Reject"))
    return radclient(ns, "%s:%d" % (SERVER, AUTH_PORT), "auth", attrs, **kw)


def acct(ns, status, user, session_id, extra=(), **kw):
    """status Start, Interim-Update or Stop."""
    attrs = [("Acct-Status-Type", status), ("User-Name", user), ("Acct-Session-Id", session_id),
             ("NAS-IP-Address", NAS), ("NAS-Port", "100"), ("Acct-Delay-Time", "0")] + list(extra)
    return radclient(ns, "%s:%d" % (SERVER, ACCT_PORT), "acct", attrs, **kw)


def coa(ns, attrs, secret=SECRET, nas=NAS, port=COA_PORT, **kw):
    """A CoA-Request from the server's address to the NAS, with an Event-Timestamp of now
    unless attrs has one (pmirrord refuses a CoA-Request with ERX LI VSAs without one)."""
    attrs = list(attrs)
    if not any(a == "Event-Timestamp" for a, _ in attrs):
        attrs.append(("Event-Timestamp", str(int(time.time()))))
    return radclient(ns, "%s:%d" % (nas, port), "coa", attrs, secret=secret, src=SERVER, **kw)


def disconnect(ns, attrs, secret=SECRET, nas=NAS, port=COA_PORT, **kw):
    return radclient(ns, "%s:%d" % (nas, port), "disconnect", attrs, secret=secret, src=SERVER, **kw)


def assert_ok(tc, r, what):
    tc.assertEqual(r.returncode, 0, "%s: radclient rc %d\n%s%s" % (what, r.returncode, r.stdout, r.stderr))


# -- the NAS's dynamic-authorization server (RFC 5176) -----------------------------------
FAKE_NAS = r"""
import argparse, hashlib, socket, struct, time
ap = argparse.ArgumentParser()
ap.add_argument("--addr", required=True); ap.add_argument("--port", type=int, required=True)
ap.add_argument("--secret", required=True); ap.add_argument("--count", type=int, default=1000)
ap.add_argument("--timeout", type=float, default=600); ap.add_argument("--nak", action="store_true")
a = ap.parse_args()
secret = a.secret.encode()
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((a.addr, a.port))
print("listening %s:%d" % (a.addr, a.port), flush=True)
deadline = time.time() + a.timeout
n = 0
while n < a.count and time.time() < deadline:
    s.settimeout(max(0.1, deadline - time.time()))
    try:
        pkt, peer = s.recvfrom(4096)
    except socket.timeout:
        break
    n += 1
    if len(pkt) < 20 or struct.unpack("!H", pkt[2:4])[0] != len(pkt):
        print("malformed from %s:%d" % peer, flush=True)
        continue
    code, ident, auth = pkt[0], pkt[1], pkt[4:20]
    ok = hashlib.md5(pkt[:4] + bytes(16) + pkt[20:] + secret).digest() == auth
    print("got code=%d id=%d len=%d from %s:%d request-auth=%s hex=%s" % (
        code, ident, len(pkt), peer[0], peer[1], "OK" if ok else "BAD", pkt.hex()), flush=True)
    if not ok or code not in (40, 43):
        continue          # RFC 5176 3.5: silently discarded
    rcode = (45 if a.nak else 44) if code == 43 else (42 if a.nak else 41)
    hdr = struct.pack("!BBH", rcode, ident, 20)
    s.sendto(hdr + hashlib.md5(hdr + auth + secret).digest(), peer)
    print("sent code=%d id=%d" % (rcode, ident), flush=True)
s.close()
"""

REQ_LINE = re.compile(r"^got code=(\d+) id=(\d+) len=(\d+) from (\S+):(\d+) request-auth=(OK|BAD) hex=([0-9a-f]+)$")


class FakeNas:
    def __init__(self, ns, workdir, addr=NAS, port=COA_PORT, secret=SECRET, nak=False, timeout=600):
        self.ns, self.addr, self.port = ns, addr, port
        self.log_path = os.path.join(workdir, "fake-nas.%s.%d.out" % (addr, port))
        open(self.log_path, "wb").close()
        argv = [PY, "-c", FAKE_NAS, "--addr", addr, "--port", str(port), "--secret", secret,
                "--timeout", str(timeout)] + (["--nak"] if nak else [])
        self.proc = ns.popen(argv, self.log_path)
        pmtest.wait_for(lambda: "listening" in self.log() or self.proc.poll() is not None, 10,
                        what="the fake NAS")
        if self.proc.poll() is not None:
            raise AssertionError("fake NAS exited:\n" + self.log())

    def log(self):
        return pmtest.read_text(self.log_path)

    def requests(self):
        """[(code, id, from, port, verified, octets)] in order of arrival."""
        out = []
        for ln in self.log().splitlines():
            m = REQ_LINE.match(ln)
            if m:
                out.append((int(m.group(1)), int(m.group(2)), m.group(4), int(m.group(5)),
                            m.group(6) == "OK", bytes.fromhex(m.group(7))))
        return out

    def answers(self):
        return [ln for ln in self.log().splitlines() if ln.startswith("sent code=")]

    def stop(self):
        return stop_pid(self.proc)


SEND_RAW = r"""
import socket, sys
src, dst, port, data = sys.argv[1], sys.argv[2], int(sys.argv[3]), bytes.fromhex(sys.argv[4])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((src, 0))
s.settimeout(2)
s.sendto(data, (dst, port))
try:
    print(s.recvfrom(4096)[0].hex())
except socket.timeout:
    print("no answer")
"""


def send_raw(ns, src, dst, port, data):
    """One UDP datagram as is (a replayed request); returns the answer's hex or 'no answer'."""
    return ns.run([PY, "-c", SEND_RAW, src, dst, str(port), data.hex()]).stdout.strip()


# -- the analyzers --------------------------------------------------------------------------
LISTENER = r"""
import select, socket, sys, time
deadline = time.time() + float(sys.argv[1])
socks = []
for spec in sys.argv[2:]:
    addr, port = spec.rsplit(":", 1)
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
    s.bind((addr.strip("[]"), int(port)))
    socks.append((s, port))
print("listening", flush=True)
while time.time() < deadline:
    r, _, _ = select.select([s for s, _ in socks], [], [], 0.5)
    for s in r:
        data, peer = s.recvfrom(65535)
        port = [p for x, p in socks if x is s][0]
        print("dgram %s %s %s" % (port, peer[0], data.hex()), flush=True)
"""


class Datagram:
    """One datagram at an analyzer, decoded as jmirror."""

    def __init__(self, port, peer, data):
        self.port, self.peer, self.data = port, peer, data
        w0, self.sid = struct.unpack("!II", data[:8]) if len(data) >= 8 else (0, 0)
        self.version, self.mid = w0 >> 30, w0 & 0x3fffffff
        self.inner = data[8:]

    def inner_udp(self):
        """(src, dst, sport, dport, payload) of an inner IPv4 or IPv6 UDP packet, else None."""
        import ipaddress
        p = self.inner
        if len(p) >= 20 and p[0] >> 4 == 4 and p[9] == 17:
            ihl = (p[0] & 15) * 4
            src, dst = str(ipaddress.IPv4Address(p[12:16])), str(ipaddress.IPv4Address(p[16:20]))
            u = p[ihl:]
        elif len(p) >= 40 and p[0] >> 4 == 6 and p[6] == 17:
            src, dst = str(ipaddress.IPv6Address(p[8:24])), str(ipaddress.IPv6Address(p[24:40]))
            u = p[40:]
        else:
            return None
        if len(u) < 8:
            return None
        sport, dport = struct.unpack("!HH", u[:4])
        return src, dst, sport, dport, u[8:]

    def __repr__(self):
        return "<jmirror port=%s v=%d mid=%d sid=%d %s>" % (self.port, self.version, self.mid, self.sid,
                                                           self.inner_udp())


class JmListener:
    """UDP sockets on analyzer ADDR:PORT specs in the namespace; every datagram kept."""

    def __init__(self, ns, workdir, *specs, timeout=600):
        self.log_path = os.path.join(workdir, "jmirror.%d.out" % len(os.listdir(workdir)))
        open(self.log_path, "wb").close()
        self.proc = ns.popen([PY, "-c", LISTENER, str(timeout), *specs], self.log_path)
        pmtest.wait_for(lambda: "listening" in pmtest.read_text(self.log_path) or self.proc.poll() is not None,
                        10, what="the jmirror listener")
        if self.proc.poll() is not None:
            raise AssertionError("listener exited:\n" + pmtest.read_text(self.log_path))

    def datagrams(self, port=None):
        out = []
        for ln in pmtest.read_text(self.log_path).splitlines():
            w = ln.split()
            if len(w) == 4 and w[0] == "dgram" and (port is None or int(w[1]) == port):
                out.append(Datagram(int(w[1]), w[2], bytes.fromhex(w[3])))
        return out

    def marked(self, marker, port=None):
        """The datagrams whose inner packet is UDP with a payload that starts with marker."""
        out = []
        for d in self.datagrams(port):
            u = d.inner_udp()
            if u and u[4].startswith(marker):
                out.append(d)
        return out

    def stop(self):
        return stop_pid(self.proc)


# -- subscriber traffic -------------------------------------------------------------------
SENDER = r"""
import socket, sys
src, dst, port, count, payload = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5].encode()
fam = socket.AF_INET6 if ":" in src else socket.AF_INET
s = socket.socket(fam, socket.SOCK_DGRAM)
s.bind((src, 0))
for i in range(count):
    s.sendto(payload + b" %d" % i, (dst, port))
"""


def send_udp(ns, src, dst, marker, count=1, port=5000):
    """count UDP datagrams src -> dst:port inside the namespace, payload 'marker i'."""
    ns.run([PY, "-c", SENDER, src, dst, str(port), str(count), marker])
