"""Secure trap hosts managed at run time and at start-up: key rotation, address
forms, send-failure counters, the engineID operators need, complete audit
evidence and configuration errors that keep secrets to themselves.

Receivers are real snmptrapd instances; hosts are added and removed with
pmirrorctl after mirror-enable.
"""
import os
import secrets
import select
import socket
import struct
import subprocess
import threading
import time

import pmtest
from pmtest import AGENT_ENGINE, MIRROR_SECRET, TRAP_USER, PmTestCase, free_udp_port, read_text, trapd_conf, \
    wait_for

OLD = ("rotUser", "SHA-256", "old-auth-passphrase", "AES", "old-priv-passphrase")
NEW = ("rotUser", "SHA-256", "new-auth-passphrase", "AES", "new-priv-passphrase")
MARK = ("markUser", "SHA-256", "mark-auth-passphrase", "AES", "mark-priv-passphrase")


def field(d, *names):
    """The first of names present in d (display headings and snake_case keys)."""
    for n in names:
        if n in d:
            return str(d[n]) if isinstance(d[n], int) else d[n]
    raise KeyError("none of %s in %s" % (names, sorted(d)))


class TrapHostCase(PmTestCase):
    def setUp(self):
        super().setUp()
        self.env.secrets.update({"T0tttt", "u0uuuu"})

    def add(self, address, user, extra=()):
        name, a, ap, p, pp = user
        self.env.secrets.update({ap, pp})
        r = self.env.ctl("trap-host", "add", address, "user", name, "auth", a, ap, "priv", p, pp, *extra,
                         secret=MIRROR_SECRET)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        return r

    def remove(self, address):
        return self.env.ctl("trap-host", "remove", address, secret=MIRROR_SECRET)

    def hosts(self):
        return self.env.ctl_json("show", "snmp", "trap").get("hosts", [])

    def counters(self):
        st = self.env.ctl_json("show", "snmp", "trap")
        return {field(r, "Address", "address"): r for r in st.get("counters", [])}

    def receiver(self, name, ports, users):
        """snmptrapd on one or more 127.0.0.1 ports that knows only users."""
        conf = trapd_conf(ports[0], users=users)
        conf = conf.replace("snmpTrapdAddr udp:127.0.0.1:%d" % ports[0],
                            "snmpTrapdAddr " + ",".join("udp:127.0.0.1:%d" % p for p in ports))
        return self.env.start_snmptrapd(name=name, port=ports[0], conf=conf)


class TestKeyRotation(TrapHostCase):
    def test_remove_then_add_with_new_keys_uses_the_new_keys(self):
        p_new, p_old, p_mark = free_udp_port(), free_udp_port(), free_udp_port()
        self.receiver("rx-new", [p_new], (NEW,))
        self.receiver("rx-old", [p_old, p_mark], (OLD, MARK))
        self.env.start_evtestd("trapEnable true\n")
        a_new, a_old = "127.0.0.1:%d" % p_new, "127.0.0.1:%d" % p_old
        self.add(a_new, OLD)
        self.assertEqual(self.remove(a_new).returncode, 0)
        self.add(a_new, NEW)
        self.add(a_old, NEW)
        self.add("127.0.0.1:%d" % p_mark, MARK)   # sent after the two above
        self.env.raise_event("trap=5 mid=1")
        wait_for(lambda: self.env.trap_lines("rx-old"), 10, what="the marker at the OLD-only receiver")
        wait_for(lambda: self.env.trap_lines("rx-new"), 10, what="the notification decoded with the NEW keys")
        self.assertIn("user rotUser", self.env.trap_lines("rx-new")[0])
        old_lines = self.env.trap_lines("rx-old")
        self.assertEqual(len(old_lines), 1, old_lines)
        self.assertIn("user markUser", old_lines[0])
        self.assertEqual(field(self.counters()[a_old], "Sent", "sent"), "1")
        self.assertAlive()


class TestRunTimeQueue(TrapHostCase):
    def test_run_time_queue_larger_than_budgeted_is_refused(self):
        """Locked memory is budgeted at start for run-time hosts with the default queue
        (docs/memory-locking.md): a larger queue belongs in the configuration file."""
        self.env.start_evtestd("trapEnable true\n")
        name, a, ap, p, pp = TRAP_USER
        self.env.secrets.update({ap, pp})
        r = self.env.ctl("trap-host", "add", "127.0.0.1:1162", "user", name, "auth", a, ap, "priv", p, pp,
                         "queueSize", "33", secret=MIRROR_SECRET)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("queueSize 33 is more than a host added at run time may have (32)", r.stdout + r.stderr)
        self.assertEqual(self.hosts(), [])
        self.add("127.0.0.1:1162", TRAP_USER, extra=("queueSize", "32"))
        self.assertEqual(len(self.hosts()), 1)


class TestAddressForms(TrapHostCase):
    def test_remove_finds_the_host_whatever_the_spelling(self):
        self.env.start_evtestd("trapEnable true\n")
        self.add("127.0.0.1:162", TRAP_USER)
        r = self.remove("127.0.0.1")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(self.hosts(), [])
        self.add("127.0.0.1", TRAP_USER)
        r = self.remove("127.0.0.1:162")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(self.hosts(), [])
        self.add("[::1]", TRAP_USER)
        r = self.remove("[0:0::1]:162")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(self.hosts(), [])
        # another port is another host; and the duplicate check sees through the spelling
        self.add("127.0.0.1", TRAP_USER)
        r = self.remove("127.0.0.1:1162")
        self.assertEqual(r.returncode, 1)
        self.assertIn("no trap host 127.0.0.1:1162", r.stdout + r.stderr)
        name, a, ap, p, pp = TRAP_USER
        r = self.env.ctl("trap-host", "add", "127.0.0.1:162", "user", name, "auth", a, ap, "priv", p, pp,
                         secret=MIRROR_SECRET)
        self.assertEqual(r.returncode, 1)
        self.assertIn("is already defined", r.stdout + r.stderr)
        self.assertEqual(len(self.hosts()), 1)


class TestCounters(TrapHostCase):
    """The daemon and its receiver run in a network namespace of their own that has
    only lo: the failing host's address (198.18.0.0/15, RFC 2544 benchmarking) has
    no route there, so sendto() fails with ENETUNREACH and nothing is transmitted.
    pmirrorctl still reaches the daemon: the control socket is a filesystem path."""
    FAILING = "198.18.0.1"

    def setUp(self):
        ns = "pmtest-" + secrets.token_hex(4)
        r = subprocess.run(["ip", "netns", "add", ns], capture_output=True, text=True)
        if r.returncode != 0:
            self.fail("cannot create network namespace %s (CI must not skip): %s" % (ns, r.stderr))
        # registered before the Env's cleanup, so it runs after the daemons are stopped
        self.addCleanup(self.delete_netns, ns)
        r = subprocess.run(["ip", "-n", ns, "link", "set", "lo", "up"], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        r = subprocess.run(["ip", "-n", ns, "route", "get", self.FAILING], capture_output=True, text=True)
        self.assertNotEqual(r.returncode, 0, "namespace %s routes %s: %s" % (ns, self.FAILING, r.stdout))
        super().setUp()
        self.env.netns = ns

    def delete_netns(self, ns):
        r = subprocess.run(["ip", "netns", "delete", ns], capture_output=True, text=True)
        if r.returncode != 0:
            raise AssertionError("cannot delete network namespace %s: %s" % (ns, r.stderr))

    def assertInNetns(self, name):
        """The daemon's network namespace is the test's (no event is raised before this)."""
        pid = self.env.daemons[name].pid()
        self.assertEqual(pid, self.env.daemons[name].proc.pid, "ip netns exec did not exec " + name)
        self.assertEqual(os.stat("/proc/%d/ns/net" % pid).st_ino,
                         os.stat("/run/netns/" + self.env.netns).st_ino, name + " is not in the namespace")

    def test_failed_send_is_not_bad_encoding(self):
        self.trapd_port = free_udp_port()
        self.env.start_snmptrapd(port=self.trapd_port, conf=trapd_conf(self.trapd_port))
        self.env.start_evtestd("trapEnable true\n" + self.env.trap_host(port=self.trapd_port) + "\n" +
                               "trapHost %s:%d user trapUser auth SHA-256 trap-auth-pass priv AES "
                               "trap-priv-pass\n" % (self.FAILING, self.trapd_port))
        self.assertInNetns("snmptrapd")
        self.assertInNetns("pmirrord")
        self.env.raise_event("trap=5 mid=1 count=3")
        wait_for(lambda: len(self.env.trap_lines()) == 3, 10, what="three traps at the good host")
        bad = "%s:%d" % (self.FAILING, self.trapd_port)
        row = wait_for(lambda: field(self.counters()[bad], "SendFailed", "send_failed") == "3" and
                       self.counters()[bad], 10, what="three failed sends")
        self.assertEqual(field(row, "BadEncodingDiscards", "bad_encoding_discards"), "0")
        self.assertEqual(field(row, "NoMemory", "no_memory"), "0")
        self.assertEqual(field(row, "Sent", "sent"), "0")
        good = self.counters()["127.0.0.1:%d" % self.trapd_port]
        self.assertEqual((field(good, "Sent", "sent"), field(good, "SendFailed", "send_failed")), ("3", "0"))
        text = self.env.ctl("show", "snmp", "trap", secret=MIRROR_SECRET).stdout
        self.assertIn("SendFailed", text)
        self.assertIn("NoMemory", text)


class TestEngineId(TrapHostCase):
    def test_show_snmp_trap_shows_our_engine_id(self):
        self.env.start_evtestd("trapEnable true\n")
        st = self.env.ctl_json("show", "snmp", "trap")
        self.assertEqual(st["engine_id"], AGENT_ENGINE)
        text = self.env.ctl("show", "snmp", "trap", secret=MIRROR_SECRET).stdout
        self.assertRegex(text, r"(?m)^engineID: +%s$" % AGENT_ENGINE)


class TestAuditEvidence(TrapHostCase):
    def test_long_trigger_and_user_name_are_audited_whole(self):
        trigger = "T0" + "t" * 252 + "Z"     # 255 octets, the MIB maximum
        user = "u0" + "u" * 61 + "Z"         # 64 octets
        self.assertEqual((len(trigger), len(user)), (255, 64))
        self.env.start_snmptrapd()
        self.env.start_evtestd("secureLog on\ntrapEnable true\n" + self.env.trap_host())
        self.env.raise_event("trap=1 mid=9 trigger=%s user=%s" % (trigger, user))
        wait_for(lambda: self.env.trap_lines(), 10, what="the trap")

        def audit():
            st = self.env.ctl_json("show", "snmp", "secure-log")
            return [field(e, "Entry", "entry") for e in field(st, "log_entries")
                    if "snmpTrap sent" in field(e, "Entry", "entry")]
        log = wait_for(audit, 5, what="the audit entry")
        self.assertIn('Trigger="%s"' % trigger, log[0])
        self.assertIn('UserName="%s"' % user, log[0])


class StalledMaster:
    """An AgentX master (RFC 2741) on a unix socket that answers Open, Register and
    whatever else the subagent sends with a plain Response, then floods the first
    connection with Get requests and never reads from it again: the subagent's answers
    fill the socket buffer.  Later connections are answered normally."""
    GET, RESPONSE = 5, 18
    TRAPENABLE = [1, 3, 6, 1, 4, 1, 4874, 2, 2, 77, 2, 1, 0]

    def __init__(self, path, flood_after=1.0, flood_for=3.0):
        self.lsn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.lsn.bind(path)
        self.lsn.listen(8)
        self.flood_after, self.flood_for = flood_after, flood_for
        self.stopping, self.connections, self.flooded, self.flood_done = False, 0, 0, False
        self.threads = [threading.Thread(target=self.accept_loop, daemon=True)]
        self.threads[0].start()

    @staticmethod
    def pdu(typ, sid, tid, pid, payload=b""):
        return struct.pack(">BBBBIIII", 1, typ, 0x10, 0, sid, tid, pid, len(payload)) + payload

    def get(self, sid, pid):
        oid = struct.pack(">BBBB", len(self.TRAPENABLE), 0, 0, 0) + b"".join(
            struct.pack(">I", x) for x in self.TRAPENABLE)
        return self.pdu(self.GET, sid, pid, pid, oid + struct.pack(">BBBB", 0, 0, 0, 0))

    def accept_loop(self):
        while not self.stopping:
            r, _, _ = select.select([self.lsn], [], [], 0.1)
            if r:
                c, _ = self.lsn.accept()
                self.connections += 1
                t = threading.Thread(target=self.serve, args=(c, self.connections == 1), daemon=True)
                self.threads.append(t)
                t.start()

    def serve(self, c, stall):
        buf, sid, start = b"", self.connections, time.monotonic()
        c.setblocking(False)
        while not self.stopping and not (stall and time.monotonic() - start > self.flood_after):
            r, _, _ = select.select([c], [], [], 0.05)
            if not r:
                continue
            data = c.recv(65536)
            if not data:
                return
            buf += data
            while len(buf) >= 20:
                _, typ, flags, _, _, tid, pid, n = struct.unpack(">BBBBIIII" if flags_be(buf) else "<BBBBIIII",
                                                                 buf[:20])
                if len(buf) < 20 + n:
                    break
                buf = buf[20 + n:]
                if typ != self.RESPONSE:
                    c.sendall(self.pdu(self.RESPONSE, sid, tid, pid, struct.pack(">IHH", 0, 0, 0)))
        if not stall:
            return
        # flood, never read again; keep the connection open until the test ends
        pid, end = 1000, time.monotonic() + self.flood_for
        while not self.stopping and time.monotonic() < end:
            _, w, _ = select.select([], [c], [], 0.05)
            if w:
                try:
                    c.send(self.get(sid, pid))   # one PDU per send: each one is answered
                    pid += 1
                    self.flooded += 1
                except BlockingIOError:
                    pass
                except OSError:   # the subagent dropped the connection
                    break
        self.flood_done = True
        while not self.stopping:
            time.sleep(0.1)
        c.close()

    def close(self):
        self.stopping = True
        for t in self.threads:
            t.join(5)
        self.lsn.close()


def flags_be(header):
    return header[2] & 0x10


class TestStalledMaster(TrapHostCase):
    def test_master_that_stops_reading_does_not_hold_the_agent(self):
        """A master that keeps sending requests but reads no answer: once the socket
        buffer is full, a blocking send() would hold the agent thread for ever and no
        notification would leave.  The send is bounded, the connection dropped."""
        master = StalledMaster(self.env.agentx)
        self.addCleanup(master.close)
        self.env.start_snmptrapd()
        self.env.start_evtestd("trapEnable true\n" + self.env.trap_host())
        wait_for(lambda: master.flood_done, 20, what="the master to flood the subagent")
        self.assertGreater(master.flooded, 0)
        # the control socket's commands that run on the agent thread answer (in 5 s)
        self.add("127.0.0.1:%d" % free_udp_port(), TRAP_USER)
        self.env.raise_event("trap=5 mid=1 count=5")
        wait_for(lambda: len(self.env.trap_lines()) >= 5, 8, interval=0.2,
                 what="notifications while the master does not read")
        # the notifications may leave before the bounded send gives up: wait for it
        wait_for(lambda: "has not read" in self.env.read_log("pmirrord"), 20, interval=0.2,
                 what="the agent to drop the master that does not read")
        self.assertAlive()


class TestConfigErrors(TrapHostCase):
    def run_n(self, text):
        conf = self.env.path("check.conf")
        with open(os.open(conf, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
            f.write("# line 1\n" + text)
        r = subprocess.run([pmtest.PMIRRORD, "-n", "-c", conf], capture_output=True, text=True)
        return conf, r

    def test_errors_do_not_echo_passphrases(self):
        for text, secret, where in (
                ("trapHost 198.18.0.1 user u auth Secr3tPass priv AES privpass1\n", "Secr3tPass", "auth"),
                ("trapHost 198.18.0.1 user u auth SHA-256 authpass1 priv Pr1vSecret9\n", "Pr1vSecret9", "priv"),
                ("trapHost 198.18.0.1 user u auth SHA-256 Half1Secret Half2Secret priv AES privpass1\n",
                 "Half2Secret", "word 7")):
            conf, r = self.run_n(text)
            self.assertEqual(r.returncode, 2, text)
            self.assertIn(conf + ":2: trapHost: ", r.stderr)
            self.assertIn(where, r.stderr)
            self.assertNotIn(secret, r.stderr + r.stdout)

    def test_inform_options_on_a_trap_host_are_refused(self):
        for opt in ("engineId 0x80001f8804706d2d7472617064", "timeout 3", "retries 2"):
            conf, r = self.run_n("trapHost 198.18.0.1 user u auth SHA-256 authpass1 priv AES privpass1 %s\n"
                                 % opt)
            self.assertEqual(r.returncode, 2, opt)
            self.assertIn(conf + ":2: trapHost: %s applies only to inform hosts" % opt.split()[0], r.stderr)
            conf, r = self.run_n("trapHost 198.18.0.1 user u auth SHA-256 authpass1 priv AES privpass1 inform "
                                 "%s\n" % opt)
            self.assertEqual(r.returncode, 0, r.stderr)


if __name__ == "__main__":
    import unittest
    unittest.main()
