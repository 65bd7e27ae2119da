#!/usr/bin/env bash
# tests/demo/test_demo.sh - scripts/demo, the first Quick start command, runs to
# the end with the binaries of this build (PM_DEMO_BUILD skips scripts/deps and
# its own build) in well under a minute, tells its story (the lines asserted
# below: what snmptrapd decoded, what tshark decoded at the analyzer, the
# secure logs, the statistics) and leaves nothing behind: no namespace, no
# process of its own.
set -euo pipefail
: "${PM_SOURCE_DIR:?}" "${PM_BUILD_DIR:?}" "${PM_PLAIN_BUILD_DIR:?}"
T=$(mktemp -d /tmp/pm-demo-test.XXXXXX)
trap 'rm -rf "$T"' EXIT
# The daemon without sanitizers: it locks all its memory (README.md, "Tests").
ln -s "$PM_PLAIN_BUILD_DIR/pmirrord" "$T/pmirrord"
ln -s "$PM_BUILD_DIR/pmirrorctl" "$T/pmirrorctl"
fail() { cat "$T/out" >&2; echo "test_demo: $*" >&2; exit 1; }
start=$(date +%s)
if ! PM_DEMO_BUILD="$T" timeout 60 bash "$PM_SOURCE_DIR/scripts/demo" >"$T/out" 2>&1; then
  fail "scripts/demo failed"
fi
took=$(($(date +%s) - start))
[ "$took" -lt 45 ] || fail "the demo took ${took} s (it must finish well under a minute)"

# Exactly these lines (regular expressions), in this order.
want=(
  '^== Setting up a private world'
  '^-- pmirrord on the BNG: capturing lo \(RADIUS\) and bng-sub'
  'juniPacketMirrorTrapEnable\.0 = INTEGER: true\(1\)$'
  '^-- alice logs in: radclient Access-Request -> Access-Accept with LI VSAs'
  '^   snmptrapd received juniPacketMirrorSessionStart$'
  '^     \* active ip=198\.18\.0\.2 user="alice" .*intercepts=1$'
  '^     - active ip=198\.18\.0\.3 user="bob" .*intercepts=0$'
  '^   snmptrapd received juniPacketMirrorInterfaceSessionDeactivated$'
  '^   snmptrapd received juniPacketMirrorInterfaceSessionActivated$'
  '^   snmptrapd received juniPacketMirrorSessionEnd$'
  '^-- at the analyzer: 12 datagrams while alice was a target, none while off, none of bob'
  '^== 1\. Notifications'
  '^  juniPacketMirrorSessionStart$'
  '^      Identifier = Gauge32: 77, SessionIdentifier = Gauge32: 5, '
  'radiusLogin\(0\)'
  '^  juniPacketMirrorInterfaceSessionDeactivated$'
  '^  juniPacketMirrorInterfaceSessionActivated$'
  'radiusCoa\(1\)'
  '^  juniPacketMirrorSessionEnd$'
  'TerminationReason = INTEGER: userRequest\(1\)$'
  '^== 2\. The analyzer.s capture: tshark decodes'
  '^ +1  198\.18\.1\.1 -> 198\.18\.1\.2 +77 +5 +198\.18\.0\.2 -> 198\.18\.0\.1 +alice: logged in #1$'
  '^ +12  198\.18\.1\.1 -> 198\.18\.1\.2 +77 +5 +198\.18\.0\.1 -> 198\.18\.0\.2 +alice: after CoA on #3$'
  '^== 3\. The mirror log'
  'activation SessionStart mirror-id=77 session-id=5'
  'deactivation InterfaceSessionDeactivated mirror-id=77'
  'activation InterfaceSessionActivated mirror-id=77'
  'deactivation SessionEnd mirror-id=77'
  '^== 4\. The SNMP audit log'
  'GET juniPacketMirrorTrapEnable\.0 = true\(1\): ok'
  '^== 5\. Statistics'
  '^== demo done in [0-9.]+ s; everything it started is stopped and its namespaces deleted$'
)
rest=$(cat "$T/out")
for re in "${want[@]}"; do
  line=$(grep -n -E -m1 -- "$re" <<<"$rest" | cut -d: -f1) || fail "missing (in order): $re"
  rest=$(tail -n +"$((line + 1))" <<<"$rest")
done
# tshark shows 12 jmirror datagrams, none of the traffic sent while off or of bob's
n=$(grep -c -E '^ +[0-9]+  198\.18\.1\.1 -> 198\.18\.1\.2 +77 +5 ' "$T/out") || true
[ "$n" -eq 12 ] || fail "$n datagrams of mirror ID 77 in tshark's output, expected 12"
rows=$(grep '198\.18\.1\.1 -> ' "$T/out") || true
if grep -q -E 'after CoA off #[0-9]$|bob: never a target #[0-9]$' <<<"$rows"; then
  fail "traffic that is not a target's was mirrored"
fi
# the statistics: the intercept's row (since the CoA that activated it again: 6 datagrams),
# its analyzer's, and the sender's counters (all 12)
grep -q -E '^  intercept mid=77 sid=5 analyzer=198\.18\.1\.2:30030 packets=6 .* lost=0 ' "$T/out" ||
  fail "no statistics row of the intercept"
grep -q -E '^  analyzer 198\.18\.1\.2:30030 state=up ' "$T/out" ||
  fail "no statistics row of the analyzer"
# its entry was made again when the CoA turned the intercept on: the path MTU is known
grep -q -E '^  analyzer 198\.18\.1\.2:30030 .* path-mtu=1500$' "$T/out" ||
  fail "the analyzer's row does not know the path MTU (1500)"
grep -q -E '^  jmirror +sent +12$' "$T/out" || fail "the jmirror counters do not count 12 datagrams"
# nothing left behind
if ip netns list | grep -q '^pmdemo-'; then
  # only namespaces of a demo that still runs may exist (their name holds its PID)
  for ns in $(ip netns list | awk '/^pmdemo-/ {print $1}'); do
    pid=$(cut -d- -f3 <<<"$ns")
    kill -0 "$pid" 2>/dev/null || fail "namespace $ns left behind"
  done
fi
echo "test_demo: ok (${took} s)"
