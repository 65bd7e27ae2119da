"""The JSON shapes in docs/control-protocol.md are the daemon's real ones.

Every "Request: `@json ...`" line of the document's command reference is sent,
in document order and on one connection, to a real pmirrord (pm_evtestd); its
reply must have the same keys and JSON types as the fenced ```json example that
follows the request (arrays: every element like the example's first).  Every
command the daemon lists (`@commands` after mirror-enable) must have an example.
"""
import json
import os
import re
import unittest

import pmtest
from pmtest import MIRROR_SECRET, PmTestCase, wait_for

DOC = os.path.join(pmtest.SRC, "docs", "control-protocol.md")


def doc_examples():
    """[(request, example object)] from the command reference, in order."""
    with open(DOC, encoding="utf-8") as f:
        text = f.read()
    out = []
    for m in re.finditer(r"^Request: `(@json [^`]+)`\n+```json\n(.*?)\n```", text, re.M | re.S):
        out.append((m.group(1), json.loads(m.group(2))))
    return out


def jtype(v):
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, int):
        return "number"
    return {str: "string", list: "array", dict: "object", type(None): "null"}.get(type(v), "?")


def same_shape(doc, real, where="$"):
    """Differences between two JSON values' shapes, as a list of sentences."""
    if jtype(doc) != jtype(real):
        return ["%s: the doc has %s, the daemon sends %s" % (where, jtype(doc), jtype(real))]
    errs = []
    if isinstance(doc, dict):
        if set(doc) != set(real):
            errs.append("%s: keys differ: doc only %s, daemon only %s"
                        % (where, sorted(set(doc) - set(real)), sorted(set(real) - set(doc))))
        for k in set(doc) & set(real):
            errs += same_shape(doc[k], real[k], where + "." + k)
    elif isinstance(doc, list):
        if not doc:
            errs.append("%s: the doc's example array is empty" % where)
        for i, v in enumerate(real):
            errs += same_shape(doc[0], v, "%s[%d]" % (where, i)) if doc else []
    return errs


class TestJsonMatchesDoc(PmTestCase):
    def test_every_command_as_documented(self):
        examples = doc_examples()
        self.assertGreater(len(examples), 10, "no command reference in " + DOC)
        self.env.start_evtestd("secureLog on\ntrapEnable true\n" + self.env.trap_host())
        self.env.raise_event("trap=5 mid=7 sid=3 trigger=alice tt=3 count=3")
        wait_for(lambda: self.env.ctl_json("show", "mirror", "log")["entries"] >= 3, 10,
                 what="three mirror log entries")
        conns = []

        def connect():
            conns.append(pmtest.CtlConn(self.env.path("run", "ctl.sock")))
            self.addCleanup(conns[-1].close)
            self.assertEqual(conns[-1].request("mirror-enable " + MIRROR_SECRET)[0], "OK")
            return conns[-1]
        c = connect()
        listed = c.request("@commands")[1].splitlines()
        errs = []
        for req, doc in examples:
            if c is None:   # after exit/quit: a new session
                c = connect()
            st, body = c.request(req.replace("SECRET", MIRROR_SECRET))
            try:
                real = json.loads(body)
            except ValueError:
                errs.append("%s: not JSON: %r" % (req, body))
                continue
            errs += ["%s: %s" % (req, e) for e in same_shape(doc, real)]
            if st == "BYE":
                c = None
        self.assertEqual(errs, [])
        requested = [r.split()[1:] for r, _ in examples]
        for cmd in listed:
            words = cmd.split()
            self.assertTrue(any(r[:len(words)] == words for r in requested),
                            "no JSON example for `%s` in %s" % (cmd, DOC))

    def test_typed_values(self):
        """Numbers are JSON numbers and booleans JSON booleans, keys are snake_case."""
        self.env.start_evtestd("trapEnable true\n" + self.env.trap_host())
        st = self.env.ctl_json("show", "snmp", "trap")
        self.assertIs(st["trap_enable"], True)
        self.assertIsInstance(st["global_severity"], int)
        row = st["counters"][0]
        self.assertEqual(row["address"], "127.0.0.1:%d" % self.env.trap_port)
        self.assertIsInstance(row["sent"], int)
        self.assertIsInstance(st["queues"][0]["queue_size"], int)
        # timeout and retries apply to informs only: null for a trap host
        self.assertEqual(st["hosts"][0]["type"], "trap")
        self.assertIsNone(st["queues"][0]["timeout_s"])
        self.assertIsNone(st["queues"][0]["retries"])
        self.assertIs(self.env.ctl_json("show", "snmp", "secure-log")["secure_log"], False)

        def keys(v):
            if isinstance(v, dict):
                return set(v) | set().union(*[keys(x) for x in v.values()])
            if isinstance(v, list):
                return set().union(*[keys(x) for x in v]) if v else set()
            return set()
        bad = [k for k in keys(st) if not re.fullmatch(r"[a-z][a-z0-9_]*", k)]
        self.assertEqual(bad, [])
        # the text output keeps its headings
        text = self.env.ctl("show", "snmp", "trap", secret=MIRROR_SECRET).stdout
        for heading in (r"Enabled Categories: +PacketMirror", r"juniPacketMirrorTrapEnable: +true",
                        r"Global Trap Severity Level: +\d - \w+", "Maximum QueueSize", "QueueFullDiscards"):
            self.assertRegex(text, heading)
        # Timeout and Retries are "-" for the trap host (the last two columns)
        row = [l for l in text.split("Queue Full discrd methd", 1)[1].splitlines()
               if l.startswith("127.0.0.1:")][0]
        self.assertEqual(row.split()[-2:], ["-", "-"], row)

    def test_inform_host_keeps_timeout_and_retries(self):
        port = pmtest.free_udp_port()
        self.env.start_evtestd("trapEnable true\n" + self.env.trap_host(port=port, extra="inform timeout 3 retries 2"))
        q = self.env.ctl_json("show", "snmp", "trap")["queues"][0]
        self.assertEqual((q["timeout_s"], q["retries"]), (3, 2), q)


# Arguments a command needs before a word too many ("extra") can follow.
NEEDS = {
    "show mirror log": ["last", "2"],
    "show snmp secure-log": ["from", "1"],
    "trap-host remove": ["127.0.0.1:9"],
    "show mirror subscribers": ["filter", "page", "1"],
    "no mirror": ["username", "v", "id", "1"],
}


class TestExtraWords(PmTestCase):
    def test_every_command_refuses_an_extra_word(self):
        """Every command in the registry, given one word more than it takes, is refused
        with its name and the word, in text and in JSON, and does nothing."""
        self.env.start_evtestd("trapEnable true\n" + self.env.trap_host())
        c = pmtest.CtlConn(self.env.path("run", "ctl.sock"))
        self.addCleanup(c.close)
        self.assertEqual(c.request("mirror-enable " + MIRROR_SECRET)[0], "OK")
        listed = c.request("@commands")[1].splitlines()
        self.assertIn("show snmp trap", listed)
        before = json.loads(c.request("@json show mirror log")[1])["newest_seq"]
        tried = 0
        for cmd in listed:
            if cmd == "mirror-enable":   # its secret is the rest of the line
                continue
            if cmd == "trap-host add":   # options are the trapHost parser's, which names the word
                st, body = c.request("trap-host add 127.0.0.1:9 user u auth SHA-256 aaaaaaaa1 "
                                     "priv AES bbbbbbbb1 extra")
                self.assertEqual(st, "ERR", body)
                self.assertIn("unknown keyword at word 10", body)
                continue
            if cmd == "mirror":   # options are the trigger parser's, which names the word
                st, body = c.request("mirror username v analyzer 127.0.0.9:1 id 1 extra")
                self.assertEqual(st, "ERR", body)
                self.assertIn("word 8", body)
                continue
            if cmd == "help":            # help takes any command's words: none names one
                st, body = c.request("help show snmp trap extra")
                self.assertEqual(st, "ERR", body)
                continue
            req = " ".join([cmd] + NEEDS.get(cmd, []) + ["extra"])
            st, body = c.request(req)
            self.assertEqual((st, body), ("ERR", '%% %s: unexpected word "extra"\n' % cmd), req)
            st, body = c.request("@json " + req)
            self.assertEqual(st, "ERR", req)
            self.assertEqual(json.loads(body),
                             {"status": "error", "error": '%s: unexpected word "extra"' % cmd}, req)
            tried += 1
        self.assertGreaterEqual(tried, 10, listed)
        # nothing was done: still open, still in mirror mode, no host removed, log not cleared
        after = json.loads(c.request("@json show mirror log")[1])
        self.assertEqual(after["oldest_seq"], 1)
        self.assertGreaterEqual(after["newest_seq"], before)
        self.assertEqual(len(json.loads(c.request("@json show snmp trap")[1])["hosts"]), 1)


if __name__ == "__main__":
    unittest.main()
