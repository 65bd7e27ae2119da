#!/usr/bin/env bash
# tests/systemd/test_unit.sh - dist/systemd/pmirrord.service verifies and rates
# as docs/systemd.md says; dist/systemd/pmirrord.tmpfiles makes its directories.
#
#  1. `systemd-analyze verify` on a copy whose ExecStart= names the build's
#     pmirrord (verify wants an executable; Documentation= is dropped: the man
#     pages are not installed here), alone and with the drop-in that
#     `pmirrord -n -c FILE --ip-allow` writes for a configuration with trap
#     hosts, analyzers and a RADIUS server (an invalid line in a drop-in is
#     reported by verify: checked to make sure the drop-in is read at all).
#  2. `systemd-analyze security --offline=true` on both: the score printed,
#     the test fails above PM_UNIT_MAX_EXPOSURE (2.5).
#  3. The unit keeps what the daemon relies on (Type=notify, the ExecStart=
#     and ExecReload= of docs/systemd.md, WatchdogSec=, the capability set).
#  4. `systemd-tmpfiles --create --root` makes /run/pmirrord (0755 root) and
#     /var/lib/pmirrord (0700 pmirrord) in a private root with its own passwd.
set -euo pipefail
: "${PM_SOURCE_DIR:?}" "${PM_BUILD_DIR:?}"
MAX=${PM_UNIT_MAX_EXPOSURE:-2.5}
UNIT="$PM_SOURCE_DIR/dist/systemd/pmirrord.service"
TMPF="$PM_SOURCE_DIR/dist/systemd/pmirrord.tmpfiles"
T=$(mktemp -d /tmp/pm-unit.XXXXXX)
chmod 755 "$T" # persistentDir below it must be reachable by the agent's user
trap 'rm -rf "$T"' EXIT
fail() { echo "test_unit: $*" >&2; exit 1; }

command -v systemd-analyze >/dev/null || fail "systemd-analyze missing (CI must not skip: install systemd)"
[ -x "$PM_BUILD_DIR/pmirrord" ] || fail "no $PM_BUILD_DIR/pmirrord"

# -- 1. verify -------------------------------------------------------------------
mkdir -p "$T/u"
sed -e "s#^ExecStart=/usr/sbin/pmirrord #ExecStart=$PM_BUILD_DIR/pmirrord #" -e '/^Documentation=/d' \
    "$UNIT" >"$T/u/pmirrord.service"
grep -q "^ExecStart=$PM_BUILD_DIR/pmirrord -f -c /etc/pmirrord/pmirrord.conf\$" "$T/u/pmirrord.service" ||
    fail "ExecStart= is not /usr/sbin/pmirrord -f -c /etc/pmirrord/pmirrord.conf"
# verify also reads the other units of this host (their warnings are not ours):
# only lines naming our files count
verify() {
    systemd-analyze verify "$T/u/pmirrord.service" >"$T/verify.out" 2>&1 || true
    grep -E "pmirrord\.service|ip-allow\.conf" "$T/verify.out" || true
}
out=$(verify)
[ -z "$out" ] || fail "systemd-analyze verify: $out"
echo "test_unit: systemd-analyze verify: OK"

# a configuration with trap hosts, analyzers and a RADIUS server
mkdir -p "$T/persist"
cat >"$T/pmirrord.conf" <<EOF
persistentDir $T/persist/pm
trapHost 198.18.0.1:162 user mirrorTrap auth SHA-256 "auth-passphrase-1" priv AES-128 "priv-passphrase-1"
trapHost [2001:db8::7]:1162 user mirrorTrap2 auth SHA-256 "auth-passphrase-2" priv AES-128 "priv-passphrase-2"
trapHost 127.0.0.1:1162 user mirrorTrap3 auth SHA-256 "auth-passphrase-3" priv AES-128 "priv-passphrase-3"
mirror ipAddress 198.18.0.10 analyzer 198.18.1.2:30030 id 77
mirror ipAddress 198.18.0.11 analyzer 198.18.1.2:30031 id 78
mirror ipAddress 198.18.0.12 analyzer [2001:db8::9]:30030 id 79
radiusServer 198.18.3.3 secret radius-secret-1
EOF
chmod 600 "$T/pmirrord.conf"
mkdir -p "$T/u/pmirrord.service.d"
"$PM_BUILD_DIR/pmirrord" -n -c "$T/pmirrord.conf" --ip-allow >"$T/u/pmirrord.service.d/ip-allow.conf" \
    2>"$T/ip-allow.err" || { cat "$T/ip-allow.err" >&2; fail "pmirrord --ip-allow failed"; }
want="IPAddressAllow=198.18.0.1
IPAddressAllow=2001:db8::7
IPAddressAllow=198.18.1.2
IPAddressAllow=2001:db8::9"
got=$(grep '^IPAddressAllow=' "$T/u/pmirrord.service.d/ip-allow.conf")
[ "$got" = "$want" ] || fail "--ip-allow printed
$got
wanted (each address once, loopback left out, no RADIUS peer)
$want"
grep -q '^\[Service\]$' "$T/u/pmirrord.service.d/ip-allow.conf" || fail "--ip-allow: no [Service]"
# SNMP sets no analyzer; pmirrorctl's and runtime.conf's trap hosts need lines too
! grep -q 'SNMP' "$T/u/pmirrord.service.d/ip-allow.conf" || fail "--ip-allow: SNMP named as a source of analyzers"
grep -q '^# Trap hosts and analyzers given later (pmirrorctl, runtime.conf' \
    "$T/u/pmirrord.service.d/ip-allow.conf" || fail "--ip-allow: run-time trap hosts not mentioned"
! grep -E "198\.18\.0\.1[012]|passphrase|radius-secret" "$T/u/pmirrord.service.d/ip-allow.conf" ||
    fail "--ip-allow printed a trigger value or a secret"
out=$(verify)
[ -z "$out" ] || fail "systemd-analyze verify with the drop-in: $out"
echo "IPAddressAllow=not-an-address" >>"$T/u/pmirrord.service.d/ip-allow.conf"
out=$(verify)
[ -n "$out" ] || fail "verify did not read the drop-in (an invalid line passed)"
sed -i '$d' "$T/u/pmirrord.service.d/ip-allow.conf"
echo "test_unit: systemd-analyze verify with the --ip-allow drop-in: OK"

# more analyzers than the drop-in's duplicate check holds (512): every one
# printed (one left out could not be reached under the unit)
{
    echo "persistentDir $T/persist/pm"
    echo "maxTriggers 1000"
    for i in $(seq 0 599); do
        echo "mirror ipAddress 198.18.0.$((i % 250 + 1)) analyzer 198.18.$((2 + i / 250)).$((i % 250 + 1)):30030 id $((i + 1))"
    done
} >"$T/many.conf"
chmod 600 "$T/many.conf"
"$PM_BUILD_DIR/pmirrord" -n -c "$T/many.conf" --ip-allow >"$T/many.out" 2>"$T/ip-allow.err" ||
    { cat "$T/ip-allow.err" >&2; fail "pmirrord --ip-allow (600 analyzers) failed"; }
n=$(grep -c '^IPAddressAllow=' "$T/many.out" || true)
[ "$n" = 600 ] || fail "--ip-allow printed $n of 600 analyzers"
grep -q '^IPAddressAllow=198\.18\.4\.100$' "$T/many.out" || fail "--ip-allow: the last analyzer missing"
echo "test_unit: --ip-allow with 600 analyzers: OK"

# -- 2. security -------------------------------------------------------------------
score() {
    systemd-analyze security --offline=true --no-pager "$T/u/pmirrord.service" >"$T/sec.out" 2>&1 || true
    sed -n 's/.*Overall exposure level for pmirrord\.service: \([0-9.]*\).*/\1/p' "$T/sec.out"
}
check_score() {
    local what=$1 s
    s=$(score)
    [ -n "$s" ] || { cat "$T/sec.out" >&2; fail "no score from systemd-analyze security"; }
    echo "test_unit: systemd-analyze security --offline=true ($what): $s (at most $MAX)"
    awk -v s="$s" -v m="$MAX" 'BEGIN { exit !(s <= m) }' || {
        grep '✗' "$T/sec.out" >&2 || true
        fail "exposure $s above $MAX ($what)"
    }
}
check_score "with the --ip-allow drop-in"
rm -r "$T/u/pmirrord.service.d"
check_score "the unit as shipped"

# -- 3. what the daemon relies on ----------------------------------------------------
for line in 'Type=notify' 'NotifyAccess=main' 'KillMode=mixed' 'ExecReload=/bin/kill -HUP $MAINPID' 'Restart=on-failure' \
    'NoNewPrivileges=yes' 'ProtectSystem=strict' 'LimitCORE=0' 'UMask=0077' 'LimitMEMLOCK=infinity' \
    'CapabilityBoundingSet=CAP_SETUID CAP_SETGID CAP_SETPCAP CAP_NET_RAW CAP_CHOWN' \
    'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_PACKET AF_NETLINK' \
    'SystemCallFilter=~@privileged @resources' 'IPAddressDeny=any' 'IPAddressAllow=localhost'; do
    grep -qxF "$line" "$UNIT" || fail "the unit lacks $line"
done
grep -qE '^WatchdogSec=[1-9]' "$UNIT" || fail "the unit has no WatchdogSec="
grep -qE '^ReadWritePaths=/var/lib/pmirrord /run/pmirrord$' "$UNIT" || fail "ReadWritePaths="

# -- 4. tmpfiles -------------------------------------------------------------------
mkdir -p "$T/root/etc"
echo "pmirrord:x:4711:4712::/nonexistent:/usr/sbin/nologin" >"$T/root/etc/passwd"
echo "pmirrord:x:4712:" >"$T/root/etc/group"
systemd-tmpfiles --create --root="$T/root" "$TMPF" || fail "systemd-tmpfiles --create failed"
[ "$(stat -c '%a %u %g' "$T/root/run/pmirrord")" = "755 0 0" ] ||
    fail "/run/pmirrord is $(stat -c '%a %u %g' "$T/root/run/pmirrord"), not 755 root root"
[ "$(stat -c '%a %u %g' "$T/root/var/lib/pmirrord")" = "700 4711 4712" ] ||
    fail "/var/lib/pmirrord is $(stat -c '%a %u %g' "$T/root/var/lib/pmirrord"), not 700 pmirrord"
echo "test_unit: systemd-tmpfiles: OK"
echo "test_unit: OK"
