"""test_harness - the integration harness catches what it claims to catch.

No daemon runs here: each test gives pmtest.Env the evidence it inspects (an
ordinary log, a MIB directory) and checks that the harness fails, and fails
with a message that says why.
"""
import os
import unittest

import pmtest


class TestLeakCheck(unittest.TestCase):
    def setUp(self):
        self.env = pmtest.Env(self)

    def tearDown(self):
        if os.path.isdir(self.env.dir):
            self.env.daemons.clear()
            self.env.secrets.clear()
            self.env.secret_ids.clear()
            self.env.cleanup()

    def write_log(self, text, name="pmirrord.out"):
        with open(self.env.path("logs", name), "w") as f:
            f.write(text)

    def leak_message(self):
        with self.assertRaises(AssertionError) as cm:
            self.env.cleanup()
        return str(cm.exception)

    def test_event_ids_are_recorded(self):
        self.env.note_event("trap=5 mid=4242 sid=17 trigger=carol-sub count=3")
        self.env.note_event("trap=6 mid=9")
        self.assertEqual(self.env.secret_ids, {4242, 4243, 4244, 17, 9})

    def test_mirror_id_in_log_fails(self):
        self.env.note_event("trap=5 mid=4242 sid=17 count=3")
        for line in ("notify: event mid=4244 sent", "sent mirror 4243 to 127.0.0.1",
                     "notify: mirror ID 4242 queued", "mirror_id=4242",
                     "juniPacketMirrorIdentifier.0 = Gauge32: 4243"):
            with self.subTest(line=line):
                self.write_log("pmirrord[1]: " + line + "\n")
                self.assertIn("intercept data reached an ordinary log", self.leak_message())

    def test_session_id_in_log_fails(self):
        self.env.note_event("trap=5 mid=1 sid=17")
        for line in ("session 17 started", "sid=17", "session-id: 17", "SessionIdentifier 17"):
            with self.subTest(line=line):
                self.write_log(line + "\n", name="snmpd.log")
                self.assertIn("17", self.leak_message())

    def test_small_ids_do_not_match_other_numbers(self):
        """Mirror IDs 1..10 are common in tests: counts, ports, pids and versions
        in the log are not a leak."""
        self.env.note_event("trap=5 mid=1 sid=2 count=10")
        self.write_log("evtest: raised 10 event(s), 0 dropped by the queue\n"
                       "pmirrord 0.4.0 [pid 7]: trap host 127.0.0.1:1 added, 2 hosts\n"
                       "mirror log cleared; session 42 of another test\n")
        self.env.cleanup()   # no AssertionError

    def test_strings_still_checked(self):
        self.env.secrets.add("carol-sub")
        self.write_log("oops: trigger carol-sub\n")
        self.assertIn("carol-sub in pmirrord.out", self.leak_message())


class TestIetfMibDir(unittest.TestCase):
    def test_missing_mib_dir_fails_clearly(self):
        old = os.environ.get("PM_IETF_MIBDIR")
        os.environ["PM_IETF_MIBDIR"] = "/nonexistent/ietf-mibs"
        try:
            env = pmtest.Env(self)
            self.addCleanup(env.cleanup)
            with self.assertRaises(AssertionError) as cm:
                env.ietf
            self.assertEqual(str(cm.exception),
                             "IETF MIB text missing at /nonexistent/ietf-mibs: run scripts/deps")
        finally:
            if old is None:
                del os.environ["PM_IETF_MIBDIR"]
            else:
                os.environ["PM_IETF_MIBDIR"] = old

    def test_present_mib_dir(self):
        env = pmtest.Env(self)
        self.addCleanup(env.cleanup)
        self.assertTrue(os.path.isdir(env.ietf), env.ietf)


if __name__ == "__main__":
    unittest.main()
