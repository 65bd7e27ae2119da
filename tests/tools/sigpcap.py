#!/usr/bin/python3
"""sigpcap - writes pcap files of subscriber signalling and data (stdlib only).

RADIUS (RFC 2865, 2866, 5176) between a NAS and a server with correct
Request and Response Authenticators, an optional Message-Authenticator
(RFC 3579 section 3.2), the JUNOSe lawful-intercept VSAs 26-4874-58..61
salt-encrypted (RFC 2868 section 3.5; docs/radius.md: in an Access-Accept
with the Access-Request's authenticator, in a CoA- or Disconnect-Request
with 16 zero octets); DHCPv4 (RFC 2131, 2132) through a relay with option 82
(RFC 3046); UDP data from and to a subscriber.  Every packet carries an
explicit timestamp: time-based rules (sessionStartTimeout, lease expiry,
warrant windows) run on packet time when the file is replayed.

    import sigpcap as sp
    w = sp.Wire(t0=1795000000.0)                  # the clock starts at t0 (seconds)
    rad = sp.Radius(w, secret=b"s3cret", nas="198.18.0.2", server="198.18.0.9")
    alice = sp.Subscriber(user=b"alice", csid=b"02-00-00-00-00-01", ip="198.18.100.10",
                          acct_sid=b"4294967301")
    rad.login(alice, li=sp.LI(mirror_id=7, session_id=9, analyzer="127.0.0.2", port=30030))
    w.advance(1.0)
    rad.acct(alice, "start")
    w.advance(5.0)
    w.data(alice.ip, "198.51.100.1", count=3)     # subscriber -> peer, UDP
    rad.acct(alice, "stop", term_cause=1, session_time=5)
    w.write("out.pcap")                           # DLT_RAW; sp.Wire(link="eth") for Ethernet

    python3 sigpcap.py demo OUT.pcap [eth]        # a file with one of everything

Every method that writes packets returns them as Frame objects (ts, ip bytes,
payload) so that a test knows the exact timestamps.  Nothing here talks to a
network: the output is a file.
"""
import hashlib
import hmac
import ipaddress
import struct
import sys

# -- pcap ----------------------------------------------------------------------------
DLT_EN10MB = 1
DLT_RAW = 101
ETH_NAS = bytes.fromhex("02000000000b")
ETH_SRV = bytes.fromhex("02000000000a")


def _csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return (~s) & 0xffff


def ip_family(addr):
    return ipaddress.ip_address(addr).version


def udp_packet(src, sport, dst, dport, payload, ident=0, ttl=64):
    """An IPv4 or IPv6 packet with one UDP datagram, checksums computed."""
    s, d = ipaddress.ip_address(src), ipaddress.ip_address(dst)
    ulen = 8 + len(payload)
    if s.version == 4:
        pseudo = s.packed + d.packed + struct.pack("!BBH", 0, 17, ulen)
    else:
        pseudo = s.packed + d.packed + struct.pack("!IxxxB", ulen, 17)
    udp = struct.pack("!HHHH", sport, dport, ulen, 0) + payload
    c = _csum(pseudo + udp) or 0xffff
    udp = udp[:6] + struct.pack("!H", c) + udp[8:]
    if s.version == 4:
        hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + ulen, ident & 0xffff, 0, ttl, 17, 0,
                          s.packed, d.packed)
        hdr = hdr[:10] + struct.pack("!H", _csum(hdr)) + hdr[12:]
        return hdr + udp
    return struct.pack("!IHBB16s16s", 6 << 28, ulen, 17, ttl, s.packed, d.packed) + udp


class Frame:
    """One packet: ts (float seconds), ip (the IP packet), payload (UDP payload), what."""

    def __init__(self, ts, ip, payload, what):
        self.ts, self.ip, self.payload, self.what = ts, ip, payload, what

    def __repr__(self):
        return "Frame(%.6f %s %d octets)" % (self.ts, self.what, len(self.ip))


class Wire:
    """The packets of one capture, in time order, and the clock that stamps them.

    link: "raw" (DLT_RAW, IP packets as they are) or "eth" (Ethernet II)."""

    def __init__(self, t0=1795000000.0, link="raw"):
        if link not in ("raw", "eth"):
            raise ValueError("link is raw or eth")
        self.t = round(float(t0), 6)
        self.link = link
        self.frames = []
        self._ipid = 1

    # the clock
    def advance(self, dt):
        """Moves the clock dt seconds on; returns the new time."""
        self.t = round(self.t + dt, 6)   # microseconds, as the file stores them: no drift
        return self.t

    def at(self, t):
        """Sets the clock to t (never backwards)."""
        if t < self.t:
            raise ValueError("the clock never goes back")
        self.t = round(float(t), 6)
        return self.t

    def add_ip(self, ip, what="ip", payload=b"", ts=None):
        f = Frame(self.t if ts is None else ts, ip, payload, what)
        self.frames.append(f)
        return f

    def udp(self, src, sport, dst, dport, payload, what="udp", ts=None):
        self._ipid += 1
        return self.add_ip(udp_packet(src, sport, dst, dport, payload, self._ipid), what, payload,
                           ts)

    def data(self, src, dst, count=1, sport=40000, dport=5001, size=64, gap=0.001):
        """count UDP datagrams src -> dst, gap seconds apart (the clock moves); returns them."""
        out = []
        for i in range(count):
            body = struct.pack("!I", i) + bytes((i * 7 + k) & 0xff for k in range(max(0, size - 4)))
            out.append(self.udp(src, sport, dst, dport, body, "data"))
            if i + 1 < count:
                self.advance(gap)
        return out

    def tick(self, t, src="198.18.254.1", dst="198.18.254.2"):
        """One harmless datagram (no subscriber's, no signalling port) at time t: it moves a
        replaying daemon's packet clock to t."""
        self.at(t)
        return self.udp(src, 9, dst, 9, b"tick", "tick")

    def raw_udp(self, src, sport, dst, dport, payload, what="raw"):
        """A datagram with any payload (malformed signalling, for instance)."""
        return self.udp(src, sport, dst, dport, payload, what)

    def records(self):
        out = []
        for f in sorted(self.frames, key=lambda f: f.ts):   # stable: same time keeps its order
            pkt = f.ip
            if self.link == "eth":
                etype = 0x0800 if pkt[0] >> 4 == 4 else 0x86dd
                pkt = ETH_SRV + ETH_NAS + struct.pack("!H", etype) + pkt
            sec = int(f.ts)
            usec = int(round((f.ts - sec) * 1e6))
            if usec >= 1000000:
                sec, usec = sec + 1, usec - 1000000
            out.append(struct.pack("<IIII", sec, usec, len(pkt), len(pkt)) + pkt)
        return out

    def to_bytes(self):
        lt = DLT_EN10MB if self.link == "eth" else DLT_RAW
        return struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 262144, lt) + b"".join(self.records())

    def write(self, path):
        with open(path, "wb") as f:
            f.write(self.to_bytes())
        return path


def read_pcap(path):
    """(ts, ip packet) of each record of a classic pcap with DLT_RAW or Ethernet."""
    with open(path, "rb") as f:
        data = f.read()
    end = "<" if data[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    nano = data[:4] in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
    lt = struct.unpack(end + "I", data[20:24])[0]
    off, out = 24, []
    while off + 16 <= len(data):
        sec, frac, incl, _ = struct.unpack(end + "IIII", data[off:off + 16])
        pkt = data[off + 16:off + 16 + incl]
        off += 16 + incl
        if lt == DLT_EN10MB:
            pkt = pkt[14:]
        out.append((sec + frac / (1e9 if nano else 1e6), pkt))
    return out


# -- RADIUS ----------------------------------------------------------------------------
ACCESS_REQUEST, ACCESS_ACCEPT, ACCESS_REJECT = 1, 2, 3
ACCT_REQUEST, ACCT_RESPONSE = 4, 5
DISCONNECT_REQUEST, DISCONNECT_ACK, DISCONNECT_NAK = 40, 41, 42
COA_REQUEST, COA_ACK, COA_NAK = 43, 44, 45
ZERO_AUTH_REQUESTS = (ACCT_REQUEST, DISCONNECT_REQUEST, COA_REQUEST)
RESPONSES = {ACCESS_ACCEPT: ACCESS_REQUEST, ACCESS_REJECT: ACCESS_REQUEST, ACCT_RESPONSE: ACCT_REQUEST,
             DISCONNECT_ACK: DISCONNECT_REQUEST, DISCONNECT_NAK: DISCONNECT_REQUEST,
             COA_ACK: COA_REQUEST, COA_NAK: COA_REQUEST}   # response code -> request code

USER_NAME, USER_PASSWORD, NAS_IP_ADDRESS, NAS_PORT = 1, 2, 4, 5
SERVICE_TYPE, FRAMED_PROTOCOL, FRAMED_IP_ADDRESS = 6, 7, 8
REPLY_MESSAGE, CLASS, SESSION_TIMEOUT = 18, 25, 27
VENDOR_SPECIFIC, CALLING_STATION_ID, NAS_IDENTIFIER = 26, 31, 32
ACCT_STATUS_TYPE, ACCT_DELAY_TIME, ACCT_SESSION_ID, ACCT_SESSION_TIME = 40, 41, 44, 46
ACCT_TERMINATE_CAUSE, EVENT_TIMESTAMP = 49, 55
MESSAGE_AUTHENTICATOR, NAS_PORT_ID = 80, 87
FRAMED_IPV6_PREFIX, ERROR_CAUSE, DELEGATED_IPV6_PREFIX, FRAMED_IPV6_ADDRESS = 97, 101, 123, 168

VENDOR_ERX, VENDOR_DSLF = 4874, 3561
ERX_LI_ACTION, ERX_MED_DEV_HANDLE, ERX_MED_IP_ADDRESS, ERX_MED_PORT_NUMBER = 58, 59, 60, 61
ERX_DHCP_OPTION_82 = 159
DSLF_AGENT_CIRCUIT_ID, DSLF_AGENT_REMOTE_ID = 1, 2

ACCT_START, ACCT_STOP, ACCT_INTERIM = 1, 2, 3
LI_OFF, LI_ON, LI_NOOP = 0, 1, 2


def md5(*parts):
    return hashlib.md5(b"".join(parts)).digest()


def attr(t, v):
    if isinstance(v, str):
        v = v.encode()
    if len(v) > 253:
        raise ValueError("attribute %d: %d octets (at most 253)" % (t, len(v)))
    return bytes([t, 2 + len(v)]) + v


def a_int(t, n):
    return attr(t, struct.pack("!I", n))


def a_ip(t, addr):
    return attr(t, ipaddress.IPv4Address(addr).packed)


def a_prefix6(t, prefix):
    """Framed-IPv6-Prefix / Delegated-IPv6-Prefix (RFC 3162 section 2.3): reserved, length, prefix."""
    n = ipaddress.IPv6Network(prefix)
    return attr(t, bytes([0, n.prefixlen]) + n.network_address.packed[:(n.prefixlen + 7) // 8])


def vsa(vendor, vtype, value):
    """One Vendor-Specific attribute holding one sub-attribute (RFC 2865 section 5.26)."""
    return attr(VENDOR_SPECIFIC, struct.pack("!I", vendor) + bytes([vtype, 2 + len(value)]) + value)


def salt_encrypt(data, secret, vector, salt):
    """RFC 2868 section 3.5 without a tag octet: salt(2) || ciphertext of (len, data, zero pad)."""
    if len(salt) != 2 or not salt[0] & 0x80:
        raise ValueError("a salt is 2 octets with the top bit set")
    p = bytes([len(data)]) + data
    p += bytes(-len(p) % 16)
    out, prev = b"", vector + salt
    for i in range(0, len(p), 16):
        c = bytes(x ^ y for x, y in zip(p[i:i + 16], md5(secret, prev)))
        out += c
        prev = c
    return salt + out


def salt_decrypt(value, secret, vector):
    """The reverse; None when the length octet or the padding shows a wrong key or vector."""
    salt, c = value[:2], value[2:]
    if not c or len(c) % 16:
        return None
    p, prev = b"", vector + salt
    for i in range(0, len(c), 16):
        p += bytes(x ^ y for x, y in zip(c[i:i + 16], md5(secret, prev)))
        prev = c[i:i + 16]
    n = p[0]
    if n > len(p) - 1 or any(p[1 + n:]):
        return None
    return p[1:1 + n]


def handle8(mirror_id, session_id):
    """ERX-Med-Dev-Handle, 8-byte form: MHV 0, 30-bit mirror ID, then the session ID."""
    return struct.pack("!II", mirror_id & 0x3fffffff, session_id & 0xffffffff)


def handle4(mirror_id):
    """ERX-Med-Dev-Handle, 4-byte form: top bits 01, 30-bit mirror ID (the session ID then comes
    from Acct-Session-Id)."""
    return struct.pack("!I", 0x40000000 | (mirror_id & 0x3fffffff))


class LI:
    """The ERX lawful-intercept VSAs of one Access-Accept or CoA-Request.

    action: LI_ON/LI_OFF/LI_NOOP or None (no 26-58); handle: 8- or 4-byte octets (handle8(),
    handle4()), any octets for a malformed one, or None; analyzer: IPv4 text or None (26-60);
    port: int or None (26-61).  mirror_id/session_id build an 8-byte handle (or a 4-byte one
    with short=True) when handle is not given."""

    def __init__(self, action=LI_ON, mirror_id=None, session_id=None, analyzer=None, port=None,
                 handle=None, short=False, raw_values=None):
        self.action = action
        if handle is None and mirror_id is not None:
            handle = handle4(mirror_id) if short or session_id is None else handle8(mirror_id,
                                                                                     session_id)
        self.handle, self.analyzer, self.port = handle, analyzer, port
        self.raw_values = raw_values or {}   # vtype -> plaintext octets that replace the value

    def plaintexts(self):
        out = []
        if self.action is not None:
            out.append((ERX_LI_ACTION, struct.pack("!I", self.action)))
        if self.handle is not None:
            out.append((ERX_MED_DEV_HANDLE, self.handle))
        if self.analyzer is not None:
            out.append((ERX_MED_IP_ADDRESS, ipaddress.IPv4Address(self.analyzer).packed))
        if self.port is not None:
            out.append((ERX_MED_PORT_NUMBER, struct.pack("!I", self.port)))
        return [(t, self.raw_values.get(t, v)) for t, v in out]


def li_attrs(li, secret, vector, salt0=0x8100):
    """The LI VSAs of li, each in its own attribute 26, salt-encrypted with vector; salts
    salt0, salt0+1, ... (top bit set, unique in the packet)."""
    out = b""
    for i, (t, v) in enumerate(li.plaintexts()):
        out += vsa(VENDOR_ERX, t, salt_encrypt(v, secret, vector, struct.pack("!H", salt0 + i)))
    return out


def header(code, ident, auth, attrs):
    return struct.pack("!BBH", code, ident, 20 + len(attrs)) + auth + attrs


def sign_request(code, ident, attrs, secret, auth=None, msgauth=False):
    """A RADIUS request.  Access-Request: auth is its random authenticator (User-Password and
    the Message-Authenticator use it).  Accounting-, CoA- and Disconnect-Request: the
    authenticator is MD5 over the packet with 16 zero octets in its place (RFC 2866 section 3,
    RFC 5176 section 2.3), computed after the Message-Authenticator, which is computed over
    zeros (RFC 5176 section 3.4)."""
    zero = code in ZERO_AUTH_REQUESTS
    field = bytes(16) if zero else auth
    if msgauth:
        pkt = header(code, ident, field, attrs + attr(MESSAGE_AUTHENTICATOR, bytes(16)))
        attrs += attr(MESSAGE_AUTHENTICATOR, hmac.new(secret, pkt, hashlib.md5).digest())
    if zero:
        return header(code, ident, md5(header(code, ident, bytes(16), attrs), secret), attrs)
    return header(code, ident, auth, attrs)


def sign_response(code, ident, req_auth, attrs, secret, msgauth=False):
    """A response: Response Authenticator = MD5(Code, Id, Length, request's authenticator,
    attributes, secret) (RFC 2865 section 3); a Message-Authenticator over the packet with the
    request's authenticator in the field (RFC 3579 section 3.2)."""
    if msgauth:
        pkt = header(code, ident, req_auth, attrs + attr(MESSAGE_AUTHENTICATOR, bytes(16)))
        attrs += attr(MESSAGE_AUTHENTICATOR, hmac.new(secret, pkt, hashlib.md5).digest())
    return header(code, ident, md5(header(code, ident, req_auth, attrs), secret), attrs)


def hide_password(pw, secret, auth):
    """User-Password (RFC 2865 section 5.2)."""
    p = pw + bytes(-len(pw) % 16 or (16 if not pw else 0))
    out, prev = b"", auth
    for i in range(0, len(p), 16):
        c = bytes(x ^ y for x, y in zip(p[i:i + 16], md5(secret, prev)))
        out += c
        prev = c
    return out


def _b(v):
    return v.encode() if isinstance(v, str) else v


class Subscriber:
    """What a NAS knows of one subscriber.  Octet-string fields take bytes or str; None is
    absent.  ip: the framed IPv4 address (Framed-IP-Address in the Accept).  nas_ip: the
    NAS-IP-Address the NAS sends (None: the Radius object's NAS address; False: none)."""

    def __init__(self, user=None, password=b"pw", csid=None, ip=None, acct_sid=None,
                 nas_port=None, nas_port_id=None, nas_ip=None, nas_id=None, circuit=None,
                 remote=None, opt82=None, ipv6_prefix=None, delegated_prefix=None, ipv6=None,
                 request_acct_sid=False):
        self.user, self.password, self.csid = _b(user), _b(password), _b(csid)
        self.ip, self.acct_sid, self.nas_port = ip, _b(acct_sid), nas_port
        self.nas_port_id, self.nas_ip, self.nas_id = _b(nas_port_id), nas_ip, _b(nas_id)
        self.circuit, self.remote, self.opt82 = _b(circuit), _b(remote), _b(opt82)
        self.ipv6_prefix, self.delegated_prefix, self.ipv6 = ipv6_prefix, delegated_prefix, ipv6
        self.request_acct_sid = request_acct_sid   # Acct-Session-Id in the Access-Request too
        self.started = 0.0                         # time of the Accounting-Start

    def nas_attrs(self, default_nas_ip=None):
        """The NAS's identification of the subscriber (Access-Request, Accounting-Request)."""
        out = b""
        if self.user is not None:
            out += attr(USER_NAME, self.user)
        nas_ip = self.nas_ip if self.nas_ip is not None else default_nas_ip
        if nas_ip:   # nas_ip=False: no NAS-IP-Address at all
            out += a_ip(NAS_IP_ADDRESS, nas_ip)
        if self.nas_id is not None:
            out += attr(NAS_IDENTIFIER, self.nas_id)
        if self.nas_port is not None:
            out += a_int(NAS_PORT, self.nas_port)
        if self.nas_port_id is not None:
            out += attr(NAS_PORT_ID, self.nas_port_id)
        if self.csid is not None:
            out += attr(CALLING_STATION_ID, self.csid)
        if self.circuit is not None:
            out += vsa(VENDOR_DSLF, DSLF_AGENT_CIRCUIT_ID, self.circuit)
        if self.remote is not None:
            out += vsa(VENDOR_DSLF, DSLF_AGENT_REMOTE_ID, self.remote)
        if self.opt82 is not None:
            out += vsa(VENDOR_ERX, ERX_DHCP_OPTION_82, self.opt82)
        return out

    def framed_attrs(self):
        out = b""
        if self.ip is not None:
            out += a_ip(FRAMED_IP_ADDRESS, self.ip)
        if self.ipv6 is not None:
            out += attr(FRAMED_IPV6_ADDRESS, ipaddress.IPv6Address(self.ipv6).packed)
        if self.ipv6_prefix is not None:
            out += a_prefix6(FRAMED_IPV6_PREFIX, self.ipv6_prefix)
        if self.delegated_prefix is not None:
            out += a_prefix6(DELEGATED_IPV6_PREFIX, self.delegated_prefix)
        return out


class Radius:
    """A NAS and a RADIUS server on one Wire.  Requests and responses are dt apart (the response
    gets the later time).  secret: bytes.  msgauth: add a Message-Authenticator everywhere."""

    def __init__(self, wire, secret, nas="198.18.0.2", server="198.18.0.9", auth_port=1812,
                 acct_port=1813, coa_port=3799, msgauth=False, dt=0.002):
        self.w, self.secret = wire, _b(secret)
        self.nas, self.server = nas, server
        self.auth_port, self.acct_port, self.coa_port = auth_port, acct_port, coa_port
        self.msgauth, self.dt = msgauth, dt
        # identifiers, ports, salts and authenticators are counted per Wire, so that several
        # Radius objects on one Wire (two NASes, or with and without Message-Authenticator)
        # never reuse one; deterministic, so a file is the same from run to run
        self.n = wire.__dict__.setdefault("_radius_counters", {"id": 0, "sport": 0, "salt": 0,
                                                               "auth": 0})

    def _next_id(self):
        self.n["id"] += 1
        return self.n["id"] & 0xff

    def _next_sport(self):
        self.n["sport"] += 1
        return 32768 + self.n["sport"] % 28000

    def _next_salt(self):
        self.n["salt"] += 1
        return 0x8000 | ((self.n["salt"] * 8) & 0x7ff8)

    def request_authenticator(self):
        self.n["auth"] += 1
        return md5(b"sigpcap-request-authenticator", struct.pack("!I", self.n["auth"]))

    def exchange(self, code, attrs, resp_code, resp_attrs=b"", port=None, src=None, dst=None,
                 respond=True, auth=None, ident=None, msgauth=None, resp_msgauth=None,
                 resp_secret=None, what=""):
        """One request (NAS -> server, or for CoA/Disconnect server -> NAS) and its response.
        resp_attrs may be a function of the request authenticator (encrypted attributes).
        Returns [request frame, response frame]."""
        ma = self.msgauth if msgauth is None else msgauth
        rma = self.msgauth if resp_msgauth is None else resp_msgauth
        ident = self._next_id() if ident is None else ident
        if code == ACCESS_REQUEST:
            auth = auth or self.request_authenticator()
        req = sign_request(code, ident, attrs, self.secret, auth, ma)
        rauth = req[4:20]
        coa = code in (COA_REQUEST, DISCONNECT_REQUEST)
        src = src or (self.server if coa else self.nas)
        dst = dst or (self.nas if coa else self.server)
        port = port or (self.coa_port if coa else self.acct_port if code == ACCT_REQUEST
                        else self.auth_port)
        sport = self._next_sport()
        out = [self.w.udp(src, sport, dst, port, req, what or "radius-%d" % code)]
        if respond:
            self.w.advance(self.dt)
            ra = resp_attrs(rauth) if callable(resp_attrs) else resp_attrs
            resp = sign_response(resp_code, ident, rauth, ra, resp_secret or self.secret, rma)
            out.append(self.w.udp(dst, port, src, sport, resp, (what or "radius-%d" % code) + "-resp"))
        return out

    def li(self, li, vector):
        """LI VSAs with fresh salts, encrypted with vector."""
        return li_attrs(li, self.secret, vector, self._next_salt()) if li is not None else b""

    # -- Access --------------------------------------------------------------------
    def access_request_attrs(self, sub, auth):
        a = sub.nas_attrs(self.nas)
        if sub.password is not None and sub.user is not None:
            a += attr(USER_PASSWORD, hide_password(sub.password, self.secret, auth))
        if sub.request_acct_sid and sub.acct_sid is not None:
            a += attr(ACCT_SESSION_ID, sub.acct_sid)
        return a

    def login(self, sub, li=None, framed=True, extra_accept=b"", li_vector=None, **kw):
        """Access-Request and Access-Accept (Framed-* addresses when framed; the LI VSAs of li
        encrypted with the request's authenticator, or with li_vector to make them
        undecryptable).  Returns [request, accept]."""
        auth = self.request_authenticator()
        req_attrs = self.access_request_attrs(sub, auth)

        def accept(rauth):
            a = sub.framed_attrs() if framed else b""
            return a + self.li(li, rauth if li_vector is None else li_vector) + extra_accept
        return self.exchange(ACCESS_REQUEST, req_attrs, ACCESS_ACCEPT, accept, auth=auth,
                             what="access", **kw)

    def reject(self, sub, **kw):
        """Access-Request answered by an Access-Reject."""
        auth = self.request_authenticator()
        return self.exchange(ACCESS_REQUEST, self.access_request_attrs(sub, auth), ACCESS_REJECT,
                             attr(REPLY_MESSAGE, b"denied"), auth=auth, what="reject", **kw)

    # -- Accounting ----------------------------------------------------------------
    def acct(self, sub, status, term_cause=None, session_time=None, respond=True, **kw):
        """Accounting-Request Start / Interim-Update / Stop (status "start", "interim", "stop",
        or the number) and its Accounting-Response.  A Stop carries Acct-Session-Time (the time
        since the Start when not given) and Acct-Terminate-Cause when given."""
        st = {"start": ACCT_START, "stop": ACCT_STOP, "interim": ACCT_INTERIM}.get(status, status)
        a = a_int(ACCT_STATUS_TYPE, st) + sub.nas_attrs(self.nas) + sub.framed_attrs()
        if sub.acct_sid is not None:
            a += attr(ACCT_SESSION_ID, sub.acct_sid)
        if st == ACCT_START:
            sub.started = self.w.t
        if st in (ACCT_STOP, ACCT_INTERIM):
            if session_time is None:
                session_time = int(self.w.t - sub.started) if sub.started else 0
            a += a_int(ACCT_SESSION_TIME, session_time)
        if st == ACCT_STOP and term_cause is not None:
            a += a_int(ACCT_TERMINATE_CAUSE, term_cause)
        a += a_int(EVENT_TIMESTAMP, int(self.w.t))
        return self.exchange(ACCT_REQUEST, a, ACCT_RESPONSE, b"", respond=respond,
                             what="acct-%s" % status, **kw)

    # -- Dynamic authorization (RFC 5176) ---------------------------------------------
    def session_ident(self, sub, by=("acct_sid",)):
        """Session-identification attributes of a CoA/Disconnect: by names Subscriber fields
        (acct_sid, user, csid, ip, nas_port_id); NAS-IP-Address unless sub.nas_ip is False."""
        nas_ip = sub.nas_ip if sub.nas_ip is not None else self.nas
        a = a_ip(NAS_IP_ADDRESS, nas_ip) if nas_ip else b""
        for f in by:
            v = getattr(sub, f)
            if v is None:
                continue
            a += {"acct_sid": lambda: attr(ACCT_SESSION_ID, v),
                  "user": lambda: attr(USER_NAME, v),
                  "csid": lambda: attr(CALLING_STATION_ID, v),
                  "ip": lambda: a_ip(FRAMED_IP_ADDRESS, v),
                  "nas_port_id": lambda: attr(NAS_PORT_ID, v)}[f]()
        return a

    def coa(self, sub, li, by=("acct_sid",), nak=False, event_ts=True, src=None, secret=None,
            error_cause=None, **kw):
        """CoA-Request (server or src -> NAS:coaPort) with the LI VSAs of li salt-encrypted with
        16 zero octets, Event-Timestamp = packet time; CoA-ACK, or CoA-NAK with Error-Cause.
        secret: sign the request with another secret (a forged CoA)."""
        return self._dyn(COA_REQUEST, sub, li, by, nak, event_ts, src, secret, error_cause, **kw)

    def disconnect(self, sub, by=("acct_sid",), nak=False, event_ts=True, src=None, secret=None,
                   li=None, error_cause=None, **kw):
        """Disconnect-Request and Disconnect-ACK (or -NAK)."""
        return self._dyn(DISCONNECT_REQUEST, sub, li, by, nak, event_ts, src, secret,
                         error_cause, **kw)

    def _dyn(self, code, sub, li, by, nak, event_ts, src, secret, error_cause, **kw):
        a = self.session_ident(sub, by)
        if event_ts is True:
            a += a_int(EVENT_TIMESTAMP, int(self.w.t))
        elif event_ts:
            a += a_int(EVENT_TIMESTAMP, int(event_ts))
        real = self.secret
        if secret is not None:
            self.secret = _b(secret)
        try:
            a += self.li(li, bytes(16))   # RFC 2868 vector in a request: 16 zero octets
            rcode = code + (2 if nak else 1)
            ra = a_int(ERROR_CAUSE, error_cause if error_cause is not None else 401) if nak else b""
            return self.exchange(code, a, rcode, ra, src=src, resp_secret=real, **kw)
        finally:
            self.secret = real

    def replay(self, frames, dt=1.0):
        """The same packets again (same identifier, authenticator, ports), dt seconds later."""
        out = []
        for f in frames:
            self.w.advance(dt if not out else self.dt)
            out.append(self.w.add_ip(f.ip, f.what + "-replay", f.payload))
        return out


# -- DHCPv4 -------------------------------------------------------------------------------
DISCOVER, OFFER, REQUEST, DECLINE, ACK, NAK, RELEASE, INFORM = 1, 2, 3, 4, 5, 6, 7, 8
MAGIC = b"\x63\x82\x53\x63"


def opt(code, v):
    return bytes([code, len(v)]) + v


def option82(circuit=None, remote=None, raw=None):
    """The value of option 82 (RFC 3046): sub-option 1 (circuit ID), 2 (remote ID)."""
    if raw is not None:
        return raw
    v = b""
    if circuit is not None:
        v += opt(1, _b(circuit))
    if remote is not None:
        v += opt(2, _b(remote))
    return v


def bootp(op, msgtype, xid, chaddr, ciaddr="0.0.0.0", yiaddr="0.0.0.0", siaddr="0.0.0.0",
          giaddr="0.0.0.0", hops=0, options=(), flags=0):
    """One BOOTP/DHCP message (RFC 2131 section 2, RFC 2132): fixed part, cookie, options."""
    ch = bytes.fromhex(chaddr.replace(":", "")) if isinstance(chaddr, str) else chaddr
    fixed = struct.pack("!BBBBIHH4s4s4s4s16s64s128s", op, 1, 6, hops, xid, 0, flags,
                        ipaddress.IPv4Address(ciaddr).packed, ipaddress.IPv4Address(yiaddr).packed,
                        ipaddress.IPv4Address(siaddr).packed, ipaddress.IPv4Address(giaddr).packed,
                        ch + bytes(16 - len(ch)), b"", b"")
    o = opt(53, bytes([msgtype])) + b"".join(options) + b"\xff"
    return fixed + MAGIC + o


class DhcpClient:
    """One DHCP client behind a relay: chaddr, the option 82 the relay adds, the address it gets."""

    def __init__(self, chaddr, ip, circuit=None, remote=None, opt82=None, xid=None, lease=3600):
        self.chaddr, self.ip, self.lease = chaddr, ip, lease
        self.opt82 = option82(circuit, remote, opt82)
        self.xid = xid if xid is not None else int(chaddr.replace(":", "")[-8:], 16) ^ 0x5a5a5a5a


class Dhcp:
    """A relay (giaddr, relay_ip) and a server on one Wire (RFC 2131; option 82 RFC 3046:
    the relay adds it towards the server, the server echoes it).  Messages are dt apart."""

    def __init__(self, wire, server="198.18.1.2", relay="198.18.1.1", giaddr="198.18.100.1",
                 dt=0.002):
        self.w, self.server, self.relay, self.giaddr, self.dt = wire, server, relay, giaddr, dt

    def _to_server(self, c, msgtype, extra=(), ciaddr="0.0.0.0", o82=True, what=""):
        options = list(extra) + ([opt(82, c.opt82)] if o82 and c.opt82 else [])
        m = bootp(1, msgtype, c.xid, c.chaddr, ciaddr=ciaddr, giaddr=self.giaddr, hops=1,
                  options=options)
        return self.w.udp(self.relay, 67, self.server, 67, m, what)

    def _to_relay(self, c, msgtype, src=None, o82=True, lease=None, what=""):
        server = src or self.server
        options = [opt(54, ipaddress.IPv4Address(server).packed),
                   opt(51, struct.pack("!I", c.lease if lease is None else lease)),
                   opt(1, bytes([255, 255, 255, 0])), opt(3, ipaddress.IPv4Address(self.giaddr).packed)]
        if o82 and c.opt82:
            options.append(opt(82, c.opt82))
        m = bootp(2, msgtype, c.xid, c.chaddr, yiaddr=c.ip, siaddr=server, giaddr=self.giaddr,
                  hops=1, options=options)
        return self.w.udp(server, 67, self.relay, 67, m, what)

    def bind(self, c, server=None, lease=None):
        """DISCOVER, OFFER, REQUEST, ACK through the relay.  server: the OFFER and ACK come from
        this address instead (an untrusted one).  Returns the four frames."""
        client_id = opt(61, b"\x01" + bytes.fromhex(c.chaddr.replace(":", "")))
        out = [self._to_server(c, DISCOVER, [client_id], what="dhcp-discover")]
        self.w.advance(self.dt)
        out.append(self._to_relay(c, OFFER, server, lease=lease, what="dhcp-offer"))
        self.w.advance(self.dt)
        srv = ipaddress.IPv4Address(server or self.server).packed
        out.append(self._to_server(c, REQUEST, [opt(50, ipaddress.IPv4Address(c.ip).packed),
                                                opt(54, srv)], what="dhcp-request"))
        self.w.advance(self.dt)
        out.append(self._to_relay(c, ACK, server, lease=lease, what="dhcp-ack"))
        return out

    def renew(self, c, lease=None):
        """A unicast renewal (RFC 2131 section 4.3.2, RENEWING): REQUEST from ciaddr to the
        server, ACK back to the client; no relay, no option 82."""
        m = bootp(1, REQUEST, c.xid + 1, c.chaddr, ciaddr=c.ip)
        out = [self.w.udp(c.ip, 68, self.server, 67, m, "dhcp-renew")]
        self.w.advance(self.dt)
        options = [opt(54, ipaddress.IPv4Address(self.server).packed),
                   opt(51, struct.pack("!I", c.lease if lease is None else lease))]
        m = bootp(2, ACK, c.xid + 1, c.chaddr, ciaddr=c.ip, yiaddr=c.ip, options=options)
        out.append(self.w.udp(self.server, 67, c.ip, 68, m, "dhcp-renew-ack"))
        return out

    def release(self, c):
        """DHCPRELEASE, unicast from the client to the server (RFC 2131 section 4.4.6)."""
        m = bootp(1, RELEASE, c.xid + 2, c.chaddr, ciaddr=c.ip,
                  options=[opt(54, ipaddress.IPv4Address(self.server).packed)])
        return [self.w.udp(c.ip, 68, self.server, 67, m, "dhcp-release")]

    def decline(self, c):
        """DHCPDECLINE (broadcast by the client, relayed with option 82): requested address =
        the address declined, ciaddr 0 (RFC 2131 section 4.4.1)."""
        return [self._to_server(c, DECLINE, [opt(50, ipaddress.IPv4Address(c.ip).packed),
                                             opt(54, ipaddress.IPv4Address(self.server).packed)],
                                what="dhcp-decline")]


# -- malformed signalling -------------------------------------------------------------------
def malformed_radius(wire, src, dst, port=1812, kind="attr-overrun"):
    """A RADIUS packet the codec must refuse (docs/radius.md, Malformations)."""
    if kind == "short":
        body = b"\x01\x07\x00"
    elif kind == "length":
        body = struct.pack("!BBH", 1, 7, 5000) + bytes(16)
    else:   # an attribute running past Length
        body = struct.pack("!BBH", 1, 7, 26) + bytes(16) + b"\x01\x09abcd"
    return wire.raw_udp(src, 33000, dst, port, body, "radius-malformed-" + kind)


def malformed_dhcp(wire, src, dst, kind="no-cookie"):
    """A BOOTP message the DHCP codec must refuse."""
    if kind == "short":
        body = b"\x02\x01\x06\x00" + bytes(20)
    else:   # the full fixed part, a bad magic cookie, an option running past the end
        body = bootp(2, ACK, 1, "02:00:00:00:99:99", yiaddr="198.18.100.99")[:236] + \
            b"\x00\x00\x00\x00" + b"\x35\x05\x05"
    return wire.raw_udp(src, 67, dst, 67, body, "dhcp-malformed-" + kind)


# -- a file with one of everything ----------------------------------------------------------
def demo(path, link="raw", secret=b"li-test-secret"):
    w = Wire(t0=1795000000.0, link=link)
    rad = Radius(w, secret)
    msg = Radius(w, secret, msgauth=True)
    a = Subscriber(user="alice", csid="02-00-00-00-00-01", ip="198.18.100.10",
                   acct_sid="4294967301", nas_port=100, nas_port_id="eth0/1/0:100")
    b = Subscriber(user="bob", csid="02-00-00-00-00-02", ip="198.18.100.11", acct_sid="00A1B2C3D4")
    rad.login(a, li=LI(mirror_id=0x300, session_id=0x90, analyzer="127.0.0.2", port=30030))
    w.advance(0.5)
    rad.acct(a, "start")
    w.advance(0.5)
    w.data(a.ip, "198.51.100.7", count=2)
    w.data("198.51.100.7", a.ip, count=2)
    w.data("2001:db8:61:100::5", "2001:db8:ffff::1", count=1)
    msg.login(b, li=LI(mirror_id=5, short=True, analyzer="127.0.0.3", port=30031))
    msg.acct(b, "start")
    rad.coa(a, LI(LI_OFF))
    rad.coa(b, LI(mirror_id=6, session_id=7, analyzer="127.0.0.2", port=30030), nak=True)
    w.advance(10)
    rad.acct(a, "interim")
    rad.acct(a, "stop", term_cause=1)
    rad.disconnect(b)
    rad.reject(Subscriber(user="mallory", csid="02-00-00-00-00-03"))
    d = Dhcp(w)
    c = DhcpClient("02:00:00:00:00:21", "198.18.100.20", circuit="eth0/1/0:100",
                   remote=bytes.fromhex("0011223344aa"))
    d.bind(c)
    w.advance(1)
    d.renew(c)
    d.release(c)
    d.decline(c)
    malformed_radius(w, rad.nas, rad.server)
    malformed_dhcp(w, d.server, d.relay)
    w.tick(w.t + 60)
    return w.write(path)


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "demo":
        demo(sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else "raw")
    else:
        sys.exit(__doc__)
