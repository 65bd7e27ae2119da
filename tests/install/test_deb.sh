#!/usr/bin/env bash
# tests/install/test_deb.sh - the Debian package (README.md, "Install and run as
# a service"): scripts/package builds it in a release tree under the build
# directory, `dpkg -i` installs it, the files, modes, owners, conffiles and the
# two system accounts are checked, then the INSTALLED /usr/sbin/pmirrord is
# started by hand (PID 1 need not be systemd) with the installed configuration,
# changed only in agentXSocket, towards an snmpd this test starts as AgentX
# master with the installed snmpd.conf.d snippet.  The agent must run as
# pmirrord, the capture process as pmirrord-capture, the installed pmirrorctl
# must answer over the installed control socket, an SNMPv3 authPriv GET must
# reach the Mirror MIB through snmpd.  Then the daemon is stopped by its
# pidfile, the package purged and the accounts it created removed: the machine
# is left as it was found (a trap does it on failure too).  ctest runs it alone
# (RUN_SERIAL): other tests must not see the accounts.  Needs root.
set -euo pipefail
: "${PM_SOURCE_DIR:?}" "${PM_BUILD_DIR:?}"
fail() { echo "test_deb: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || fail "needs root (dpkg -i)"
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

# One run at a time on this machine, whatever the checkout or the ctest run
# (RUN_SERIAL covers only its own ctest): two runs would each purge the other's
# package and remove the accounts the other uses.  flock(2) on dpkg's directory
# leaves no file behind and does not touch dpkg's own (fcntl) locks.
exec 9</var/lib/dpkg
flock -w 600 9 || fail "another package test held its lock for 10 minutes"

# Refuse to touch a pmirrord this test did not install, or its state.
st=$(dpkg-query -W -f='${db:Status-Status}' pmirrord 2>/dev/null || true)
case "$st" in
"" | not-installed) ;;
*) fail "a pmirrord package is already on this machine (dpkg status \"$st\"); this test" \
    "installs and purges its own: remove it first (dpkg --purge pmirrord)" ;;
esac
for d in /var/lib/pmirrord /etc/pmirrord /run/pmirrord; do
    [ ! -e "$d" ] || fail "$d exists already (not the package's): the purge would remove it"
done
# userdel removes the user's group of the same name with the user (Debian's
# USERGROUPS_ENAB): an account made here would take such a group with it.
for u in pmirrord pmirrord-capture; do
    ! getent group "$u" >/dev/null || getent passwd "$u" >/dev/null ||
        fail "a group $u exists without the account $u: removing the account made here would remove it"
done

T=$(mktemp -d /tmp/pm-deb.XXXXXX)
chmod 0755 "$T" # setpriv as pmirrord and Debian-snmp: only the socket's mode may refuse them
had_user=()
for u in pmirrord pmirrord-capture; do
    getent passwd "$u" >/dev/null && had_user+=("$u")
    getent group "$u" >/dev/null && had_user+=("group:$u")
done
installed=0
snapshot() {
    {
        find /etc /usr/sbin /usr/bin /usr/lib/systemd /usr/lib/tmpfiles.d /usr/share/snmp \
            /usr/share/man /usr/share/doc /var/lib/systemd /run -xdev -name '*pmirror*' 2>/dev/null
        getent passwd pmirrord pmirrord-capture || true
        getent group pmirrord pmirrord-capture || true
    } | sort
}
snapshot >"$T/before"

stop_pidfile() { # PIDFILE: TERM the process it names, wait until it is gone
    local pid n
    [ -s "$1" ] || return 0
    pid=$(cat "$1")
    kill -TERM "$pid" 2>/dev/null || return 0
    for n in $(seq 100); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
}
# userdel refuses an account a process runs as: a pmirrord started meanwhile by
# someone else (outside this ctest run) may have picked the account up.
deluser_when_free() { # USER
    local n
    for n in $(seq 120); do
        pgrep -u "$1" >/dev/null 2>&1 || { userdel "$1" 2>/dev/null && return 0; }
        sleep 0.5
    done
    echo "test_deb: cannot remove the account $1, in use by: $(ps -o pid=,args= -u "$1")" >&2
    return 1
}
cleanup() {
    local rc=$? u
    set +e
    stop_pidfile "$T/pmirrord.pid"
    stop_pidfile "$T/snmpd.pid"
    if [ $installed = 1 ]; then
        dpkg --purge pmirrord >"$T/purge.log" 2>&1 || { cat "$T/purge.log" >&2; rc=1; }
    fi
    for u in pmirrord pmirrord-capture; do
        if [[ " ${had_user[*]} " != *" $u "* ]] && getent passwd "$u" >/dev/null; then
            deluser_when_free "$u" || rc=1
        fi
        if [[ " ${had_user[*]} " != *" group:$u "* ]] && getent group "$u" >/dev/null; then
            groupdel "$u" || rc=1
        fi
    done
    if [ $installed = 1 ]; then
        snapshot >"$T/after"
        if ! diff "$T/before" "$T/after" >"$T/diff"; then
            echo "test_deb: the machine is not as it was found:" >&2
            cat "$T/diff" >&2
            rc=1
        fi
    fi
    [ $rc = 0 ] || { [ -f "$T/snmpd.log" ] && tail -20 "$T/snmpd.log" >&2; }
    rm -rf "$T"
    exit $rc
}
trap cleanup EXIT
# bash runs no EXIT trap when a signal kills it: turn them into an exit, so that
# an interrupted run (CI cancelled, ^C) purges the package and the accounts too.
# (ctest's TIMEOUT sends SIGKILL, which nothing can catch.)
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- Build and install ------------------------------------------------------
bash "$PM_SOURCE_DIR/scripts/package" --no-deps "$PM_BUILD_DIR/pkg" >"$T/package.log" 2>&1 ||
    { tail -30 "$T/package.log" >&2; fail "scripts/package failed"; }
deb=$(tail -1 "$T/package.log")
[[ $deb == */pmirrord_*_amd64.deb && -f $deb ]] || fail "no .deb built (last line: $deb)"
depends=$(dpkg-deb -f "$deb" Depends)
for lib in libsnmp40 libpcap0.8 libssl3 libseccomp2 adduser; do
    [[ $depends == *"$lib"* ]] || fail "Depends lacks $lib: $depends"
done
[[ $(dpkg-deb -f "$deb" Recommends) == *snmpd* ]] || fail "Recommends lacks snmpd"
dpkg-deb -c "$deb" >"$T/contents"
! grep -q 'libasan\|/build' "$T/contents" || fail "the package holds build files"
grep -q ' \./usr/share/doc/pmirrord/copyright$' "$T/contents" || fail "no copyright file"

# dpkg waits for nobody: retry while another dpkg or apt holds its lock.
for n in $(seq 60); do
    installed=1
    if dpkg -i "$deb" >"$T/dpkg.log" 2>&1; then break; fi
    installed=0
    # Only dpkg's own lock message: any other failure may have unpacked files.
    grep -q '^dpkg: error: dpkg .*lock.* by another process' "$T/dpkg.log" ||
        { cat "$T/dpkg.log" >&2; installed=1; fail "dpkg -i failed"; }
    sleep 2
done
[ $installed = 1 ] || fail "dpkg's lock stayed taken for 2 minutes"
grep -q 'enabled, not started' "$T/dpkg.log" || fail "postinst did not say the daemon is not started"

# ---- Files, modes, owners, conffiles, accounts ------------------------------
mode() { stat -c '%a %U %G' "$1" 2>/dev/null || echo "missing"; }
check() { # PATH "MODE USER GROUP"
    local got
    got=$(mode "$1")
    [ "$got" = "$2" ] || fail "$1: $got, want $2"
}
check /usr/sbin/pmirrord "755 root root"
check /usr/bin/pmirrorctl "755 root root"
check /etc/pmirrord "700 root root"
check /etc/pmirrord/pmirrord.conf "600 root root"
check /etc/snmp/snmpd.conf.d/pmirrord.conf "644 root root"
check /usr/lib/systemd/system/pmirrord.service "644 root root"
check /usr/lib/tmpfiles.d/pmirrord.conf "644 root root"
check /usr/share/snmp/mibs/Juniper-PACKET-MIRROR-MIB.txt "644 root root"
# (Unless dpkg is told to leave manual pages out, as slim container images do.)
if ! grep -qs 'path-exclude.*/usr/share/man' /etc/dpkg/dpkg.cfg.d/*; then
    for m in man8/pmirrord.8 man8/pmirrorctl.8 man5/pmirrord.conf.5; do
        [ -f "/usr/share/man/$m.gz" ] || fail "/usr/share/man/$m.gz not installed"
    done
    [ "$(man -w pmirrord.conf)" = /usr/share/man/man5/pmirrord.conf.5.gz ] ||
        fail "man does not find pmirrord.conf(5)"
fi
conffiles=$(dpkg-query -W -f='${Conffiles}' pmirrord)
for f in /etc/pmirrord/pmirrord.conf /etc/snmp/snmpd.conf.d/pmirrord.conf; do
    [[ $conffiles == *"$f "* ]] || fail "$f is not a conffile: $conffiles"
done
[ -d /run/pmirrord ] || fail "postinst did not create /run/pmirrord (systemd-tmpfiles)"
[ -L /etc/systemd/system/multi-user.target.wants/pmirrord.service ] ||
    fail "postinst did not enable pmirrord.service"
sys_uid_max=$(awk '$1 == "SYS_UID_MAX" {print $2}' /etc/login.defs)
for u in pmirrord pmirrord-capture; do
    IFS=: read -r _ _ uid gid _ home shell < <(getent passwd "$u") || fail "no account $u"
    [ "$uid" -lt "${sys_uid_max:-999}" ] || fail "$u is not a system account (uid $uid)"
    [ "$(getent group "$gid" | cut -d: -f1)" = "$u" ] || fail "$u's group is not $u"
    [ "$home" = /nonexistent ] && [ "$shell" = /usr/sbin/nologin ] ||
        fail "$u: home $home, shell $shell"
done
/usr/sbin/pmirrord -n >"$T/check.log" 2>&1 ||
    { cat "$T/check.log" >&2; fail "the installed configuration does not pass pmirrord -n"; }

# ---- snmpd as AgentX master, with the installed snippet ----------------------
port=$((40000 + $$ % 20000))
mkdir -m 0700 "$T/snmp"
cat >"$T/snmp/snmpd.conf" <<EOF
agentAddress  udp:127.0.0.1:$port
master        agentx
agentXSocket  $T/agentx/master
exactEngineID 0x80001f88047064656274657374
createUser    mirrorAdmin SHA-256 "deb-auth-pass" AES "deb-priv-pass"
includeFile   /etc/snmp/snmpd.conf.d/pmirrord.conf
EOF
SNMP_PERSISTENT_DIR="$T/snmp" snmpd -C -c "$T/snmp/snmpd.conf" -Lf "$T/snmpd.log" -I -smux 9<&- \
    -m '' -p "$T/snmpd.pid" || fail "snmpd did not start"
for n in $(seq 100); do [ -S "$T/agentx/master" ] && break; sleep 0.1; done
[ -S "$T/agentx/master" ] || fail "snmpd made no AgentX socket"
# AgentX has no authentication: the snippet must not open snmpd's socket to
# anyone but root, neither to the pmirrord account (its root monitor connects
# for the agent) nor to Debian-snmp (snmptrapd's account too).
for u in pmirrord Debian-snmp; do
    getent passwd "$u" >/dev/null || continue
    ! setpriv --reuid "$u" --regid "$u" --init-groups /usr/bin/python3 -c \
        "import socket,sys; socket.socket(socket.AF_UNIX).connect(sys.argv[1])" \
        "$T/agentx/master" 2>/dev/null ||
        fail "the user $u can connect to the AgentX socket: $(stat -c '%a %U %G' "$T/agentx/master")"
done

# ---- The installed daemon, by hand, with the installed configuration ---------
sed -i "s|^agentXSocket .*|agentXSocket        $T/agentx/master|" /etc/pmirrord/pmirrord.conf
check /etc/pmirrord/pmirrord.conf "600 root root"
# Installing it again (the upgrade path of the maintainer scripts) keeps the
# edited conffile and the accounts as they are.
uids="$(id -u pmirrord) $(id -u pmirrord-capture)"
dpkg -i "$deb" >"$T/dpkg2.log" 2>&1 || { cat "$T/dpkg2.log" >&2; fail "dpkg -i again failed"; }
grep -q "^agentXSocket .*$T/agentx/master" /etc/pmirrord/pmirrord.conf ||
    fail "installing again replaced the edited /etc/pmirrord/pmirrord.conf"
check /etc/pmirrord/pmirrord.conf "600 root root"
[ "$(id -u pmirrord) $(id -u pmirrord-capture)" = "$uids" ] || fail "installing again changed the accounts"
[ "$(getent passwd | grep -c '^pmirrord')" = 2 ] || fail "installing again added accounts"
# Without -f it returns once it has started: the pidfile written, the control
# socket answering (README.md, "Running pmirrord").
/usr/sbin/pmirrord -p "$T/pmirrord.pid" >"$T/start.log" 2>&1 9<&- ||
    { cat "$T/start.log" >&2; fail "the installed pmirrord did not start"; }
mon=$(cat "$T/pmirrord.pid")
uid_of() { awk '/^Uid:/ {print $2}' "/proc/$1/status"; }
for n in $(seq 100); do
    agent=$(ps --ppid "$mon" -o pid=,comm= | awk '$2 == "pmirrord-agent" {print $1}')
    cap=$(ps --ppid "$mon" -o pid=,comm= | awk '$2 == "pmirrord-cap" {print $1}')
    [ -n "$agent" ] && [ -n "$cap" ] && break
    sleep 0.1
done
[ -n "$agent" ] && [ -n "$cap" ] || fail "the monitor's children: $(ps --ppid "$mon" -o pid=,comm=)"
[ "$(uid_of "$mon")" = 0 ] || fail "the monitor is not root"
[ "$(uid_of "$agent")" = "$(id -u pmirrord)" ] || fail "the agent runs as uid $(uid_of "$agent")"
[ "$(uid_of "$cap")" = "$(id -u pmirrord-capture)" ] ||
    fail "the capture process runs as uid $(uid_of "$cap")"
[ -S /run/pmirrord/pmirrord.sock ] || fail "no control socket at /run/pmirrord/pmirrord.sock"
out=$(/usr/bin/pmirrorctl show version 2>&1) || fail "pmirrorctl show version: $out"
[[ $out == *"$(dpkg-query -W -f='${Version}' pmirrord)"* ]] || fail "show version said: $out"
# The Mirror MIB through snmpd: registered over AgentX, granted by the snippet.
v3=(-v3 -l authPriv -u mirrorAdmin -a SHA-256 -A deb-auth-pass -x AES -X deb-priv-pass -t 1 -r 0)
for _ in $(seq 30); do
    got=$(snmpget -m '' -On "${v3[@]}" "127.0.0.1:$port" 1.3.6.1.4.1.4874.2.2.77.2.1.0 2>&1 || true)
    [[ $got == *"INTEGER: 2"* ]] && break
    sleep 0.5
done
[[ $got == *"INTEGER: 2"* ]] || fail "juniPacketMirrorTrapEnable.0 through snmpd: $got"
# The snippet's write view is juniPacketMirrorTrapEnable alone: not snmpd's own
# objects (sysContact.0 here; its VACM and USM tables alike).
! got=$(snmpset -m '' -On "${v3[@]}" "127.0.0.1:$port" 1.3.6.1.2.1.1.4.0 s deb-test 2>&1) ||
    fail "the mirror administrator may SET sysContact.0: $got"
[[ $got == *noAccess* || $got == *authorizationError* ]] || fail "SET sysContact.0: $got"

# ---- Stop by the pidfile, purge ---------------------------------------------
stop_pidfile "$T/pmirrord.pid"
! kill -0 "$mon" 2>/dev/null || fail "pmirrord did not stop on SIGTERM"
for _ in $(seq 50); do
    kill -0 "$agent" 2>/dev/null || kill -0 "$cap" 2>/dev/null || break
    sleep 0.1
done
if kill -0 "$agent" 2>/dev/null || kill -0 "$cap" 2>/dev/null; then
    fail "a child outlived the monitor by 5 s"
fi
[ ! -e "$T/pmirrord.pid" ] || fail "the pidfile is left behind"
[ ! -e /run/pmirrord/pmirrord.sock ] || fail "the control socket is left behind"
[ -d /var/lib/pmirrord ] || fail "no persistentDir /var/lib/pmirrord"
dpkg --purge pmirrord >"$T/purge.log" 2>&1 || { cat "$T/purge.log" >&2; fail "dpkg --purge failed"; }
installed=0
for d in /var/lib/pmirrord /etc/pmirrord /run/pmirrord /usr/sbin/pmirrord \
    /etc/systemd/system/multi-user.target.wants/pmirrord.service; do
    [ ! -e "$d" ] || fail "$d is left after the purge"
done
# The accounts stay after a purge (Debian's practice); the trap removes them.
getent passwd pmirrord >/dev/null || fail "the purge removed the account pmirrord"
installed=1 # let the trap compare the machine with what it was
echo "test_deb: ok ($(basename "$deb"), $(stat -c %s "$deb") bytes; Depends: $depends)"
