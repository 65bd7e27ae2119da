#!/usr/bin/env bash
# tests/install/test_install.sh - `cmake --install` into a private prefix
# installs exactly what README.md ("Build and install") lists, with its modes.
# The list is the README's block between "<!-- installed-files -->" and
# "<!-- /installed-files -->": one `MODE PATH` per line, PATH relative to the
# prefix; a PATH ending in "/" stands for every file below it.
set -euo pipefail
: "${PM_SOURCE_DIR:?}" "${PM_BUILD_DIR:?}"
T=$(mktemp -d /tmp/pm-install.XXXXXX)
trap 'rm -rf "$T"' EXIT
fail() { echo "test_install: $*" >&2; exit 1; }

umask 022
cmake --install "$PM_BUILD_DIR" --prefix "$T/p" >"$T/install.log" 2>&1 ||
    { cat "$T/install.log" >&2; fail "cmake --install failed"; }

sed -n '/<!-- installed-files -->/,/<!-- \/installed-files -->/p' "$PM_SOURCE_DIR/README.md" |
    grep -E '^    [0-7]{4} ' | sed 's/^    //' >"$T/want"
[ -s "$T/want" ] || fail "README.md has no installed-files list"

(cd "$T/p" && find . -type f -printf '%m %P\n' | sort) >"$T/got"
[ -s "$T/got" ] || fail "nothing installed"

# Every listed path is installed with its mode...
while read -r mode path; do
    if [[ $path == */ ]]; then
        n=$(grep -c " ${path}" "$T/got" || true)
        [ "$n" -gt 0 ] || fail "README lists $path but nothing was installed there"
        bad=$(grep " ${path}" "$T/got" | awk -v m="${mode#0}" '$1 != m' || true)
        [ -z "$bad" ] || fail "under $path, not mode $mode: $bad"
    else
        line=$(grep -E "^[0-7]+ ${path}\$" "$T/got" || true)
        [ -n "$line" ] || fail "README lists $path but it was not installed"
        [ "${line%% *}" = "${mode#0}" ] || fail "$path has mode ${line%% *}, README says $mode"
    fi
done <"$T/want"

# ...and nothing is installed that the README does not list.
while read -r mode path; do
    ok=0
    while read -r _ w; do
        if [[ $w == */ && $path == "$w"* ]] || [ "$path" = "$w" ]; then ok=1; break; fi
    done <"$T/want"
    [ $ok = 1 ] || fail "installed $path, which README.md does not list"
done <"$T/got"

# The documents the README points to are there, and the test programs are not.
for f in share/doc/pmirrord/examples/snmpd-pmirrord.conf share/doc/pmirrord/examples/pmirrord.conf \
    share/doc/pmirrord/docs/control-protocol.md share/snmp/mibs/Juniper-PACKET-MIRROR-MIB.txt; do
    [ -f "$T/p/$f" ] || fail "$f not installed"
done
! grep -qE ' (s?bin)/(pm_evtestd|ctl_testd|pm_capdump|pkt_pcapcheck)$' "$T/got" ||
    fail "a test program was installed"
"$T/p/bin/pmirrorctl" -h >/dev/null 2>&1 || fail "installed pmirrorctl does not run"
# The example configuration the README copies to /etc/pmirrord is valid.
install -m 0600 "$T/p/share/doc/pmirrord/examples/pmirrord.conf" "$T/pmirrord.conf"
"$T/p/sbin/pmirrord" -n -c "$T/pmirrord.conf" >"$T/check.log" 2>&1 ||
    { cat "$T/check.log" >&2; fail "examples/pmirrord.conf does not pass pmirrord -n"; }
echo "test_install: ok ($(wc -l <"$T/got") files)"
