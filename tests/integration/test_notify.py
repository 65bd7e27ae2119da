"""Secure SNMPv3 notifications to authorised trap hosts.

Events are raised through pm_evtestd (pmirrord's core plus a FIFO reader);
snmptrapd is the receiver, with a fixed engineID and matching USM users.
"""
import os
import re
import signal
import subprocess
import time
import unittest

import pmtest
from pmtest import (MIB_PREFIX, OID_TRAPENABLE, SRC, TRAP_USER, TRAPD_ENGINE, PmTestCase, free_udp_port,
                    read_text, trapd_conf, wait_for)

M = "Juniper-PACKET-MIRROR-MIB::juniPacketMirror"
# docs/mirror-mib.md, written out here independently of the C tables.
ABBR = {"DT": "DateAndTime", "CS": "ConfigurationSource", "TT": "TriggerType", "TR": "Trigger",
        "RID": "RouterId", "UN": "UserName", "MID": "Identifier", "SID": "SessionIdentifier",
        "EC": "ErrorCause", "AN": "ApplicationName", "ES": "ErrorString", "PN": "PolicyName",
        "PID": "PolicyId", "DIR": "Direction", "TIP": "TargetIpAddress", "AA": "AnalyzerAddress",
        "TRM": "TerminationReason"}
S12 = "DT CS TT TR RID MID SID PN PID DIR TIP AA".split()
TRAPS = {
    1: ("RadiusBasedMirroringFailure", "DT CS TT TR RID UN MID SID EC AN ES".split()),
    2: ("CliTriggerBasedMirroringFailure", "DT CS TT TR RID PN PID EC AN ES".split()),
    3: ("InterfaceDeleted", "DT CS TT TR RID MID SID PN PID DIR".split()),
    4: ("AnalyzerUnreachable", "DT AA RID".split()),
    5: ("SessionStart", S12),
    6: ("SessionEnd", S12 + ["TRM"]),
    7: ("InterfaceSessionActivated", S12),
    8: ("InterfaceSessionDeactivated", S12),
    9: ("SessionReject", "DT CS TT TR RID MID SID PN PID DIR".split()),
    10: ("SessionFailed", S12 + ["TRM"]),
}
EVENT = ("trap={n} mid={mid} sid={sid} trigger=alice%40isp.example tt=3 cs=1 rid=7 user=alice-sub ec=4 app=0 "
         "err=no%20route%20to%20analyzer policy=spl_88000008 pid=42 dir=1 tip=198.18.0.5 aa=198.18.0.9 trm=5")
EXPECT = {
    "DT": r"STRING: \d{4}-\d{1,2}-\d{1,2},\d{1,2}:\d{1,2}:\d{1,2}\.\d,[+-]\d{1,2}:\d{1,2}",
    "CS": r"INTEGER: radiusCoa\(1\)",
    "TT": r"INTEGER: username\(3\)",
    "TR": r'STRING: "?alice@isp\.example"?',
    "RID": r"Gauge32: 7",
    "UN": r'STRING: "?alice-sub"?',
    "MID": r"Gauge32: {mid}",
    "SID": r"Gauge32: {sid}",
    "EC": r"INTEGER: invalidAnalyzerAddress\(4\)",
    "AN": r"INTEGER: policyManager\(0\)",
    "ES": r'STRING: "?no route to analyzer"?',
    "PN": r'STRING: "?spl_88000008"?',
    "PID": r"Gauge32: 42",
    "DIR": r"INTEGER: egress\(1\)",
    "TIP": r"IpAddress: 198\.18\.0\.5",
    "AA": r"IpAddress: 198\.18\.0\.9",
    "TRM": r"INTEGER: sessionTimeout\(5\)",
}
SECRETS = ("alice", "198.18.0.9", "198.18.0.5", "spl_88000008")


def varbinds(line):
    """RX header|name = TYPE: value|... -> (header, [(name, 'TYPE: value')])"""
    parts = line.split("|")
    out = []
    for p in parts[1:]:
        if " = " in p:
            name, val = p.split(" = ", 1)
            out.append((name.strip(), val.strip()))
    return parts[0], out


def mids(lines, numeric=True):
    res = []
    for l in lines:
        m = re.search(r"(?:77\.3\.1\.1\.0|Identifier\.0) = Gauge32: (\d+)", l)
        if m:
            res.append(int(m.group(1)))
    return res


class NotifyCase(PmTestCase):
    def setUp(self):
        super().setUp()
        self.env.secrets.update(SECRETS)
        if not os.access(pmtest.PM_EVTESTD, os.X_OK):
            self.fail("missing " + pmtest.PM_EVTESTD)

    def trapd(self, name="snmptrapd", port=None, mibs=False, users=(TRAP_USER,), extra=""):
        port = port or self.env.trap_port
        d = self.env.start_snmptrapd(name=name, port=port, conf=trapd_conf(port, users=users, extra=extra))
        return d

    def start_trapd_with_mibs(self, name, port):
        etc = self.env.path(name, "etc")
        persist = self.env.path(name, "persist")
        os.makedirs(etc, exist_ok=True)
        os.makedirs(persist, exist_ok=True)
        with open(os.path.join(etc, "snmptrapd.conf"), "w") as f:
            f.write(trapd_conf(port))
        env = dict(os.environ, MIBS="", SNMPCONFPATH=etc + ":" + persist, SNMP_PERSISTENT_DIR=persist,
                   HOME=self.env.dir)
        log = self.env.path("logs", name + ".log")
        mibdirs = os.path.join(SRC, "mibs") + ":" + self.env.ietf
        self.env._spawn(name, ["/usr/sbin/snmptrapd", "-f", "-X", "-A", "-M", mibdirs, "-m",
                               "SNMPv2-MIB:Juniper-PACKET-MIRROR-MIB", "-Lf", log, "-p", self.env.path("run", name + ".pid")],
                        env)
        wait_for(lambda: os.path.exists(log) and "NET-SNMP version" in read_text(log), 20, what=name)


class TestNotifications(NotifyCase):
    def check_decoded(self, line, n, mid, sid):
        header, vbs = varbinds(line)
        name, objs = TRAPS[n]
        names = [v[0] for v in vbs]
        expected = ["DISMAN-EVENT-MIB::sysUpTimeInstance", "SNMPv2-MIB::snmpTrapOID.0"] + \
                   [M + ABBR[o] + ".0" for o in objs]
        # Without DISMAN-EVENT-MIB text Net-SNMP names sysUpTime.0 by number or SNMPv2-MIB.
        self.assertRegex(names[0], r"sysUpTime(Instance|\.0)|1\.3\.6\.1\.2\.1\.1\.3\.0|mib-2\.1\.3\.0$")
        self.assertEqual(names[1], "SNMPv2-MIB::snmpTrapOID.0")
        self.assertEqual(names[2:], expected[2:], "varbind order of %s" % name)
        self.assertRegex(vbs[0][1], r"^Timeticks: ")
        self.assertEqual(vbs[1][1], "OID: " + M + name)
        for (vname, val), o in zip(vbs[2:], objs):
            self.assertRegex(val, "^" + EXPECT[o].replace("{mid}", str(mid)).replace("{sid}", str(sid)) + "$", "%s %s" % (name, vname))

    def test_ten_notifications_as_traps_and_informs(self):
        p_trap, p_inform = free_udp_port(), free_udp_port()
        self.start_trapd_with_mibs("rx-trap", p_trap)
        self.start_trapd_with_mibs("rx-inform", p_inform)
        self.env.start_evtestd("trapEnable true\n" + self.env.trap_host(port=p_trap) + "\n" +
                               self.env.trap_host(port=p_inform, extra="inform engineId " + TRAPD_ENGINE))
        for n in TRAPS:
            self.env.raise_event(EVENT.format(n=n, mid=1000 + n, sid=2000 + n))
        for rx, kind in (("rx-trap", "TRAP2"), ("rx-inform", "INFORM")):
            lines = wait_for(lambda: len(self.env.trap_lines(rx)) >= 10 and self.env.trap_lines(rx), 20,
                             what="ten notifications at " + rx)
            self.assertEqual(len(lines), 10, lines)
            for line in lines:
                self.assertIn(kind + ", SNMP v3, user trapUser", line)
                m = re.search(r"OID: " + M + r"(\w+)\|", line)
                n = [k for k, v in TRAPS.items() if v[0] == m.group(1)][0]
                self.check_decoded(line, n, 1000 + n, 2000 + n)
        self.assertAlive()

    def test_display_strings_cut_at_mib_limits(self):
        self.trapd()
        self.env.start_evtestd("trapEnable true\n" + self.env.trap_host())
        # 300 octets of trigger (limit 255); user name "a" + 70 two-octet characters (limit 64 octets)
        self.env.raise_event("trap=1 mid=1 trigger=*300:t user=a" + "%C3%A9" * 70 + " err=*300:e")
        line = wait_for(lambda: self.env.trap_lines(), 10, what="trap")[0]
        _, vbs = varbinds(line)
        vals = dict(vbs)
        self.assertEqual(vals[".1.3.6.1.4.1.4874.2.2.77.3.1.3.0"], 'STRING: "' + "t" * 255 + '"')
        self.assertEqual(vals[".1.3.6.1.4.1.4874.2.2.77.3.1.7.0"], 'STRING: "' + "e" * 255 + '"')
        user = vals[".1.3.6.1.4.1.4874.2.2.77.3.1.10.0"]
        # 64 octets would split the 32nd character: cut to "a" + 31 whole characters (63 octets)
        octets = user.replace("Hex-STRING:", "").split()
        self.assertEqual(octets, ["61"] + ["C3", "A9"] * 31, user)

    def test_trap_enable_gate(self):
        self.env.start_snmpd()
        self.trapd()
        self.env.start_evtestd(self.env.trap_host())   # trapEnable defaults to false
        self.env.wait_registered()
        self.env.raise_event("trap=5 mid=1")
        self.assertEqual(self.env.snmpset_v3(OID_TRAPENABLE, "i", "1").returncode, 0)
        self.env.raise_event("trap=5 mid=2")
        wait_for(lambda: self.env.trap_lines(), 10, what="the second notification")
        self.assertEqual(mids(self.env.trap_lines()), [2])
        self.assertEqual(self.env.snmpset_v3(OID_TRAPENABLE, "i", "2").returncode, 0)
        self.env.raise_event("trap=5 mid=3")
        self.assertEqual(self.env.snmpset_v3(OID_TRAPENABLE, "i", "1").returncode, 0)
        self.env.raise_event("trap=5 mid=4")
        wait_for(lambda: 4 in mids(self.env.trap_lines()), 10, what="the fourth notification")
        self.assertEqual(mids(self.env.trap_lines()), [2, 4])
        st = self.env.ctl_json("show", "snmp", "trap")
        self.assertEqual(st["not_sent_trap_disabled"], 2)

    def test_severity_filters_global_and_host(self):
        p2 = free_udp_port()
        self.trapd()
        self.trapd(name="rx2", port=p2)
        # global minimum 5 (notice): SessionStart (6) never leaves; host 2 takes only <= 4.
        self.env.start_evtestd("trapEnable true\nglobalTrapSeverity 5\ntrapSeverity SessionEnd 1\n" +
                               self.env.trap_host() + "\n" + self.env.trap_host(port=p2, extra="severity 4"))
        self.env.raise_event("trap=5 mid=1")    # 6 informational: filtered globally
        self.env.raise_event("trap=9 mid=2")    # 5 notice: host 1 only
        self.env.raise_event("trap=10 mid=3")   # 4 warning: both
        self.env.raise_event("trap=6 mid=4")    # overridden to 1: both (the marker)
        wait_for(lambda: 4 in mids(self.env.trap_lines()) and 4 in mids(self.env.trap_lines("rx2")), 10,
                 what="the marker at both receivers")
        self.assertEqual(mids(self.env.trap_lines()), [2, 3, 4])
        self.assertEqual(mids(self.env.trap_lines("rx2")), [3, 4])
        st = self.env.ctl_json("show", "snmp", "trap")
        self.assertEqual(st["filtered_global_severity"], 1)
        rows = {r["address"]: r for r in st["counters"]}
        self.assertEqual(rows["127.0.0.1:%d" % p2]["filtered"], 1)
        self.assertEqual(rows["127.0.0.1:%d" % self.env.trap_port]["filtered"], 0)
        self.assertEqual(rows["127.0.0.1:%d" % p2]["sent"], 2)

    def test_other_keys_read_nothing_and_wire_is_encrypted(self):
        p_bad = free_udp_port()
        pcap = self.env.path("wire.pcap")
        self.trapd()
        wrong = (TRAP_USER[0], TRAP_USER[1], TRAP_USER[2], TRAP_USER[3], "another-priv-pass")
        self.trapd(name="rx-wrong", port=p_bad, users=(wrong,))
        tshark = self.env._spawn("tshark", ["tshark", "-i", "lo", "-n", "-f",
                                            "udp port %d or udp port %d" % (self.env.trap_port, p_bad),
                                            "-w", pcap])
        wait_for(lambda: "Capturing on" in self.env.read_log("tshark"), 30, what="tshark to capture")
        self.env.start_evtestd("trapEnable true\n" + self.env.trap_host() + "\n" + self.env.trap_host(port=p_bad))
        self.env.raise_event("trap=5 mid=77 trigger=alice user=alice aa=198.18.0.9")
        wait_for(lambda: self.env.trap_lines(), 10, what="the good receiver")

        def captured():
            r = subprocess.run(["tshark", "-r", pcap, "-n", "-d", "udp.port==%d,snmp" % self.env.trap_port,
                                "-d", "udp.port==%d,snmp" % p_bad, "-T", "fields", "-e", "udp.dstport", "-e",
                                "snmp.msgFlags", "-e", "snmp.encryptedPDU", "-e", "snmp.msgUserName"],
                               capture_output=True, text=True)
            return [l.split("\t") for l in r.stdout.splitlines() if l.strip()]
        rows = wait_for(lambda: len(captured()) >= 2 and captured(), 20, what="both packets on the wire")
        self.env.stop("tshark", signal.SIGINT)
        self.assertEqual(sorted(int(r[0]) for r in rows), sorted([self.env.trap_port, p_bad]))
        for r in rows:
            self.assertEqual(r[1], "03", "msgFlags: auth and priv, not reportable")
            self.assertTrue(r[2], "the scopedPDU is encrypted")
            self.assertEqual(r[3], "trapUser")
        raw = open(pcap, "rb").read()
        for s in (b"alice", b"198.18.0.9", bytes([198, 18, 0, 9])):
            self.assertNotIn(s, raw)
        # the receiver with other keys decoded nothing (it saw the packet: tshark says so)
        self.assertEqual(self.env.trap_lines("rx-wrong"), [])

    def test_config_refuses_insecure_hosts(self):
        conf = self.env.path("bad.conf")
        cases = [
            ("trapHost 198.18.0.1 version v2c community public\n", "SNMPv3 authPriv only"),
            ("trapHost 198.18.0.1 user u auth SHA-256 authpass1\n", "missing \"priv"),
            ("trapHost 198.18.0.1 user u auth SHA-256 authpass1 priv AES\n", "no passphrase"),
            ("trapHost 198.18.0.1 user u auth MD5 authpass1 priv AES privpass1\n", "MD5 is refused"),
            ("trapHost 198.18.0.1 user u auth SHA-256 authpass1 priv DES privpass1\n", "DES is refused"),
            ("trapHost 198.18.0.1 user u auth SHA-256 authpass1 priv AES privpass1 queueSize 16\n", "queueSize"),
        ]
        # one USM user per (engineID, name): the second host would silently get the first's keys
        with open(conf, "w") as f:
            f.write("trapHost 198.18.0.1 user u auth SHA-256 authpass1 priv AES privpass1\n"
                    "trapHost 198.18.0.2 user u auth SHA-256 authpass2 priv AES privpass1\n")
        r = subprocess.run([pmtest.PMIRRORD, "-n", "-c", conf], capture_output=True, text=True)
        self.assertEqual(r.returncode, 2)
        self.assertIn(conf + ":2: trapHost: user u is defined at " + conf + ":1 with other credentials", r.stderr)
        for text, msg in cases:
            with open(conf, "w") as f:
                f.write("# line 1\n" + text)
            r = subprocess.run([pmtest.PMIRRORD, "-n", "-c", conf], capture_output=True, text=True)
            self.assertEqual(r.returncode, 2, text)
            self.assertIn(conf + ":2: trapHost: ", r.stderr)
            self.assertIn(msg, r.stderr)

    def test_ipv6_trap_host(self):
        self.trapd(extra="snmpTrapdAddr udp6:[::1]:%d\n" % self.env.trap_port)
        self.env.start_evtestd("trapEnable true\n" + self.env.trap_host().replace(
            "127.0.0.1:%d" % self.env.trap_port, "[::1]:%d" % self.env.trap_port))
        self.env.raise_event("trap=4 rid=3 aa=198.18.0.9")
        line = wait_for(lambda: self.env.trap_lines(), 10, what="trap over IPv6")[0]
        self.assertIn(".1.3.6.1.4.1.4874.2.2.77.3.0.4", line)


class TestRuntimeTrapHosts(NotifyCase):
    """trap-host add/remove from pmirrorctl after mirror-enable, never over SNMP."""

    def add_args(self, port, user=TRAP_USER, extra=()):
        name, a, ap, p, pp = user
        return ["trap-host", "add", "127.0.0.1:%d" % port, "user", name, "auth", a, ap, "priv", p, pp,
                *extra]

    def test_add_send_remove(self):
        self.env.secrets.update({TRAP_USER[2], TRAP_USER[4]})
        self.trapd()
        self.env.start_evtestd("trapEnable true\n")
        r = self.env.ctl(*self.add_args(self.env.trap_port), secret=pmtest.MIRROR_SECRET)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.env.raise_event("trap=5 mid=1")
        wait_for(lambda: mids(self.env.trap_lines()) == [1], 10, what="the trap to the added host")
        hosts = self.env.ctl_json("show", "snmp", "trap")["hosts"]
        self.assertEqual([h["address"] for h in hosts], ["127.0.0.1:%d" % self.env.trap_port])
        r = self.env.ctl("trap-host", "remove", "127.0.0.1:%d" % self.env.trap_port,
                         secret=pmtest.MIRROR_SECRET)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.env.raise_event("trap=5 mid=2")
        wait_for(lambda: self.env.ctl_json("show", "snmp", "trap")["events"] == 2, 10,
                 what="the second event handled")
        self.assertEqual(self.env.ctl_json("show", "snmp", "trap").get("hosts", []), [])
        self.assertEqual(mids(self.env.trap_lines()), [1])

    def test_hidden_before_mirror_enable_and_refusals(self):
        self.env.start_evtestd("trapEnable true\n" + self.env.trap_host())
        hidden = self.env.ctl(*self.add_args(free_udp_port()))
        unknown = self.env.ctl("trap-host", "frobnicate")
        self.assertEqual((hidden.returncode, hidden.stdout), (unknown.returncode, unknown.stdout))
        # the trapHost rules hold here too
        md5 = self.add_args(free_udp_port(), user=("u2", "MD5", "authpass1", "AES", "privpass1"))
        r = self.env.ctl(*md5, secret=pmtest.MIRROR_SECRET)
        self.assertEqual(r.returncode, 1)
        self.assertIn("auth MD5 is refused", r.stdout + r.stderr)
        # the configured host's user with other keys would share its USM entry
        other = (TRAP_USER[0], TRAP_USER[1], "different-auth", TRAP_USER[3], TRAP_USER[4])
        r = self.env.ctl(*self.add_args(free_udp_port(), user=other), secret=pmtest.MIRROR_SECRET)
        self.assertEqual(r.returncode, 1)
        self.assertIn("with other credentials for the same engineID", r.stdout + r.stderr)
        r = self.env.ctl(*self.add_args(self.env.trap_port), secret=pmtest.MIRROR_SECRET)
        self.assertIn("is already defined at", r.stdout + r.stderr)
        self.assertEqual(len(self.env.ctl_json("show", "snmp", "trap")["hosts"]), 1)


class TestNothingThroughMaster(NotifyCase):
    def test_snmpd_sinks_get_nothing(self):
        """A v2c trap2sink in snmpd never sees a mirror notification: pmirrord sends no
        AgentX Notify-PDU, so snmpd's snmpOutTraps does not move."""
        p_v2c = free_udp_port()
        OUT_TRAPS = "1.3.6.1.2.1.11.29.0"
        self.trapd(name="rx-v2c", port=p_v2c, extra="authCommunity log public\n")
        self.env.write_snmpd_conf("trap2sink 127.0.0.1:%d public\n" % p_v2c)
        self.env.start_snmpd()
        self.trapd()
        self.env.start_evtestd("trapEnable true\n" + self.env.trap_host())
        self.env.wait_registered()
        # snmpd's own coldStart reaches its sink: the sink works
        wait_for(lambda: self.env.trap_lines("rx-v2c"), 10, what="snmpd's coldStart at the v2c sink")
        before = self.env.snmpget_v3(OUT_TRAPS).stdout
        self.env.raise_event("trap=5 mid=1 count=10")
        wait_for(lambda: len(mids(self.env.trap_lines())) == 10, 10, what="ten notifications at the v3 host")
        # An AgentX Get on the same session is answered only after anything pmirrord
        # sent before it on that stream (a Notify would be) has been processed.
        self.assertIn("INTEGER", self.env.snmpget_v3(OID_TRAPENABLE).stdout)
        self.assertEqual(self.env.snmpget_v3(OUT_TRAPS).stdout, before)
        self.assertNotIn("4874", "\n".join(self.env.trap_lines("rx-v2c")))
        self.assertNotIn("4874.2.2.77.3", read_text(self.env.path("logs", "snmpd.log")))


class TestQueues(NotifyCase):
    def burst(self, method, extra=""):
        self.trapd()
        self.env.start_evtestd("trapEnable true\n" + self.env.trap_host(
            extra="drainRate 25 queueSize 32 queueFull %s %s" % (method, extra)))
        t0 = time.monotonic()
        self.env.raise_event("trap=5 mid=1 count=100")
        # done when the queue is empty and nothing is in flight
        def settled():
            st = self.env.ctl_json("show", "snmp", "trap")
            row = st["counters"][0]
            sent, drops = row["sent"], row["queue_full_discards"]
            return (sent + drops == 100 and row["queued"] == 0) and (sent, drops)
        sent, drops = wait_for(settled, 30, interval=0.2, what="the queue to drain")
        got = wait_for(lambda: len(mids(self.env.trap_lines())) >= sent and mids(self.env.trap_lines()), 10,
                       what="every sent trap")
        return sent, drops, got, time.monotonic() - t0

    def test_drop_last_in_keeps_the_oldest(self):
        sent, drops, got, took = self.burst("dropLastIn")
        self.assertEqual(len(got), sent)
        self.assertEqual(drops, 100 - sent)
        self.assertGreaterEqual(drops, 50)
        self.assertEqual(got, list(range(1, sent + 1)), "the oldest were kept, in order")
        # the drain rate holds: 25/s, so sent-1 gaps take at least (sent-1)/25 s
        self.assertGreaterEqual(took, (sent - 1) / 25.0 * 0.9)

    def test_drop_first_in_keeps_the_newest(self):
        sent, drops, got, took = self.burst("dropFirstIn")
        self.assertEqual(len(got), sent)
        self.assertEqual(drops, 100 - sent)
        self.assertGreaterEqual(drops, 50)
        self.assertEqual(got[-32:], list(range(69, 101)), "the 32 newest were kept")
        self.assertEqual(got, sorted(got))


class TestReceiverDown(NotifyCase):
    """Informs to a receiver that is down: 64 wait unacknowledged, queueSize more are
    queued, the rest are discarded by the queue-full method; all kept ones arrive."""

    def run_down(self, method):
        self.env.start_evtestd("trapEnable true\n" + self.env.trap_host(
            extra="inform engineId %s timeout 1 retries 12 queueSize 32 queueFull %s" % (TRAPD_ENGINE, method)))
        self.env.raise_event("trap=5 mid=1 count=200")

        def held():
            row = self.env.ctl_json("show", "snmp", "trap")["counters"][0]
            return row if row["queue_full_discards"] == 104 else None
        row = wait_for(held, 10, interval=0.1, what="the queue to fill")
        self.assertEqual((row["in_flight"], row["queued"], row["sent"]), (64, 32, 0))
        self.trapd()
        wait_for(lambda: len(set(mids(self.env.trap_lines()))) == 96, 30, what="96 informs")
        wait_for(lambda: self.env.ctl_json("show", "snmp", "trap")["counters"][0]["sent"] == 96, 10,
                 what="96 acknowledgements")
        row = self.env.ctl_json("show", "snmp", "trap")["counters"][0]
        self.assertEqual((row["queue_full_discards"], row["no_response_discards"]), (104, 0))
        return sorted(set(mids(self.env.trap_lines())))

    def test_drop_last_in(self):
        self.assertEqual(self.run_down("dropLastIn"), list(range(1, 97)))

    def test_drop_first_in(self):
        self.assertEqual(self.run_down("dropFirstIn"), list(range(1, 65)) + list(range(169, 201)))


class TestInforms(NotifyCase):
    def test_informs_sent_while_receiver_down_arrive_when_back(self):
        self.env.start_evtestd("trapEnable true\n" + self.env.trap_host(
            extra="inform engineId %s timeout 1 retries 8" % TRAPD_ENGINE))
        self.env.raise_event("trap=5 mid=1 count=5")
        wait_for(lambda: self.env.ctl_json("show", "snmp", "trap")["counters"][0]["in_flight"] == 5, 10,
                 what="five informs in flight")
        self.trapd()  # the receiver comes up within the retry budget (9 s)
        wait_for(lambda: sorted(set(mids(self.env.trap_lines()))) == [1, 2, 3, 4, 5], 15,
                 what="all five informs")
        wait_for(lambda: self.env.ctl_json("show", "snmp", "trap")["counters"][0]["sent"] == 5, 10,
                 what="five acknowledgements")
        row = self.env.ctl_json("show", "snmp", "trap")["counters"][0]
        self.assertEqual(row["no_response_discards"], 0)

    def test_inform_no_response_counted(self):
        self.env.start_evtestd("trapEnable true\n" + self.env.trap_host(
            extra="inform engineId %s timeout 1 retries 0" % TRAPD_ENGINE))
        self.env.raise_event("trap=5 mid=1 count=3")
        wait_for(lambda: self.env.ctl_json("show", "snmp", "trap")["counters"][0]["no_response_discards"] == 3,
                 15, what="three no-response discards")

    def test_engine_id_discovered_without_blocking(self):
        self.env.start_snmpd()
        self.trapd()
        self.env.start_evtestd("trapEnable true\n" + self.env.trap_host(extra="inform"))
        self.env.wait_registered()
        self.env.raise_event("trap=5 mid=1 count=3")
        wait_for(lambda: sorted(set(mids(self.env.trap_lines()))) == [1, 2, 3], 15, what="three informs")
        self.assertIn("engineID discovered", self.env.read_log("pmirrord"))

    def test_discovery_with_receiver_down_never_blocks_the_agent(self):
        self.env.start_snmpd()
        self.env.start_evtestd("trapEnable true\n" + self.env.trap_host(extra="inform timeout 2 retries 3"))
        self.env.wait_registered()
        self.env.raise_event("trap=5 mid=1 count=20")
        # while the probe is outstanding, GETs through snmpd keep being answered at once
        for _ in range(10):
            t = time.monotonic()
            r = self.env.snmpget_v3(OID_TRAPENABLE, timeout=1)
            self.assertIn("INTEGER", r.stdout)
            self.assertLess(time.monotonic() - t, 1.0)
        self.trapd()
        wait_for(lambda: len(set(mids(self.env.trap_lines()))) == 20, 30, what="all informs after discovery")

    def test_master_restart_during_burst_loses_nothing(self):
        self.env.start_snmpd()
        self.trapd()
        self.env.start_evtestd("trapEnable true\n" + self.env.trap_host(
            extra="inform engineId %s queueSize 1000" % TRAPD_ENGINE))
        self.env.wait_registered()
        self.env.raise_event("trap=5 mid=1 count=400 rate=200")
        wait_for(lambda: len(self.env.trap_lines()) >= 50, 10, what="the burst to start")
        self.env.stop("snmpd", signal.SIGKILL)
        self.env.start_snmpd()
        wait_for(lambda: len(set(mids(self.env.trap_lines()))) == 400, 30, what="all 400 notifications")
        self.assertEqual(sorted(set(mids(self.env.trap_lines()))), list(range(1, 401)))
        self.assertAlive()


if __name__ == "__main__":
    unittest.main()
