#!/usr/bin/env bash
# tests/install/test_man.sh - the manual pages are well-formed (groff prints no
# warning) and complete: pmirrord.conf(5) has an entry for every directive of
# src/config/conf.c, pmirrord(8) and pmirrorctl(8) every option their -h
# prints, pmirrorctl(8) every command the daemon registers (hidden ones too).
set -euo pipefail
: "${PM_SOURCE_DIR:?}" "${PM_BUILD_DIR:?}"
T=$(mktemp -d /tmp/pm-man.XXXXXX)
trap 'rm -rf "$T"' EXIT
fail() { echo "test_man: $*" >&2; exit 1; }
man_dir=$PM_SOURCE_DIR/man

render() { # PAGE -> plain text, one paragraph per line (no hyphenation, no fill limit)
    MANWIDTH=3000 man -E ascii --no-hyphenation --no-justification -l "$1" 2>"$T/warn" | col -b
}
for p in pmirrord.8 pmirrorctl.8 pmirrord.conf.5; do
    LC_ALL=C.UTF-8 groff -mandoc -Tutf8 -ww -z "$man_dir/$p" >"$T/groff" 2>&1 || true
    [ ! -s "$T/groff" ] || { cat "$T/groff" >&2; fail "groff warns about $p"; }
    render "$man_dir/$p" >"$T/$p.txt"
    [ -s "$T/$p.txt" ] || fail "$p renders to nothing"
done

# Every directive: an entry (a line that begins with its name) in pmirrord.conf(5).
/usr/bin/python3 - "$PM_SOURCE_DIR/src/config/conf.c" >"$T/directives" <<'PY'
import re, sys
src = open(sys.argv[1]).read()
for name in re.findall(r'^\s*\{"([A-Za-z0-9]+)", d_', src, re.M):
    print("no mirror" if name == "no" else name)
PY
[ "$(wc -l <"$T/directives")" -gt 30 ] || fail "could not read the directives of conf.c"
while read -r d; do
    grep -qE "^ +$d( |\$)" "$T/pmirrord.conf.5.txt" || fail "pmirrord.conf(5) has no entry for $d"
done <"$T/directives"

# ...and each entry says its default (mdoc source: from ".It Cm NAME" to the next .It).
/usr/bin/python3 - "$man_dir/pmirrord.conf.5" >"$T/nodefault" <<'PY'
import re, sys
for block in re.split(r"\n(?=\.It |\.El)", open(sys.argv[1]).read()):
    if block.startswith(".It Cm") and "efault" not in block:
        print(block.split("\n")[0])
PY
[ ! -s "$T/nodefault" ] || fail "pmirrord.conf(5) entries without a default: $(cat "$T/nodefault")"

# Every option of -h: an entry of the options list (a line that begins with it).
opts() { "$1" -h 2>&1 | grep -oE '^ +-[A-Za-z]|, +-[A-Za-z]|^ +--[a-z-]+|, +--[a-z-]+|;  +-[A-Za-z]' |
    grep -oE -- '-+[A-Za-z-]+' | sort -u; }
for prog in pmirrord pmirrorctl; do
    page=$T/$prog.8.txt
    for o in $(opts "$PM_BUILD_DIR/$prog"); do
        grep -qE -- "^[[:space:]]+(-+[A-Za-z-]+( [a-z]+)?, )*$o([[:space:],]|\$)" "$page" || fail "$prog(8) lacks the option $o"
    done
done

# Every command the daemon registers, the hidden ones (after mirror-enable) too.
/usr/bin/python3 - "$PM_SOURCE_DIR" >"$T/commands" <<'PY'
import re, sys, glob
root = sys.argv[1]
for f in glob.glob(root + "/src/daemon/*.c") + [root + "/src/ctl/ctl_registry.c"]:
    if f.endswith("/daemon.c"):
        continue  # its getopt long options, not commands
    for spec in re.findall(r'^\s*\{"([a-z][a-z -]*)', open(f).read(), re.M):
        words = spec.split(" [")[0].split(" <")[0].strip()
        print(words)
PY
[ "$(wc -l <"$T/commands")" -gt 15 ] || fail "could not read the commands"
while read -r c; do
    grep -qF -- "$c" "$T/pmirrorctl.8.txt" || fail "pmirrorctl(8) lacks the command \"$c\""
done <"$T/commands"
echo "test_man: ok ($(wc -l <"$T/directives") directives, $(wc -l <"$T/commands") commands)"
