#!/usr/bin/env bash
# tests/demo/test_demo.sh - scripts/demo, the first Quick start command, runs to
# the end with the binaries of this build (PM_DEMO_BUILD skips scripts/deps and
# its own build).  It restarts snmpd half-way: that only works while snmpd's
# configuration is kept apart from the persistent file it rewrites at exit.
set -euo pipefail
: "${PM_SOURCE_DIR:?}" "${PM_BUILD_DIR:?}" "${PM_PLAIN_BUILD_DIR:?}"
T=$(mktemp -d /tmp/pm-demo-test.XXXXXX)
trap 'rm -rf "$T"' EXIT
# The daemon without sanitizers: it locks all its memory (README.md, "Tests").
ln -s "$PM_PLAIN_BUILD_DIR/pmirrord" "$T/pmirrord"
ln -s "$PM_BUILD_DIR/pmirrorctl" "$T/pmirrorctl"
if ! PM_DEMO_BUILD="$T" bash "$PM_SOURCE_DIR/scripts/demo" >"$T/out" 2>&1; then
    cat "$T/out" >&2
    echo "test_demo: scripts/demo failed" >&2
    exit 1
fi
grep -q '== demo done' "$T/out" || { cat "$T/out" >&2; echo "test_demo: no end" >&2; exit 1; }
grep -q 'restarting snmpd' "$T/out" || { echo "test_demo: snmpd was not restarted" >&2; exit 1; }
echo "test_demo: ok"
