"""Informs that recover: bounded engineID discovery, rediscovery after the receiver's
engineID changed, one log line per outage (real snmptrapd as the receiver)."""
import unittest

from pmtest import free_udp_port, trapd_conf, wait_for
from test_notify import NotifyCase, mids

NEW_ENGINE = "0x80001f8804706d2d6e6577"   # "pm-new": the restarted receiver


def counter(row, *names):
    """A counter of `show snmp trap` by any of its names, as a number."""
    for n in names:
        if n in row:
            return int(row[n])
    raise KeyError(names)


class TestInformRecovery(NotifyCase):
    def host_row(self):
        return self.env.ctl_json("show", "snmp", "trap")["counters"][0]

    def no_response(self):
        return counter(self.host_row(), "NoResponseDiscards", "no_response_discards")

    def sent(self):
        return counter(self.host_row(), "Sent", "sent")

    def test_unanswered_discovery_discards_counts_and_logs_once(self):
        port = free_udp_port()   # nothing listens there
        address = "127.0.0.1:%d" % port
        self.env.start_evtestd("trapEnable true\n" + self.env.trap_host(
            port=port, extra="inform timeout 1 retries 1"))
        self.env.raise_event("trap=5 mid=1")
        wait_for(lambda: self.no_response() == 1, 15, interval=0.2,
                 what="the waiting inform to be discarded as no-response")
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

    def test_receiver_with_a_new_engine_id_is_rediscovered(self):
        self.trapd()
        self.env.start_evtestd("trapEnable true\n" + self.env.trap_host(extra="inform timeout 1 retries 1"))
        self.env.raise_event("trap=5 mid=1")
        wait_for(lambda: self.sent() == 1, 15, interval=0.2, what="the first acknowledgement")
        # the receiver restarts with another engineID (its users localised to it)
        self.env.stop("snmptrapd")
        port = self.env.trap_port
        self.env.start_snmptrapd(name="trapd-new", port=port, conf=trapd_conf(port, engine=NEW_ENGINE))
        state = {"mid": 2}

        def acknowledged_again():
            if mids(self.env.trap_lines("trapd-new")) and self.sent() >= 2:
                return True
            self.env.raise_event("trap=5 mid=%d" % state["mid"])
            state["mid"] += 1
            return False
        wait_for(acknowledged_again, 40, interval=0.5, what="informs acknowledged by the new receiver")
        log = self.env.read_log("pmirrord")
        self.assertIn("engineID discovered: " + NEW_ENGINE, log)
        # and they keep flowing, in order of arrival, without a restart of pmirrord
        before = self.sent()
        self.env.raise_event("trap=5 mid=1000 count=5")
        wait_for(lambda: self.sent() == before + 5, 15, interval=0.2, what="five more acknowledgements")
        self.assertAlive()
        # a clean stop: the old and the new USM user, the keys kept for rediscovery
        self.assertEqual(self.env.stop("pmirrord"), 0, self.env.read_log("pmirrord")[-3000:])


if __name__ == "__main__":
    unittest.main()
