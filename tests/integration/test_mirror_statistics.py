"""`show mirror statistics [page N]` on a running daemon (docs/jmirror.md "Loss
evidence", docs/control-protocol.md): hidden before mirror-enable like every
`show mirror` command; after the channel and process counters, the rows per
intercept and per analyzer that the capture process keeps (LIST_REQ list
"statistics"), 50 a page: an empty table while nothing is mirrored; a page
argument that is not a number from 1, or another word, is an error."""
from pmtest import MIRROR_SECRET, PmTestCase, wait_for

UNKNOWN = "Unknown command"


class MirrorStatisticsTest(PmTestCase):
    def setUp(self):
        super().setUp()
        self.env.start_snmpd()
        self.env.start_pmirrord("")
        self.env.wait_registered()

    def tearDown(self):
        self.env.cleanup()

    def ctl(self, *words):
        return self.env.ctl(*words, secret=MIRROR_SECRET)

    def answered(self):
        """The JSON answer once the capture process gave its page."""
        j = self.env.ctl_json("show", "mirror", "statistics")
        return j if "mirroring" in j else None

    def test_hidden_empty_and_arguments(self):
        # hidden before mirror-enable, answered like an unknown command
        for words in (("show", "mirror", "statistics"),
                      ("show", "mirror", "statistics", "page", "2")):
            r = self.env.ctl(*words)
            self.assertNotEqual(r.returncode, 0)
            self.assertIn(UNKNOWN, r.stdout + r.stderr)
            self.assertNotIn("intercept", r.stdout + r.stderr)
        self.assertNotIn("mirror statistics", self.env.ctl("help").stdout)
        self.assertIn("show mirror statistics [page <n>]", self.ctl("help").stdout)

        # nothing mirrored: the capture process answers with no row
        j = wait_for(self.answered, 15, 0.2, what="the capture process's statistics page")
        self.assertEqual(j["mirroring"], [])
        self.assertEqual((j["mirroring_entries"], j["mirroring_page"], j["mirroring_more"]),
                         (0, 1, False))
        self.assertIn("capture_channel", j)  # the counters are still there
        self.assertIn("counters", j)
        j = self.env.ctl_json("show", "mirror", "statistics", "page", "3")
        self.assertEqual((j["mirroring"], j["mirroring_page"], j["mirroring_more"]), ([], 3, False))
        r = self.ctl("show", "mirror", "statistics")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("Intercepts and analyzers", r.stdout)
        self.assertIn("Mirroring page", r.stdout)

        # bad arguments
        for words, msg in ((("page",), "page is a number from 1"),
                           (("page", "0"), "page is a number from 1"),
                           (("page", "x"), "page is a number from 1"),
                           (("page", "-1"), "page is a number from 1"),
                           (("pages", "2"), 'unexpected word "pages"'),
                           (("all",), 'unexpected word "all"'),
                           (("page", "1", "more"), 'unexpected word "more"')):
            r = self.ctl("show", "mirror", "statistics", *words)
            self.assertNotEqual(r.returncode, 0, words)
            self.assertIn(msg, r.stdout + r.stderr, words)
        self.assertAlive()
