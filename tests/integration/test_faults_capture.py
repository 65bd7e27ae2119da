"""Faults on the capture side, with real peers: a flood of malformed, forged and
replayed RADIUS and DHCP while a subscriber logs in and out; each child killed in
turn while a RADIUS-provisioned intercept is up; the captured interface deleted and
created again; the analyzer away and back.

The first two use test_radius_sessions.RadiusCase's world: a network namespace of the test's
own (radpeer.Netns), FreeRADIUS on 127.0.0.1:21812/21813, the NAS's CoA server on
127.0.0.2:3799, analyzers on 127.0.0.3, snmptrapd, and pmirrord with `capture lo`.
Counters are `show mirror statistics` (docs/radius.md, "Counters"; docs/dhcp.md);
what the kernel dropped is read from the source's kernel_drops, if_drops and
ring_drops, and every count is asserted within those drops.  The last two use
test_mirror_path's world of three namespaces joined by veths (MirrorPathCase).
"""
import os
import re
import signal
import struct
import time
import unittest

import radpeer as rp
import test_mirror_path as mp
import test_procmodel as pm
from pmtest import wait_for
from test_mirror_path import MirrorPathCase, UnreachableCase
from test_radius_sessions import ALICE, ANALYZER, HANK, JACK, JM1, RadiusCase, vsas

DHCP_SERVER, ROGUE, GIADDR = "198.18.1.2", "198.18.1.66", "198.18.100.1"
PER_KIND = 1800          # 11 kinds: 19,800 datagrams, 23,400 frames
# datagrams a second, paced so that the capture ring keeps up (PM_FLOOD_RATE: unpaced runs)
RATE = int(os.environ.get("PM_FLOOD_RATE", "4000"))

# Run in the namespace: argv = per-kind count, rate.  Prints "sent KIND N" per kind.
FLOOD = r"""
import hashlib, os, socket, struct, sys, time
SECRET = b"li-test-secret"
n, rate = int(sys.argv[1]), float(sys.argv[2])
SERVER, NAS, NOBODY, NOCOA = "127.0.0.1", "127.0.0.2", "127.0.0.9", "127.0.0.4"
DHCP_SERVER, ROGUE, GIADDR = sys.argv[3:6]

def attrs(*avs):
    return b"".join(bytes([t, len(v) + 2]) + v for t, v in avs)

def rad(code, ident, auth, body):
    return bytes([code, ident & 255]) + struct.pack("!H", 20 + len(body)) + auth + body

def signed(code, ident, body):
    p = rad(code, ident, bytes(16), body)
    return p[:4] + hashlib.md5(p + SECRET).digest() + p[20:]

def acct_body(i):
    return attrs((40, struct.pack("!I", 1)), (1, b"flood-user"), (44, b"flood-%d" % i),
                 (4, bytes([127, 0, 0, 2])))

socks = {}
def send(src, sport, dst, dport, data):
    s = socks.get((src, sport))
    if s is None:
        s = socks[(src, sport)] = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
        s.bind((src, sport))
    while True:
        try:
            s.sendto(data, (dst, dport))
            return
        except ConnectionRefusedError:   # an ICMP port unreachable of an earlier datagram
            continue

raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)   # IP_HDRINCL

def csum(b):
    b += bytes(len(b) % 2)
    t = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while t >> 16:
        t = (t & 0xffff) + (t >> 16)
    return ~t & 0xffff

# A UDP datagram (checksum 0: none, RFC 768) as IPv4 fragments at offset cut (a multiple
# of 8); without the last one when last is false.
def fragments(src, dst, ident, sport, dport, payload, cut, last=True):
    udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    out = []
    for off, chunk, more in ((0, udp[:cut], 1), (cut, udp[cut:], 0))[:2 if last else 1]:
        h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(chunk), ident, (more << 13) | (off // 8),
                        64, 17, 0, socket.inet_aton(src), socket.inet_aton(dst))
        out.append(h[:10] + struct.pack("!H", csum(h)) + h[12:] + chunk)
    return out

def bootp(op, msgtype, yiaddr, opts=b"", giaddr="0.0.0.0"):
    b = bytes([op, 1, 6, 1]) + os.urandom(4) + bytes(4) + bytes(4) + socket.inet_aton(yiaddr)
    b += bytes(4) + socket.inet_aton(giaddr) + bytes.fromhex("020000000001") + bytes(10)
    b += bytes(192) + b"\x63\x82\x53\x63" + bytes([53, 1, msgtype]) + opts + b"\xff"
    return b

def malformed(i):
    p = rad(4, i, os.urandom(16), acct_body(i))
    return [p[:-3],                                            # the length says more than came
            p[:12],                                            # shorter than a header
            p[:2] + struct.pack("!H", 19) + p[4:],             # a length below 20
            p[:20] + bytes([1, 1]) + p[22:],                   # an attribute of length 1
            # an attribute running past the end
            rad(4, i, os.urandom(16), attrs((1, b"x")) + bytes([44, 40]) + b"short")][i % 5]


acct_replay = signed(4, 9, acct_body(-1))
coa = signed(43, 7, attrs((44, b"no-such-session"), (55, struct.pack("!I", int(time.time())))))
opt82 = bytes([82, 16, 1, 6]) + b"forged" + bytes([2, 6]) + b"\x00\x11\x22\x33\x44\x55"
kinds = [
    # RADIUS that RFC 2865 section 3 says to discard, five ways in turn
    ("radius_malformed", lambda i: (NAS, 40000, SERVER, 21813, malformed(i))),
    # an Accounting-Request whose Request Authenticator is not signed with the secret
    ("radius_bad_authenticator", lambda i: (NAS, 40001, SERVER, 21813,
                                            rad(4, i, os.urandom(16), acct_body(i)))),
    # an Access-Request whose Message-Authenticator (RFC 3579 section 3.2) is wrong
    ("radius_bad_msgauth", lambda i: (NAS, 40002, SERVER, 21812,
                                      rad(1, i, os.urandom(16), attrs((1, b"flood-user"),
                                                                      (80, os.urandom(16)))))),
    # a well-signed request, but to a server nobody configured
    ("radius_unknown_peer", lambda i: (NAS, 40003, NOBODY, 1813, signed(4, i, acct_body(i)))),
    # one fresh, signed CoA-Request (RFC 5176) sent again and again: a replay each time
    ("radius_replayed_coa", lambda i: (SERVER, 40004, NOCOA, 3799, coa)),
    # one signed Accounting-Request sent again and again: FreeRADIUS answers each copy
    # from its duplicate cache, so each answered copy after the first completes a
    # recorded exchange again (docs/radius.md, "Freshness")
    ("radius_replayed_accounting", lambda i: (NAS, 40005, SERVER, 21813, acct_replay)),
    # IPv4 fragments: a first fragment whose datagram never completes (the table evicts
    # or times it out), and a bad-authenticator Accounting-Request in two fragments
    ("fragment_incomplete", lambda i: fragments(NAS, SERVER, 0x4000 + i % 0x4000, 40006, 21813,
                                                acct_body(i) * 4, 64, last=False)),
    ("fragmented_bad_authenticator", lambda i: fragments(NAS, SERVER, 0x8000 + i % 0x4000, 40007,
                                                         21813, rad(4, i, os.urandom(16),
                                                                    acct_body(i)), 32)),
    # DHCP: a BOOTREQUEST cut short in its fixed header
    ("dhcp_malformed", lambda i: (ROGUE, 68, DHCP_SERVER, 67, bootp(1, 3, "0.0.0.0")[:100])),
    # DHCP: the options run past the end of the message (an option length too long)
    ("dhcp_malformed_options", lambda i: (ROGUE, 68, DHCP_SERVER, 67,
                                          bootp(1, 3, "0.0.0.0", bytes([61, 200, 1]))[:-1])),
    # DHCPACK with option 82 from an address that is no dhcpServer: a forged binding
    ("dhcp_forged_ack", lambda i: (ROGUE, 67, GIADDR, 67,
                                   bootp(2, 5, "198.18.200.%d" % (i % 250 + 1), opt82, GIADDR))),
]
t0, sent, frames = time.monotonic(), 0, 0
for i in range(n):
    for name, make in kinds:
        what = make(i)
        if isinstance(what, list):
            for pkt in what:
                raw.sendto(pkt, (SERVER, 0))
                frames += 1
        else:
            send(*what)
            frames += 1
        sent += 1
        ahead = sent / rate - (time.monotonic() - t0)
        if ahead > 0:
            time.sleep(ahead)
for name, _ in kinds:
    print("sent", name, n, flush=True)
print("frames", frames, flush=True)
# the answers FreeRADIUS sent to the replayed Accounting-Request
s, answers, deadline = socks[(NAS, 40005)], 0, time.monotonic() + 3
s.settimeout(0.5)
while time.monotonic() < deadline:
    try:
        if s.recv(4096)[0] == 5:
            answers += 1
    except socket.timeout:
        break
print("answered radius_replayed_accounting", answers, flush=True)
"""


class TestFlood(RadiusCase):
    users = (dict(ALICE, vsas=vsas(ALICE)),)
    mirror_lines = "dhcpServer %s\n" % DHCP_SERVER

    def setUp(self):
        super().setUp()
        for a in (DHCP_SERVER, ROGUE, GIADDR):
            self.ns.add_address(a + "/32")

    def counters(self, source):
        return pm.mirror_stats(self.env)["by_source"].get(source, {})

    def test_flood_of_malformed_forged_replayed_no_crash_right_counters(self):
        e, a = self.env, ALICE
        mid = a["mid"]
        tree0 = pm.tree(self.tree["monitor"])
        lo0, rad0, dh0 = self.src_lo(), self.counters("radius"), self.counters("dhcp")
        cap0 = self.counters("capture")
        script = e.path("flood.py")
        with open(script, "w") as f:
            f.write(FLOOD)
        flood = self.ns.popen([rp.PY, script, str(PER_KIND), str(RATE), DHCP_SERVER, ROGUE, GIADDR],
                              e.path("logs", "flood.out"))
        self.addCleanup(lambda: flood.poll() is None and rp.stop_pid(flood))
        # the legitimate subscriber logs in, is mirrored, is listed, and logs out, meanwhile
        self.login(a)
        self.wait_note("SessionStart", mid, timeout=30)
        self.traffic(a, "during-flood")
        self.wait_mirrored(a, "during-flood", mid, a["sid"])
        listed = e.ctl_json("show", "mirror", "subscribers")
        self.assertTrue(any(a["ip"] in r["session"] and r["session"].startswith("*")
                            for r in listed["subscribers"]), listed)
        self.assertIsNone(flood.poll(), "the flood ended before the login: make it longer")
        self.stop(a)
        self.wait_note("SessionEnd", mid, timeout=30)
        self.assertEqual(flood.wait(120), 0, e.read_log("flood"))
        out = e.read_log("flood")
        self.assertEqual(out.count("sent "), 11, out)
        frames = int(re.search(r"frames (\d+)", out).group(1))
        answered = int(re.search(r"answered radius_replayed_accounting (\d+)", out).group(1))
        self.assertGreater(answered, 1, out)
        # everything the capture saw is counted: the source's packet count settles
        settled = lambda: (lambda c: c if c.get("packets", 0) >= lo0.get("packets", 0) + frames
                           else None)(self.src_lo())
        wait_for(settled, 30, interval=0.5, what="the flood counted on lo")
        prev = [None]

        def stable():
            c = (self.src_lo().get("packets"), self.counters("radius"), self.counters("dhcp"),
                 self.counters("capture").get("reasm_in_progress"))
            same = c == prev[0]
            prev[0] = c
            return same
        wait_for(stable, 20, interval=1.2, what="the counters to settle")
        # incomplete datagrams expire 10 s after their first fragment
        wait_for(lambda: self.counters("capture").get("reasm_in_progress") == 0, 30, interval=0.5,
                 what="the fragment table to empty")
        lo, rad, dh = self.src_lo(), self.counters("radius"), self.counters("dhcp")
        cap = self.counters("capture")
        drops = sum(lo.get(k, 0) - lo0.get(k, 0)
                    for k in ("kernel_drops", "if_drops", "ring_drops"))
        d = lambda now, was, k: now.get(k, 0) - was.get(k, 0)
        got = {
            "radius malformed": (d(rad, rad0, "malformed"), PER_KIND),
            "radius auth_failed": (d(rad, rad0, "auth_failed"), 3 * PER_KIND),
            "fragments reassembled": (d(cap, cap0, "reasm"), PER_KIND),
            # in-progress datagrams are evicted by newer ones or expire (10 s)
            "fragments evicted or timed out": (d(cap, cap0, "reasm_evictions") +
                                               d(cap, cap0, "reasm_timeouts"), PER_KIND),
            "radius not_peer": (d(rad, rad0, "not_peer"), PER_KIND),
            # a copy sent before the previous copy's answer was seen is a retransmission of
            # the waiting request: its answer then finds no request (unpaired)
            "radius replays + unpaired": (d(rad, rad0, "replays") + d(rad, rad0, "unpaired"),
                                          PER_KIND - 1 + answered - 1),
            "dhcp malformed": (d(dh, dh0, "malformed"), 2 * PER_KIND),
            "dhcp untrusted": (d(dh, dh0, "untrusted"), PER_KIND),
        }
        print("flood: %d datagrams, %d dropped by the kernel/ring; counted %s" %
              (11 * PER_KIND, drops, dict({k: v[0] for k, v in got.items()},
                                       unpaired=d(rad, rad0, "unpaired"))))
        for k, (n, want) in got.items():
            self.assertLessEqual(n, want, k)
            self.assertGreaterEqual(n, want - drops,
                                    "%s: %d of %d with %d dropped" % (k, n, want, drops))
        self.assertEqual(d(dh, dh0, "acks"), 0, "a forged DHCPACK made a binding")
        self.assertEqual(d(rad, rad0, "msgauth_missing"), 0)
        # no crash: the same three processes, serving
        self.assertEqual(pm.tree(self.tree["monitor"]), tree0)
        self.assertEqual(self.kinds(mid), ["SessionStart", "SessionEnd"])
        # a second login after the flood is tracked and mirrored as the first
        self.login(a)
        self.wait_note("SessionStart", mid, count=2)
        self.traffic(a, "after-flood")
        self.wait_mirrored(a, "after-flood", mid, a["sid"])
        self.assertAlive()

    def test_capture_killed_during_the_flood_comes_back_with_the_intercept(self):
        """SIGKILL to the capture process in the middle of the flood: the new one starts
        under load, gets the RADIUS-provisioned intercept back from the agent and mirrors;
        the agent is not restarted and keeps serving."""
        e, a = self.env, ALICE
        mid = a["mid"]
        self.login(a)
        self.wait_note("SessionStart", mid, timeout=30)
        script = e.path("flood.py")
        with open(script, "w") as f:
            f.write(FLOOD)
        flood = self.ns.popen([rp.PY, script, "1000", str(RATE // 2), DHCP_SERVER, ROGUE, GIADDR],
                              e.path("logs", "flood.out"))
        self.addCleanup(lambda: flood.poll() is None and rp.stop_pid(flood))
        wait_for(lambda: self.counters("radius").get("auth_failed", 0) > 500, 20, interval=0.2,
                 what="the flood under way")
        agent = self.tree["agent"]
        self.restart_capture()
        self.assertIsNone(flood.poll(), "the flood ended before the new capture process ran")
        self.traffic(a, "after-kill")
        self.wait_mirrored(a, "after-kill", mid, a["sid"])
        self.assertEqual(self.tree["agent"], agent)
        self.assertEqual(flood.wait(120), 0, e.read_log("flood"))
        self.stop(a)
        self.wait_note("SessionEnd", mid, timeout=30)
        self.assertEqual(self.kinds(mid), ["SessionStart", "SessionEnd"])
        self.assertAlive()


class TestChildrenKilled(RadiusCase):
    users = (dict(HANK, vsas=vsas(HANK)), JACK)

    def resumed(self, h, tag):
        n = [0]

        def probe():
            n[0] += 1
            self.traffic(h, "%s%d" % (tag, n[0]), count=1)
            return self.jm.marked(tag.encode())
        got = wait_for(probe, 30, interval=0.3, what="mirroring to resume (%s)" % tag)
        self.assertEqual({(d.mid, d.sid) for d in got}, {(h["mid"], h["sid"])})

    def test_agent_then_capture_killed_the_intercept_survives_both(self):
        """The agent's intercept table is rebuilt from the capture process after the
        agent restarts (cp_sess_reannounce), so a capture restart after an agent restart
        still gets the RADIUS-provisioned intercept back (docs/process-model.md)."""
        e, h, mid = self.env, HANK, HANK["mid"]
        self.login(h)
        self.wait_note("SessionStart", mid)
        self.traffic(h, "first")
        self.wait_mirrored(h, "first", mid, h["sid"])
        # the agent
        old = self.tree
        os.kill(old["agent"], signal.SIGKILL)
        t2 = pm.ready_tree(e, old={"agent": old["agent"]})
        self.assertEqual(t2["capture"], old["capture"])
        wait_for(lambda: e.ctl("show", "version").returncode == 0, 10, what="the control socket")
        self.tree = t2
        wait_for(lambda: pm.mirror_stats(e).get("intercepts_held") == 1, 15, interval=0.3,
                 what="the new agent to hold the intercept the capture process announced again")
        self.traffic(h, "agent-gone")
        self.wait_mirrored(h, "agent-gone", mid, h["sid"])
        # then the capture process, twice in a row: the backoff doubles (1 s, then 2 s,
        # docs/process-model.md), and the new agent hands the intercept back each time
        for k, backoff in ((1, 1000), (2, 2000)):
            offset = len(e.read_log("pmirrord"))
            old = self.tree["capture"]
            t0 = time.monotonic()
            self.restart_capture()
            took = time.monotonic() - t0
            said = re.compile(r"capture process killed by SIGKILL; starting it again in (\d+) ms")
            line = wait_for(lambda: said.search(e.read_log("pmirrord")[offset:]), 10,
                            what="the monitor's log of kill %d" % k)
            print("capture restart %d: backoff %s ms, new process up after %.2f s" %
                  (k, line.group(1), took))
            self.assertEqual(int(line.group(1)), backoff)
            self.assertGreaterEqual(took, backoff / 1000.0 - 0.05)
            self.assertNotEqual(self.tree["capture"], old)
            self.resumed(h, "capture-gone%d-" % k)
        j = pm.mirror_stats(e)
        restarts = {m: j["by_process"][m]["restarts"] for m in ("agent", "capture")}
        self.assertEqual(restarts, {"agent": 1, "capture": 2})
        # notifications flow again: the session's end is seen once, with no second start
        self.stop(h)
        self.wait_note("SessionEnd", mid)
        self.assertEqual(self.kinds(mid), ["SessionStart", "SessionEnd"])
        self.assertAlive()

    def test_cli_target_after_a_capture_restart_comes_back_with_its_next_accounting(self):
        """A CLI rule's target: the agent keeps no intercept for it (docs/sessions.md,
        "Restart"); the new capture process knows the session again from its next
        Interim-Update (a target first seen mid-life) and mirrors it again."""
        e, j, mid = self.env, JACK, JACK["mid"]
        r = e.ctl("mirror", "username", j["user"], "analyzer", "%s:%d" % (ANALYZER, JM1),
                  "id", str(mid), secret=pm.pmtest.MIRROR_SECRET)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.login(j)
        start = self.wait_note("SessionStart", mid)
        sid = int(start["SessionIdentifier"].split()[-1])
        self.traffic(j, "first")
        self.wait_mirrored(j, "first", mid, sid)
        self.restart_capture()
        before = self.src_lo().get("packets", 0)
        self.traffic(j, "gap")
        self.captured_since(before, 6)
        gap = len(self.jm.marked(b"gap-"))
        print("CLI target after a capture restart: %d of 6 datagrams mirrored before the next "
              "Interim-Update" % gap)
        r = rp.acct(self.ns, "Interim-Update", j["user"], j["asid"],
                    [("Framed-IP-Address", j["ip"])])
        rp.assert_ok(self, r, "Interim-Update")
        act = self.wait_note("InterfaceSessionActivated", mid)
        sid2 = int(act["SessionIdentifier"].split()[-1])
        self.traffic(j, "back")
        self.wait_mirrored(j, "back", mid, sid2)
        self.assertEqual(self.kinds(mid), ["SessionStart", "InterfaceSessionActivated"])


class TestCaptureInterfaceRecreated(MirrorPathCase):
    MID, SID = 1501, 71501

    def veth_s0_b0(self):
        """The subscribers' link (s0 in S, b0 in B: the captured interface), its addresses
        and static neighbours, as MirrorPathCase.setUp makes it."""
        S, B = self.ns["S"], self.ns["B"]
        mp.run("ip", "link", "add", "s0", "netns", S, "type", "veth",
               "peer", "name", "b0", "netns", B)
        for ns, dev, addrs in ((S, "s0", [a + "/24" for a in mp.SUBS.values()]),
                               (B, "b0", [mp.PEER + "/24"])):
            for a in addrs:
                mp.run("ip", "-n", ns, "addr", "add", a, "dev", dev, "nodad")
            mp.run("ip", "-n", ns, "link", "set", dev, "mtu", "1500", "up")
        for ns, dev in ((S, "s0"), (B, "b0")):
            self.mac[dev] = mp.run("ip", "-n", ns, "-o", "link", "show", dev).split(
                "link/ether ")[1].split()[0]
        for ns, dev, addrs, peer in ((S, "s0", [mp.PEER], "b0"),
                                     (B, "b0", list(mp.SUBS.values()), "s0")):
            for a in addrs:
                mp.run("ip", "-n", ns, "neigh", "replace", a, "lladdr", self.mac[peer], "dev", dev,
                       "nud", "permanent")

    def source(self):
        return pm.mirror_stats(self.env)["by_source"].get("src:b0", {})

    def test_captured_interface_deleted_and_recreated_capture_resumes(self):
        """docs/capture-sources.md: the link watcher sees b0 go and come back; the same
        capture process opens it again (reopens 1), the session it tracked is still
        there, and mirroring resumes with the same IDs."""
        e = self.env
        self.listen()
        self.start([mp.rule(mp.SUBS["sub"], mp.AN, self.MID, self.SID)])
        self.login(("faults-recreate", mp.SUBS["sub"]))
        self.wait_started({self.MID})
        sub = self.subscriber(mp.SUBS["sub"])
        self.up(sub, [b"before"])
        (mid, sid, inner), = self.jmirror(1)
        self.assertEqual((mid, sid, inner[28:]), (self.MID, self.SID, b"before"))
        mon = pm.ready_tree(e)["monitor"]
        tree0 = pm.tree(mon)
        packets0 = self.source()["packets"]
        mp.run("ip", "-n", self.ns["B"], "link", "del", "b0")
        wait_for(lambda: self.source().get("state") in (pm.SRC_DOWN, pm.SRC_MISSING), 10,
                 what="b0 down")
        wait_for(lambda: [x for x in self.mirror_log() if re.search(r"\bsource b0 down\b", x)], 10,
                 what="b0 down in the mirror log")
        self.veth_s0_b0()
        wait_for(lambda: self.source().get("state") == pm.SRC_UP, 20, what="b0 up again")
        # the sockets bound to the link's addresses work again with the addresses back
        n = [0]

        def resumed():
            n[0] += 1
            self.up(sub, [b"after %d" % n[0]])
            return [d for d in self.drain() if b"after" in d]
        got = wait_for(resumed, 20, interval=0.2, what="mirroring to resume on the new b0")
        self.assertEqual({struct_ids(d) for d in got}, {(self.MID, self.SID)})
        st = self.source()
        self.assertEqual(st["reopens"], 1, st)
        self.assertGreater(st["packets"], packets0)
        self.assertTrue([x for x in self.mirror_log() if re.search(r"\bsource b0 up\b", x)],
                        self.mirror_log())
        # the capture process did not die: the same three processes
        self.assertEqual(pm.tree(mon), tree0)
        listed = e.ctl_json("show", "mirror", "subscribers")
        self.assertTrue(any(mp.SUBS["sub"] in r["session"] for r in listed["subscribers"]), listed)
        self.assertEqual(len(self.traps("SessionStart")), 1)


def struct_ids(datagram):
    return struct.unpack("!II", datagram[:8])


class TestAnalyzerAway(UnreachableCase):
    def test_analyzer_gone_and_back_one_notification_mirroring_resumes(self):
        """test_mirror_path's case 3a, one outage: the analyzer's socket closed while a
        target is mirrored, then opened again."""
        self.begin(listener=True)

        def close():
            self.analyzer.close()
            self.socks.remove(self.analyzer)
            self.analyzer = None
        lost = self.outage("Connection refused", 1, close, lambda: self.listen(self.ANA))
        self.stats_after(1, lost)


if __name__ == "__main__":
    unittest.main()
