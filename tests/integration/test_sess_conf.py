"""maxSubscribers (conf_sess.h, docs/sessions-table.md) on its way to the capture process.

The monitor validates the whole file (`pmirrord -n`, FILE:LINE errors); the
capture process gets the line in its slice and parses it with the same code
(test_cap_proc.py's CapProc plays the monitor): a good value starts it, a bad
one fails it with FILE:LINE.
"""
import os
import shutil
import subprocess
import tempfile
import unittest

import ipcwire as w
import pmtest
from test_cap_proc import CapProc

PMIRRORD = os.path.join(pmtest.BUILD, "pmirrord")


class MaxSubscribers(unittest.TestCase):
    def setUp(self):
        if os.geteuid() != 0:
            self.skipTest("needs root (privilege drop)")
        self.dir = tempfile.mkdtemp(prefix="pmsess.")
        os.chmod(self.dir, 0o755)
        self.caps = []
        self.addCleanup(self._teardown)

    def _teardown(self):
        for c in self.caps:
            if c.proc.poll() is None:
                c.proc.kill()
                c.proc.wait(5)
            for ch in (c.B, c.C):
                ch.sock.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def check_file(self, text):
        path = os.path.join(self.dir, "pmirrord.conf")
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, 0o600)
        r = subprocess.run([PMIRRORD, "-n", "-c", path], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=60)
        return path, r.returncode, r.stdout.decode("utf-8", "replace")

    def test_monitor_checks_the_file(self):
        _path, rc, out = self.check_file("maxSubscribers 250000\n")
        self.assertEqual(rc, 0, out)
        path, rc, out = self.check_file("# sessions\nmaxSubscribers 0\n")
        self.assertNotEqual(rc, 0)
        self.assertIn("%s:2: maxSubscribers" % path, out)
        _path, rc, out = self.check_file("maxSubscribers 10000001\n")
        self.assertNotEqual(rc, 0)
        self.assertIn("maxSubscribers", out)

    def test_capture_process_takes_it_from_its_slice(self):
        cp = CapProc(self)
        cp.send_slice([(7, "maxSubscribers", "maxSubscribers 5")])
        cp.ready()
        cp.stats("capture")  # alive and reporting
        self.assertEqual(cp.stop(), 0)

    def test_capture_process_refuses_a_bad_value(self):
        cp = CapProc(self)
        cp.send_slice([(9, "maxSubscribers", "maxSubscribers many")])
        st = cp.B.wait(lambda r: r.type == w.STATUS, 15, "STATUS")
        self.assertEqual(st.fields[1], w.STATUS_FAILED)
        self.assertIn("/etc/pmirrord/pmirrord.conf:9: maxSubscribers", st.fields[2])
        self.assertEqual(cp.proc.wait(10), 1)


if __name__ == "__main__":
    unittest.main()
