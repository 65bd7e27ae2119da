"""Faults on the SNMP side, with real peers: the AgentX master killed and started
again ten times under event load, and the inform receiver away for a minute while
events are raised.

Notifications do not go through the AgentX master (docs/netsnmp-notes.md, section 4:
each trap host has its own SNMPv3 session), so a master that comes and goes must not
cost a single notification; an inform receiver that is away costs exactly what its
queue (queueSize, queueFull) and its timeout/retries say, and every loss is counted
(docs/mirror-mib.md, section 3.2).
"""
import collections
import random
import re
import signal
import socket
import time
import unittest

from pmtest import OID_SYSUPTIME, OID_TRAPENABLE, read_text, wait_for
from test_informs import counter
from test_notify import NotifyCase, mids

PING = 2            # agentXPingInterval: the subagent tries to reconnect this often
RESTARTS = 10


def raised_total(log):
    """Events pm_evtestd raised (its line "raised N event(s), M dropped by the queue")."""
    return sum(int(m.group(1)) for m in re.finditer(r"evtest: raised (\d+) event\(s\)", log))


def num(row, name):
    """A counter of a host row of `show snmp trap` by its heading (QueueFullDiscards) or
    its JSON key (queue_full_discards)."""
    return counter(row, name, re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower())


def discards(row):
    """Every discard counter of a host row of `show snmp trap` (snake_case keys)."""
    return sum(int(v) for k, v in row.items() if k.endswith("_discards"))


def port_outside_ephemeral_range():
    """A free UDP port on 127.0.0.1 below the kernel's ephemeral range: while snmpd is away,
    no other test's socket bound to port 0 can take the port it comes back to."""
    with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
        low = int(f.read().split()[0])
    rnd = random.Random()
    for _ in range(200):
        port = rnd.randrange(10000, max(10001, low))
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            s.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
        finally:
            s.close()
    raise AssertionError("no free UDP port below %d" % low)


class TestMasterKilledUnderLoad(NotifyCase):
    def registered(self):
        return "INTEGER" in self.env.snmpget_v3(OID_TRAPENABLE, timeout=0.3).stdout

    def test_master_killed_ten_times_no_notification_lost(self):
        e = self.env
        e.snmp_port = port_outside_ephemeral_range()
        e.start_snmpd()
        self.trapd()
        e.start_evtestd("trapEnable true\n" + e.trap_host(), ping=PING)
        e.wait_registered()
        # background load for the whole test: 15 notifications a second
        e.raise_event("trap=5 mid=100000 count=600 rate=15")
        took, mid = [], 1
        for i in range(RESTARTS):
            e.stop("snmpd", signal.SIGKILL)
            # the master is away: a burst raised now must arrive like the rest
            e.raise_event("trap=5 mid=%d count=20" % mid)
            mid += 20
            wait_for(lambda: not self.registered(), 5, what="the master to be gone")
            # away for 0 to 4.5 s: reconnect attempts fail meanwhile, one or several
            away = time.monotonic() + (i % 4) * 1.5
            wait_for(lambda: time.monotonic() >= away, 10, what="the master's absence")
            e.start_snmpd(wait=False)
            try:
                wait_for(lambda: "Timeticks" in e.snmpget_v3(OID_SYSUPTIME, timeout=0.2).stdout, 20,
                         interval=0.02, what="snmpd back (restart %d)" % (i + 1))
            except AssertionError as x:
                raise AssertionError("%s; snmpd %s; its log:\n%s\n%s" % (
                    x, "runs" if e.daemons["snmpd"].alive() else "exited",
                    read_text(e.path("logs", "snmpd.log"))[-3000:], e.read_log("snmpd")[-2000:]))
            t0 = time.monotonic()
            wait_for(self.registered, PING + 10, interval=0.02,
                     what="registration after restart %d" % (i + 1))
            took.append(time.monotonic() - t0)
            self.assertAlive()
        print("AgentX re-registration after each master restart (s):",
              " ".join("%.2f" % t for t in took))
        self.assertLessEqual(max(took), PING + 1.0, "re-registration times %s" % took)
        # every event raised reaches snmptrapd exactly once
        log = lambda: e.read_log("pmirrord")
        wait_for(lambda: log().count("evtest: raised") == RESTARTS + 1, 90, interval=0.5,
                 what="pm_evtestd to finish the load")
        self.assertIn("evtest: raised 600 event(s), 0 dropped", log())
        want = set(range(1, mid)) | set(range(100000, 100600))
        wait_for(lambda: set(mids(e.trap_lines())) >= want, 30, interval=0.5,
                 what="every notification at snmptrapd")
        got = collections.Counter(mids(e.trap_lines()))
        self.assertEqual(set(got), want)
        self.assertEqual([m for m, n in got.items() if n != 1], [], "delivered more than once")
        row = e.ctl_json("show", "snmp", "trap")["counters"][0]
        self.assertEqual(num(row, "Sent"), len(want))
        self.assertEqual(discards(row), 0, row)
        self.assertAlive()


class TestInformReceiverAway(NotifyCase):
    QUEUE = 32
    WINDOW = 64    # informs awaiting acknowledgement per host (docs/mirror-mib.md, 3.2)

    def row(self):
        return self.env.ctl_json("show", "snmp", "trap")["counters"][0]

    def row_when(self, pred, timeout, what, interval=0.1):
        """The host's counter row once pred(row) holds."""
        return wait_for(lambda: (lambda r: r if pred(r) else None)(self.row()), timeout,
                        interval=interval, what=what)

    def test_receiver_down_60s_each_event_delivered_or_counted(self):
        e = self.env
        self.trapd()
        e.start_evtestd("trapEnable true\n" + e.trap_host(
            extra="inform timeout 5 retries 0 queueSize %d queueFull dropLastIn" % self.QUEUE))
        e.raise_event("trap=5 mid=1 count=5")
        self.row_when(lambda r: num(r, "Sent") == 5, 20, "five informs acknowledged")
        e.stop("snmptrapd")
        down = time.monotonic()
        # a burst larger than what the host holds: WINDOW informs awaiting their
        # acknowledgement and QUEUE waiting; dropLastIn discards the rest as it arrives
        e.raise_event("trap=5 mid=1000 count=100")
        wait_for(lambda: raised_total(e.read_log("pmirrord")) == 105, 10, interval=0.1,
                 what="the burst raised")
        r = self.row_when(lambda r: num(r, "Queued") + num(r, "InFlight") +
                          num(r, "QueueFullDiscards") == 100, 4, "the burst queued or discarded")
        self.assertEqual((num(r, "InFlight"), num(r, "Queued"), num(r, "QueueFullDiscards")),
                         (self.WINDOW, self.QUEUE, 100 - self.WINDOW - self.QUEUE), r)
        # then a steady trickle for the rest of the minute
        e.raise_event("trap=5 mid=2000 count=55 rate=1")
        wait_for(lambda: time.monotonic() - down >= 60, 70, interval=0.5, what="a minute")
        self.trapd()   # the same persistent directory: engineBoots grows
        raised = 5 + 100 + 55
        wait_for(lambda: raised_total(e.read_log("pmirrord")) == raised, 30, interval=0.5,
                 what="pm_evtestd to finish")
        r = self.row_when(lambda r: num(r, "Sent") + discards(r) == raised and
                          num(r, "Queued") + num(r, "InFlight") == 0, 60,
                          "every inform acknowledged or discarded", interval=0.5)
        sent = num(r, "Sent")
        print("inform receiver away 60 s: raised %d, sent %d, discards %s" %
              (raised, sent, {k: v for k, v in r.items() if k.endswith("_discards")}))
        self.assertEqual(num(r, "BadEncodingDiscards"), 0)
        got = collections.Counter(mids(e.trap_lines()))
        self.assertEqual([m for m, n in got.items() if n != 1], [], "delivered more than once")
        self.assertEqual(len(got), sent, "acknowledged informs and snmptrapd's lines differ")
        self.assertGreaterEqual(num(r, "QueueFullDiscards"), 100 - self.WINDOW - self.QUEUE)
        # every acknowledged inform is an event raised; what was not acknowledged is counted
        raised_ids = set(range(1, 6)) | set(range(1000, 1100)) | set(range(2000, 2055))
        self.assertLessEqual(set(got), raised_ids)
        self.assertGreater(num(r, "NoResponseDiscards"), 0)
        # and informs flow again
        e.raise_event("trap=5 mid=5000 count=3")
        wait_for(lambda: {5000, 5001, 5002} <= set(mids(e.trap_lines())), 30,
                 interval=0.2, what="informs after the outage")
        self.assertAlive()

    def burst_while_away(self, method):
        """A burst of 100 while the receiver is away for less than the inform timeout:
        WINDOW informs go out, QUEUE wait, and `queueFull METHOD` decides which 4 are
        discarded; once the receiver is back, exactly the others are acknowledged."""
        e = self.env
        self.trapd()
        e.start_evtestd("trapEnable true\n" + e.trap_host(
            extra="inform timeout 4 retries 2 queueSize %d queueFull %s" % (self.QUEUE, method)))
        e.raise_event("trap=5 mid=1")
        self.row_when(lambda r: num(r, "Sent") == 1, 20, "one inform")
        e.stop("snmptrapd")
        e.raise_event("trap=5 mid=1000 count=100")
        r = self.row_when(lambda r: num(r, "Queued") == self.QUEUE, 3, "the queue full")
        self.assertEqual((num(r, "InFlight"), num(r, "QueueFullDiscards")),
                         (self.WINDOW, 100 - self.WINDOW - self.QUEUE), r)
        self.trapd()
        r = self.row_when(lambda r: num(r, "Sent") + discards(r) == 101 and
                          num(r, "Queued") + num(r, "InFlight") == 0, 40, "the burst settled",
                          interval=0.3)
        self.assertEqual(discards(r), 100 - self.WINDOW - self.QUEUE, r)
        got = collections.Counter(mids(e.trap_lines()))
        self.assertEqual([m for m, n in got.items() if n != 1], [], "delivered more than once")
        return set(got) - {1}

    def test_burst_drop_last_in(self):
        got = self.burst_while_away("dropLastIn")
        # the newest, arriving at a full queue, were discarded
        self.assertEqual(got, set(range(1000, 1000 + self.WINDOW + self.QUEUE)))

    def test_burst_drop_first_in(self):
        got = self.burst_while_away("dropFirstIn")
        # the oldest waiting (after the WINDOW sent) made room for the newest
        self.assertEqual(got, set(range(1000, 1000 + self.WINDOW)) |
                         set(range(1100 - self.QUEUE, 1100)))

if __name__ == "__main__":
    unittest.main()
