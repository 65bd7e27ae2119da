"""Informs that recover: bounded engineID discovery, rediscovery after the receiver's
engineID changed, one log line per outage (real snmptrapd as the receiver)."""
import select
import socket
import threading
import unittest

from pmtest import TRAP_USER, TRAPD_ENGINE, free_udp_port, trapd_conf, wait_for
from test_notify import NotifyCase, mids

NEW_ENGINE = "0x80001f8804706d2d6e6577"   # "pm-new": the restarted receiver
# the same user name as TRAP_USER with other passphrases (a key rotation)
NEW_USER = ("trapUser", "SHA-256", "rotated-auth-pass", "AES", "rotated-priv-pass")


def counter(row, *names):
    """A counter of `show snmp trap` by any of its names, as a number."""
    for n in names:
        if n in row:
            return int(row[n])
    raise KeyError(names)


class ForgingProxy:
    """UDP relay between pmirrord and snmptrapd that rewrites the engineID in the first
    answer it relays (the Report to the discovery probe, which is unauthenticated):
    what an attacker on the path can do."""

    def __init__(self, target_port, real, forged):
        self.front = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.front.bind(("127.0.0.1", 0))
        self.port = self.front.getsockname()[1]
        self.back = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.back.bind(("127.0.0.1", 0))
        self.target = ("127.0.0.1", target_port)
        self.real, self.forged, self.forgeries = real, forged, 0
        self.client = None
        self.stopping = False
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stopping:
            r, _, _ = select.select([self.front, self.back], [], [], 0.1)
            if self.front in r:
                data, self.client = self.front.recvfrom(65535)
                self.back.sendto(data, self.target)
            if self.back in r:
                data, _ = self.back.recvfrom(65535)
                if self.forgeries == 0 and self.real in data:
                    data = data.replace(self.real, self.forged)
                    self.forgeries += 1
                if self.client is not None:
                    self.front.sendto(data, self.client)

    def close(self):
        self.stopping = True
        self.thread.join(5)
        self.front.close()
        self.back.close()


class TestInformRecovery(NotifyCase):
    def host_row(self):
        return self.env.ctl_json("show", "snmp", "trap")["counters"][0]

    def no_response(self):
        return counter(self.host_row(), "NoResponseDiscards", "no_response_discards")

    def sent(self):
        return counter(self.host_row(), "Sent", "sent")

    def raise_until(self, done, mid, timeout, interval, what):
        """Until done(): one SessionStart per poll, mirror IDs counting up from mid.
        Returns the next mirror ID not used."""
        state = {"mid": mid}

        def step():
            if done():
                return True
            self.env.raise_event("trap=5 mid=%d" % state["mid"])
            state["mid"] += 1
            return False
        wait_for(step, timeout, interval=interval, what=what)
        return state["mid"]

    def test_unanswered_discovery_discards_counts_and_logs_once(self):
        port = free_udp_port()   # nothing listens there
        address = "127.0.0.1:%d" % port
        # the longest trigger, every byte escaped (\x1b): its audit entry must be whole
        trigger = "\x1b" * 254 + "Z"
        self.env.secrets.add(trigger)
        self.env.start_evtestd("trapEnable true\nsecureLog on\n" + self.env.trap_host(
            port=port, extra="inform timeout 1 retries 1"))
        self.env.raise_event("trap=5 mid=1 trigger=" + "%1B" * 254 + "Z")
        wait_for(lambda: self.no_response() == 1, 15, interval=0.2,
                 what="the waiting inform to be discarded as no-response")
        rows = [r["entry"] for r in self.env.ctl_json("show", "snmp", "secure-log")["log_entries"]]
        rows = [e for e in rows if "no-response" in e]
        self.assertEqual(len(rows), 1, rows)
        self.assertIn('Trigger="%sZ"' % ("\\x1b" * 254), rows[0])
        self.assertEqual(counter(self.host_row(), "Queued", "queued"), 0)
        # discovery is tried again (after a backoff) for what comes next
        self.env.raise_event("trap=5 mid=2")
        wait_for(lambda: self.no_response() == 2, 30, interval=0.2, what="the second discard")
        self.env.raise_event("trap=5 mid=3")
        wait_for(lambda: self.no_response() == 3, 30, interval=0.2, what="the third discard")
        log = self.env.read_log("pmirrord")
        lines = [l for l in log.splitlines() if address in l]
        self.assertEqual(len(lines), 1, log)
        self.assertIn("warning", lines[0])
        self.assertNotIn("trapUser", log)
        self.assertAlive()
        self.assertEqual(self.env.stop("pmirrord"), 0, self.env.read_log("pmirrord")[-3000:])

    def test_receiver_with_other_passphrases(self):
        """Every inform draws an unauthenticated Report (wrongDigests): the library calls
        the inform's callback twice for it; each inform counts once, as no-response, and
        the daemon (ASan build) carries on."""
        self.env.secrets.update(NEW_USER[2::2])
        self.trapd(users=(NEW_USER,))
        self.env.start_evtestd("trapEnable true\n" + self.env.trap_host(extra="inform timeout 1 retries 1"))
        for mid in range(1, 4):
            self.env.raise_event("trap=5 mid=%d" % mid)
            wait_for(lambda: self.no_response() == mid, 20, interval=0.2,
                     what="inform %d counted as no-response" % mid)
        row = self.host_row()
        self.assertEqual(counter(row, "Sent", "sent"), 0)
        self.assertEqual(counter(row, "InFlight", "in_flight"), 0)
        self.assertEqual(counter(row, "Queued", "queued"), 0)
        self.assertEqual(self.env.trap_lines(), [])
        self.assertAlive()
        # later events still work: a receiver with the right passphrases takes them
        # (another persistent directory: snmptrapd keeps the users it was given)
        self.env.stop("snmptrapd")
        port = self.env.trap_port
        self.env.start_snmptrapd(name="trapd-right", port=port, conf=trapd_conf(port))
        self.raise_until(lambda: self.sent() >= 1, 10, 60, 0.5, "an inform acknowledged by the right receiver")
        self.assertAlive()
        self.assertEqual(self.env.stop("pmirrord"), 0, self.env.read_log("pmirrord")[-3000:])

    def test_same_user_other_passphrases_same_engine_id(self):
        """Two receivers with one engineID (cloned, or a key rotation made before the
        old receiver goes): host 1 uses the user name with the old passphrases, host 2
        with new ones.  USM has one user per (engineID, name): host 2 must never be
        sent with host 1's keys; its engineID is refused, clearly."""
        self.env.secrets.update(NEW_USER[2::2])
        port_old, port_new = self.env.trap_port, free_udp_port()
        self.trapd(name="trapd-old", port=port_old)
        self.env.start_snmptrapd(name="trapd-new", port=port_new,
                                 conf=trapd_conf(port_new, users=(NEW_USER,)))
        self.env.start_evtestd("trapEnable true\n" +
                               self.env.trap_host(port=port_old, extra="inform timeout 1 retries 0") + "\n" +
                               self.env.trap_host(port=port_new, user=NEW_USER,
                                                  extra="inform timeout 1 retries 0"))
        def settled():
            rows = self.env.ctl_json("show", "snmp", "trap")["counters"]
            return "refused" in self.env.read_log("pmirrord") and any(int(r["sent"]) >= 1 for r in rows)
        self.raise_until(settled, 1, 40, 0.5, "one host acknowledged, the other refused")
        log = self.env.read_log("pmirrord")
        refused = [l for l in log.splitlines() if "refused" in l]
        self.assertIn("in use by another trap host with other credentials", refused[0])
        for name in ("trapd-old", "trapd-new"):
            with open(self.env.path("logs", name + ".log")) as f:
                self.assertNotIn("Authentication failed", f.read(), name + " was sent foreign keys")
        self.assertNotIn(NEW_USER[2], log)
        self.assertAlive()
        self.assertEqual(self.env.stop("pmirrord"), 0, self.env.read_log("pmirrord")[-3000:])

    def test_receiver_with_a_new_engine_id_is_rediscovered(self):
        self.trapd()
        self.env.start_evtestd("trapEnable true\n" + self.env.trap_host(extra="inform timeout 1 retries 1"))
        self.env.raise_event("trap=5 mid=1")
        wait_for(lambda: self.sent() == 1, 15, interval=0.2, what="the first acknowledgement")
        # the receiver restarts with another engineID (its users localised to it)
        self.env.stop("snmptrapd")
        port = self.env.trap_port
        self.env.start_snmptrapd(name="trapd-new", port=port, conf=trapd_conf(port, engine=NEW_ENGINE))
        self.raise_until(lambda: mids(self.env.trap_lines("trapd-new")) and self.sent() >= 2, 2, 40, 0.5,
                         "informs acknowledged by the new receiver")
        log = self.env.read_log("pmirrord")
        self.assertIn("engineID discovered: " + NEW_ENGINE, log)
        # and they keep flowing, in order of arrival, without a restart of pmirrord
        before = self.sent()
        self.env.raise_event("trap=5 mid=1000 count=5")
        wait_for(lambda: self.sent() == before + 5, 15, interval=0.2, what="five more acknowledgements")
        self.assertAlive()
        # a clean stop: the old and the new USM user, the keys kept for rediscovery
        self.assertEqual(self.env.stop("pmirrord"), 0, self.env.read_log("pmirrord")[-3000:])

    def test_receiver_down_then_back_one_outage(self):
        """A confirmed engineID whose receiver stops: informs time out, discovery runs
        again and goes unanswered, what waits is discarded; one warning for the whole
        outage, and informs flow again when the receiver is back."""
        self.trapd()
        address = "127.0.0.1:%d" % self.env.trap_port
        self.env.start_evtestd("trapEnable true\n" + self.env.trap_host(extra="inform timeout 1 retries 0"))
        self.env.raise_event("trap=5 mid=1")
        wait_for(lambda: self.sent() == 1, 15, interval=0.2, what="the first acknowledgement")
        self.env.stop("snmptrapd")
        mid = self.raise_until(lambda: self.no_response() >= 5 and counter(self.host_row(), "Queued", "queued") == 0,
                               2, 40, 0.5, "informs discarded while the receiver is down")
        self.trapd()
        before = self.sent()
        self.raise_until(lambda: self.sent() > before, mid, 90, 1.0, "informs acknowledged after the outage")
        log = self.env.read_log("pmirrord")
        warnings = [l for l in log.splitlines() if address in l and "warning" in l]
        self.assertEqual(len(warnings), 1, log)
        self.assertIn("informs are acknowledged again", log)
        self.assertEqual(self.env.stop("pmirrord"), 0, self.env.read_log("pmirrord")[-3000:])

    def test_forged_discovery_answer_is_provisional(self):
        """The probe's Report is unauthenticated: a forged engineID is used only until an
        inform to it fails, then discovery runs again and finds the real one."""
        self.trapd()
        real = bytes.fromhex(TRAPD_ENGINE[2:])
        forged = real[:-8] + b"pm-evil!"
        proxy = ForgingProxy(self.env.trap_port, real, forged)
        self.addCleanup(proxy.close)
        self.env.start_evtestd("trapEnable true\n" + self.env.trap_host(
            port=proxy.port, extra="inform timeout 1 retries 1"))
        self.raise_until(lambda: self.sent() >= 1, 1, 40, 0.5,
                         "an inform acknowledged despite the forged engineID")
        self.assertEqual(proxy.forgeries, 1)
        log = self.env.read_log("pmirrord")
        self.assertIn("engineID discovered: 0x" + forged.hex(), log)
        self.assertIn("engineID discovered: 0x%s (was 0x%s" % (real.hex(), forged.hex()), log)
        self.assertIn("confirmed", log)
        self.assertGreaterEqual(self.no_response(), 1)   # the inform sent to the forged engineID
        self.assertEqual(self.env.stop("pmirrord"), 0, self.env.read_log("pmirrord")[-3000:])


if __name__ == "__main__":
    unittest.main()
