"""The operator's recipes in README.md work as written: the private snmpd with
its SNMPv3 users, snmpget/snmpset with the MIB path (and what v2c and
authNoPriv get), "Trying the notifications" with pm_evtestd and snmptrapd, and
the pmirrorctl command table lists every command `help` shows.

The README's code blocks are run after swapping its example paths and ports
for this test's private ones; nothing else is changed."""
import os
import re
import subprocess
import unittest

import pmtest
from pmtest import PmTestCase, wait_for, read_text

README = os.path.join(pmtest.SRC, "README.md")


def section(title):
    """The text of the README section whose heading is exactly title."""
    text = read_text(README)
    m = re.search(r"^(#+) " + re.escape(title) + r"\n", text, re.M)
    if m is None:
        raise AssertionError("README.md has no section %r" % title)
    end = re.search(r"^#{1,%d} " % len(m.group(1)), text[m.end():], re.M)
    return text[m.end():m.end() + end.start()] if end else text[m.end():]


def code_blocks(text):
    """Indented code blocks (4 spaces, or 7 inside a numbered list) after a blank
    line, dedented; blank lines inside a block belong to it."""
    blocks, cur, indent, prev_blank = [], [], None, True
    for line in text.splitlines():
        if indent is not None and (line.startswith(indent) or not line.strip()):
            cur.append(line[len(indent):])
            continue
        if cur:
            blocks.append("\n".join(cur).strip("\n"))
            cur, indent = [], None
        m = re.match(r"^( {4,7})\S", line)
        if m and prev_blank:
            indent = m.group(1)
            cur.append(line[len(indent):])
        prev_blank = not line.strip()
    if cur:
        blocks.append("\n".join(cur).strip("\n"))
    return [b for b in blocks if b.strip()]


class ReadmeTest(PmTestCase):
    def setUp(self):
        super().setUp()
        e = self.env
        self.prefix = e.path("prefix")
        r = subprocess.run(["cmake", "--install", pmtest.BUILD, "--prefix", self.prefix], capture_output=True,
                           text=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        os.makedirs(e.path("tools"), exist_ok=True)
        self.subst = [
            ("/tmp/snmpd-pm/snmpd.pid", e.path("run", "snmpd.pid")),
            ("/tmp/trapd/snmptrapd.pid", e.path("run", "snmptrapd.pid")),
            ("/tmp/snmpd-pm", e.path("snmpd-pm")),
            ("/tmp/trapd", e.path("trapd-readme")),
            ("/tmp/pm-events", e.path("run", "pm-events")),
            ("/usr/local/share", os.path.join(self.prefix, "share")),
            ("/opt/netsnmp-mibs/node_modules/net-snmp/lib/mibs", e.ietf),
            ("/etc/pmirrord/pmirrord.conf", e.path("pmirrord.conf")),
            ("build/pm_evtestd", pmtest.PM_EVTESTD),
            ("127.0.0.1:16161", "127.0.0.1:%d" % e.snmp_port),
            ("127.0.0.1:16162", "127.0.0.1:%d" % e.trap_port),
        ]

    def local(self, text):
        for a, b in self.subst:
            text = text.replace(a, b)
        return text

    def sh(self, script, timeout=30):
        return subprocess.run(["bash", "-c", "set -e\n" + script], env=self.env.tool_env, capture_output=True,
                              text=True, timeout=timeout)

    def start_readme_snmpd(self):
        """The private snmpd block, its last command exec'd as a daemon of this test."""
        block = self.local(code_blocks(section("SNMPv3 users, and a private snmpd to try it"))[0])
        self.assertIn("createUser mirrorAdmin", block)
        head, sep, cmd = block.rpartition("\nSNMPCONFPATH=")   # the set-up, then the daemon
        cmd = sep.lstrip("\n") + cmd
        self.assertIn("snmpd -f", cmd)
        r = self.sh(head)
        self.assertEqual(r.returncode, 0, r.stderr)
        cmd = cmd.replace("\\\n", " ").replace("snmpd -f", "exec /usr/sbin/snmpd -f")
        self.env._spawn("snmpd", ["bash", "-c", cmd])
        wait_for(lambda: os.path.exists(self.env.path("snmpd-pm", "agentx.sock")), 20, what="snmpd's AgentX socket")

    def mib_lines(self):
        """The M=... and V3=... lines of the get/set section."""
        blocks = [self.local(b) for b in code_blocks(section("Reading and setting juniPacketMirrorTrapEnable"))]
        block = "\n".join(blocks)
        return block, "\n".join(l for l in block.splitlines() if re.match(r"^(M|V3)=", l))

    def write_conf(self, extra):
        e = self.env
        path = e.path("pmirrord.conf")
        with open(path, "w") as f:
            f.write(f"agentXSocket {e.path('snmpd-pm', 'agentx.sock')}\nagentXPingInterval 1\n"
                    f"persistentDir {e.path('agent/persist')}\ncontrolSocket {e.path('run', 'ctl.sock')}\n"
                    f"mirrorSecret {pmtest.secret_hash()}\n{extra}\n")
        os.chmod(path, 0o600)
        return path

    def test_private_snmpd_get_set(self):
        e = self.env
        self.start_readme_snmpd()
        conf = self.write_conf("")
        e._spawn("pmirrord", [pmtest.PMIRRORD, "-f", "-c", conf, "-p", e.path("run", "pmirrord.pid")])
        block, mv = self.mib_lines()
        oid = "1.3.6.1.4.1.4874.2.2.77.2.1.0"
        probe = mv + "\nsnmpget $V3 -t 0.3 -r 0 127.0.0.1:%d %s" % (e.snmp_port, oid)
        wait_for(lambda: "INTEGER" in self.sh(probe).stdout, 20, what="pmirrord to register")
        # Every command of the block, then the output its "#   " comment promises.
        lines, checked = block.splitlines(), 0
        for i, l in enumerate(lines):
            if not l.startswith("snmp"):
                continue
            want = lines[i + 1].strip() if i + 1 < len(lines) else ""
            self.assertTrue(want.startswith("#"), "no expected output after %r" % l)
            want = want.lstrip("#").strip()
            want = want[4:] if want.startswith("... ") else want
            r = self.sh(mv + "\n" + l + " || true")
            got = " ".join((r.stdout + "\n" + r.stderr).split())
            self.assertIn(want, got, "README command %r" % l)
            checked += 1
        self.assertGreaterEqual(checked, 6)

    def test_trying_notifications(self):
        e = self.env
        self.start_readme_snmpd()
        steps = code_blocks(section("Trying the notifications"))
        self.assertEqual(len(steps), 3, steps)
        _, mv = self.mib_lines()
        # 1. the receiver
        head, sep, cmd = self.local(steps[0]).rpartition("\nSNMPCONFPATH=")
        cmd = sep.lstrip("\n") + cmd
        r = self.sh(head)
        self.assertEqual(r.returncode, 0, r.stderr)
        cmd = cmd.replace("\\\n", " ").split("#")[0].replace("snmptrapd -f", "exec /usr/sbin/snmptrapd -f")
        e._spawn("snmptrapd", ["bash", "-c", mv + "\n" + cmd])
        wait_for(lambda: "NET-SNMP version" in e.read_log("snmptrapd"), 20, what="snmptrapd")
        # 2. pmirrord's configuration
        conf = self.write_conf(self.local(steps[1]))
        # 3. pm_evtestd and one event
        fifo_cmd, start_cmd, event_cmd = self.local(steps[2]).splitlines()
        self.assertEqual(self.sh(fifo_cmd).returncode, 0)
        self.assertTrue(start_cmd.startswith("PM_EVTEST_FIFO=") and start_cmd.endswith("&"), start_cmd)
        assign, _, argv = start_cmd.rstrip("& ").partition(" ")
        e._spawn("pmirrord", ["bash", "-c", assign + " exec " + argv + " -p " + e.path("run", "pmirrord.pid")])
        wait_for(lambda: "evtest: reading events" in e.read_log("pmirrord"), 30, what="pm_evtestd")
        event = re.search(r"'(trap=[^']*)'", event_cmd).group(1)
        e.note_event(event)
        e.secrets.add("alice")
        self.assertEqual(self.sh(event_cmd, timeout=30).returncode, 0)
        para = section("Trying the notifications")
        expect = re.search(r"snmptrapd prints (.*?)\.\.\.", para, re.S).group(1)
        wants = [" ".join(w.split()) for w in re.findall(r"`([^`]+)`", expect)]
        self.assertGreaterEqual(len(wants), 3)
        wait_for(lambda: all(w in " ".join(e.read_log("snmptrapd").split()) for w in wants), 20,
                 what="the notification the README promises: %s" % wants)

    def test_command_table_lists_help(self):
        e = self.env
        e.start_pmirrord()
        wait_for(lambda: os.path.exists(e.path("run", "ctl.sock")), 20, what="the control socket")
        r = e.ctl("help", secret=pmtest.MIRROR_SECRET)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        table = section("pmirrorctl")
        # help: one command per line, its words before two or more blanks and the help text.
        names = [m.group(1) for m in re.finditer(r"^\s*([a-z][a-z-]*(?: [a-z<\[][^ ]*)*?)(?:\s{2,}|$)",
                                                 r.stdout, re.M)]
        self.assertIn("mirror-disable", names, r.stdout)
        for name in names:
            first = name.split()[0]
            if first in ("help", "exit", "quit", "mirror-enable"):
                continue   # the session commands, described in the text above the table
            self.assertTrue("`" + first in table, "README's command table lacks %r (help: %r)" % (first, name))
        for name in ("mirror-disable", "disable"):
            self.assertRegex(table, r"\| `%s` |/ `%s` \|" % (name, name), "README's table lacks " + name)

if __name__ == "__main__":
    unittest.main()
