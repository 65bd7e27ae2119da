#!/usr/bin/env bash
# tests/mib/test_mibs.sh - checks mibs/Juniper-*.txt with two independent
# parsers: Net-SNMP's (snmptranslate) and libsmi's (smilint, smidump,
# smiquery).  Expected values are those of the JUNOSe module; see
# docs/mirror-mib.md.
#
# Environment (set by ctest, see tests/CMakeLists.txt):
#   PM_SOURCE_DIR   source tree; the modules are read from $PM_SOURCE_DIR/mibs
#   PM_IETF_MIBDIR  SNMPv2-SMI, SNMPv2-TC, SNMPv2-CONF text (npm net-snmp,
#                   lib/mibs/*.mib; `bash scripts/deps` installs it).  The
#                   project ships none of these.
#
# Net-SNMP notes (5.9.3, Debian 12):
#   - -Pe does NOT make errors fatal: it toggles them OFF ("disable errors
#     when MIB symbols conflict"), and then an unknown import or an
#     undefined group member is silently accepted.  The loader checks below
#     therefore run with the default -P settings (errors on), and once more
#     with -Pw (conflict warnings on).
#   - A plain descriptor needs the MODULE:: prefix (or -IR) to be found.
#   - /etc/snmp/snmp.conf says `mibs :`; HOME, SNMPCONFPATH and
#     SNMP_PERSISTENT_DIR point into a private directory so that neither it
#     nor ~/.snmp is read, and the first run's "Created directory" notice
#     does not reach stderr.
# libsmi notes (0.4.8): it finds a module in a path directory as NAME,
# NAME.txt, NAME.mib, ...  so the .mib files need no renaming; smilint exits
# 0 even when it reports errors, so its output is parsed.
set -euo pipefail

src=${PM_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
ietf=${PM_IETF_MIBDIR:-}
[ -n "$ietf" ] || ietf="$src/.deps/node_modules/net-snmp/lib/mibs"
mibs="$src/mibs"
MODS=(Juniper-UNI-SMI Juniper-MIBs Juniper-PACKET-MIRROR-MIB)
FILES=("${MODS[@]/#/$mibs/}"); FILES=("${FILES[@]/%/.txt}")
PM=Juniper-PACKET-MIRROR-MIB

die() { echo "FAIL: $*" >&2; exit 1; }
# Does directory $1 hold module $2 under a name libsmi/Net-SNMP would use?
has_module() { local f; for f in "$1/$2" "$1/$2".*; do [ -f "$f" ] && return 0; done; return 1; }

# --- preconditions: missing tools or files are failures, never skips ------
for t in snmptranslate smilint smidump smiquery diff awk; do
  command -v "$t" >/dev/null 2>&1 ||
    die "$t not found (apt-get install snmp smitools, or bash scripts/deps)"
done
[ -d "$ietf" ] || die "IETF MIB directory $ietf missing (run bash scripts/deps)"
for m in SNMPv2-SMI SNMPv2-TC SNMPv2-CONF; do
  has_module "$ietf" "$m" || die "$m not found in $ietf"
done
for m in "${MODS[@]}"; do
  [ -f "$mibs/$m.txt" ] || die "$mibs/$m.txt missing"
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/conf" "$tmp/persist/cert_indexes" "$tmp/persist/mib_indexes"
unset MIBS MIBDIRS SNMPCONFPATH SNMP_PERSISTENT_DIR SMIPATH
export HOME="$tmp" SNMPCONFPATH="$tmp/conf" SNMP_PERSISTENT_DIR="$tmp/persist"
export SMIPATH="$mibs:$ietf"
printf 'path %s\n' "$SMIPATH" >"$tmp/smi.conf"

nfail=0
nchk=0
bad() { nfail=$((nfail + 1)); echo "FAIL: $*"; }
ok() { nchk=$((nchk + 1)); }

# Compare two newline-separated lists; on mismatch show a unified diff.
same() { # what expected actual
  if [ "$2" == "$3" ]; then ok; return 0; fi
  bad "$1"
  diff -u --label expected --label actual <(printf '%s\n' "$2") \
    <(printf '%s\n' "$3") | sed 's/^/    /' || true
}

# snmptranslate restricted to our modules plus the IETF base; any stderr
# output is a failure.  Prints stdout.  st runs inside $(...), so a failure
# is recorded in a file (counted at the end) and reported on stderr.
ST_MIBDIRS="$mibs:$ietf"
st() {
  local out rc=0
  out=$(snmptranslate -M "$ST_MIBDIRS" -m "$PM" "$@" 2>"$tmp/st.err") || rc=$?
  if [ -s "$tmp/st.err" ] || [ $rc -ne 0 ]; then
    echo "snmptranslate $*" >>"$tmp/st.failures"
    { echo "FAIL: snmptranslate $* (rc=$rc) wrote to stderr:"
      sed 's/^/    /' "$tmp/st.err"; } >&2
  fi
  printf '%s\n' "$out"
}
sq() { smiquery -c "$tmp/smi.conf" "$@" 2>&1; }
# One list field (Objects, Members, Mandatory) of `smiquery node`, one
# entry per line, without the module and juniPacketMirror prefixes.
members() { # node field
  sq node "$PM::$1" |
    awk -v f="$2:" '/^ *[A-Za-z]+: /{cur=$1} cur==f{print $NF}' |
    sed "s/^$PM::$P//"
}

# ==========================================================================
# Expected values
# ==========================================================================
J=1.3.6.1.4.1.4874.2.2.77
P=juniPacketMirror
# module descriptor OID
EXPECTED_OIDS="\
Juniper-UNI-SMI juniperUni 1.3.6.1.4.1.4874
Juniper-UNI-SMI juniperUniMibs 1.3.6.1.4.1.4874.2
Juniper-MIBs juniMibs 1.3.6.1.4.1.4874.2.2
$PM ${P}MIB $J
$PM ${P}TrapEnables $J.2
$PM ${P}TrapEnable $J.2.1
$PM ${P}Traps $J.3
$PM ${P}TrapPrefix $J.3.0
$PM ${P}RadiusBasedMirroringFailure $J.3.0.1
$PM ${P}CliTriggerBasedMirroringFailure $J.3.0.2
$PM ${P}InterfaceDeleted $J.3.0.3
$PM ${P}AnalyzerUnreachable $J.3.0.4
$PM ${P}SessionStart $J.3.0.5
$PM ${P}SessionEnd $J.3.0.6
$PM ${P}InterfaceSessionActivated $J.3.0.7
$PM ${P}InterfaceSessionDeactivated $J.3.0.8
$PM ${P}SessionReject $J.3.0.9
$PM ${P}SessionFailed $J.3.0.10
$PM ${P}NotificationObjects $J.3.1
$PM ${P}Identifier $J.3.1.1
$PM ${P}SessionIdentifier $J.3.1.2
$PM ${P}Trigger $J.3.1.3
$PM ${P}TriggerType $J.3.1.4
$PM ${P}ConfigurationSource $J.3.1.5
$PM ${P}ErrorCause $J.3.1.6
$PM ${P}ErrorString $J.3.1.7
$PM ${P}ApplicationName $J.3.1.8
$PM ${P}AnalyzerAddress $J.3.1.9
$PM ${P}UserName $J.3.1.10
$PM ${P}PolicyName $J.3.1.11
$PM ${P}PolicyId $J.3.1.12
$PM ${P}DateAndTime $J.3.1.13
$PM ${P}RouterId $J.3.1.14
$PM ${P}Direction $J.3.1.15
$PM ${P}TargetIpAddress $J.3.1.16
$PM ${P}TerminationReason $J.3.1.17
$PM ${P}Conformance $J.4
$PM ${P}Compliances $J.4.1
$PM ${P}Compliance $J.4.1.1
$PM ${P}Compliance2 $J.4.1.2
$PM ${P}Groups $J.4.2
$PM ${P}NotificationGroup $J.4.2.1
$PM ${P}NotificationObjectsGroup $J.4.2.2
$PM ${P}NotificationGroup2 $J.4.2.3
$PM ${P}NotificationObjectsGroup2 $J.4.2.4
$PM ${P}TrapEnableGroup $J.4.2.5"

# Notification varbinds (after sysUpTime.0, snmpTrapOID.0), docs/mirror-mib.md.
# DT CS TT TR RID UN MID SID EC AN ES PN PID DIR TIP AA TRM
declare -A AB=(
  [DT]=DateAndTime [CS]=ConfigurationSource [TT]=TriggerType [TR]=Trigger
  [RID]=RouterId [UN]=UserName [MID]=Identifier [SID]=SessionIdentifier
  [EC]=ErrorCause [AN]=ApplicationName [ES]=ErrorString [PN]=PolicyName
  [PID]=PolicyId [DIR]=Direction [TIP]=TargetIpAddress [AA]=AnalyzerAddress
  [TRM]=TerminationReason)
S12="DT CS TT TR RID MID SID PN PID DIR TIP AA"
NOTIFS=(
  "RadiusBasedMirroringFailure|DT CS TT TR RID UN MID SID EC AN ES"
  "CliTriggerBasedMirroringFailure|DT CS TT TR RID PN PID EC AN ES"
  "InterfaceDeleted|DT CS TT TR RID MID SID PN PID DIR"
  "AnalyzerUnreachable|DT AA RID"
  "SessionStart|$S12"
  "SessionEnd|$S12 TRM"
  "InterfaceSessionActivated|$S12"
  "InterfaceSessionDeactivated|$S12"
  "SessionReject|DT CS TT TR RID MID SID PN PID DIR"
  "SessionFailed|$S12 TRM")
expand() { local a; for a in $1; do echo "$P${AB[$a]}"; done; }

# Object syntaxes as snmptranslate -Td prints them: name|TC|SYNTAX
E_TERM="genericFailure(0), userRequest(1), lostCarrier(2), lostService(3), \
idleTimeout(4), sessionTimeout(5), adminReset(6), adminReboot(7), \
portError(8), nasError(9), nasRequest0(10), nasReboot1(11), portUnneeded(12), \
portPreempted(13), portSuspended(14), serviceUnavailable(15), callback(16), \
userError(17), hostRequest(18), supplicantRestart(19), \
reauthenticationFailure(20), portReinitialized(21), \
portAdministrativelyDisabled(22)"
SYNTAXES=(
  "Identifier||Unsigned32"
  "SessionIdentifier||Unsigned32"
  "Trigger|DisplayString|OCTET STRING (0..255)"
  "TriggerType||INTEGER {interfaceString(0), ipAddress(1), nasPortId(2), username(3), callingStationId(4), acctSessionId(5), dhcpOption82(6), agentCircuitId(7), agentRemoteId(8)}"
  "ConfigurationSource||INTEGER {radiusLogin(0), radiusCoa(1), cliTrigger(2), cliStatic(3)}"
  "ErrorCause||INTEGER {genericFailure(0), noResourcesAvailable(1), memoryExhausted(2), noSuchName(3), invalidAnalyzerAddress(4), noSuchUserOrInterface(5), featureNotSupported(6), missingOrInvalidAttribute(7), routerMismatch(8), nameLengthExceeded(9)}"
  "ErrorString|DisplayString|OCTET STRING (0..255)"
  "ApplicationName||INTEGER {policyManager(0)}"
  "AnalyzerAddress||IpAddress"
  "UserName|DisplayString|OCTET STRING (1..64)"
  "PolicyName|DisplayString|OCTET STRING (1..40)"
  "PolicyId||Unsigned32"
  "DateAndTime|DateAndTime|OCTET STRING (8 | 11)"
  "RouterId||Unsigned32"
  "Direction||INTEGER {ingress(0), egress(1)}"
  "TargetIpAddress||IpAddress"
  "TerminationReason||INTEGER {$E_TERM}")

# Conformance: name|status|members in order (groups) or mandatory groups.
CONF_GROUPS=(
  "NotificationGroup|deprecated|RadiusBasedMirroringFailure CliTriggerBasedMirroringFailure InterfaceDeleted AnalyzerUnreachable"
  "NotificationObjectsGroup|deprecated|Identifier SessionIdentifier Trigger TriggerType ConfigurationSource ErrorCause ErrorString ApplicationName AnalyzerAddress UserName PolicyName PolicyId DateAndTime RouterId Direction"
  "NotificationGroup2|current|RadiusBasedMirroringFailure CliTriggerBasedMirroringFailure InterfaceDeleted AnalyzerUnreachable SessionStart SessionEnd InterfaceSessionActivated InterfaceSessionDeactivated SessionReject SessionFailed"
  "NotificationObjectsGroup2|current|Identifier SessionIdentifier Trigger TriggerType ConfigurationSource ErrorCause ErrorString ApplicationName AnalyzerAddress UserName PolicyName PolicyId DateAndTime RouterId Direction TargetIpAddress TerminationReason"
  "TrapEnableGroup|current|TrapEnable")
COMPLIANCES=(
  "Compliance|deprecated|NotificationGroup NotificationObjectsGroup"
  "Compliance2|current|NotificationGroup2 NotificationObjectsGroup2 TrapEnableGroup")

# ==========================================================================
# 0. The checks below can fail: a broken copy must be reported by both
#    parsers with exactly the settings used here.
# ==========================================================================
mkdir -p "$tmp/broken"
cp "$mibs"/Juniper-*.txt "$tmp/broken/"
sed -i 's/TruthValue, DisplayString, DateAndTime/&, NoSuchTc/' \
  "$tmp/broken/$PM.txt"
grep -q NoSuchTc "$tmp/broken/$PM.txt" || die "negative control: sed did not apply"
# (Output is captured first: grep -q would close the pipe early, and
# pipefail would then turn the writer's SIGPIPE into a false negative.)
out=$(snmptranslate -M "$tmp/broken:$ietf" -m "$PM" -On "$PM::${P}MIB" 2>&1 >/dev/null) || true
if grep -q NoSuchTc <<<"$out"; then ok
else bad "negative control: snmptranslate did not report a bad import"; fi
printf 'path %s\n' "$tmp/broken:$ietf" >"$tmp/broken.conf"
out=$(SMIPATH="$tmp/broken:$ietf" smilint -c "$tmp/broken.conf" -s -m -l 3 \
  "$tmp/broken/$PM.txt" 2>&1) || true
if grep -q '\[[0-3]\].*NoSuchTc' <<<"$out"; then ok
else bad "negative control: smilint did not report a bad import"; fi

# ==========================================================================
# 1. Source-level rules
# ==========================================================================
# The project ships only its own modules: no IETF module in mibs/, and
# each file is named after the module it holds (libsmi looks it up so).
for f in "$mibs"/*; do
  [ -f "$f" ] || continue
  mod=$(awk '/^[A-Za-z][-A-Za-z0-9]*[ \t]+DEFINITIONS[ \t]*::=/{print $1; exit}' "$f")
  base=$(basename "$f"); base=${base%.txt}
  if [ -z "$mod" ]; then bad "$f holds no module"; continue; fi
  if [ "$mod" == "$base" ]; then ok; else bad "$f holds module $mod; name it $mod.txt"; fi
  if has_module "$ietf" "$mod"; then
    bad "$f is $mod, an IETF module that must come from PM_IETF_MIBDIR"
  else ok; fi
done

# LAST-UPDATED equals the newest REVISION, which comes first.
for m in "${MODS[@]}"; do
  f="$mibs/$m.txt"
  lu=$(sed -n 's/^ *LAST-UPDATED *"\([0-9]*Z\)".*/\1/p' "$f")
  revs=$(sed -n 's/^ *REVISION *"\([0-9]*Z\)".*/\1/p' "$f")
  first=$(sed -n 1p <<<"$revs")
  newest=$(sort -r <<<"$revs" | sed -n 1p)
  if [ -n "$lu" ] && [ "$lu" == "$first" ] && [ "$lu" == "$newest" ]; then ok
  else bad "$m: LAST-UPDATED $lu, first REVISION $first, newest $newest"; fi
done

# Every descriptor is defined once across the three modules (JUNOSe defines
# juniMibs in both Juniper-UNI-SMI and Juniper-MIBs; we do not).
# (A descriptor may stand alone on the line before its macro.)
dups=$(cat "${FILES[@]}" | awk '
  { line = (prev != "" ? prev " " : "") $0; prev = "" }
  /^[a-z][A-Za-z0-9-]*[ \t]*$/ { prev = $1; next }
  line ~ /^[a-z][A-Za-z0-9-]*[ \t]+(MODULE-IDENTITY|OBJECT-IDENTITY|OBJECT IDENTIFIER|OBJECT-TYPE|NOTIFICATION-TYPE|OBJECT-GROUP|NOTIFICATION-GROUP|MODULE-COMPLIANCE)/ {
    split(line, w, /[ \t]+/); print w[1] }' | sort | uniq -d)
same "descriptors defined more than once" "" "$dups"

# ==========================================================================
# 2. Net-SNMP loads the modules without a single message
# ==========================================================================
st -On "$PM::${P}MIB" >/dev/null
# -Pw adds symbol-conflict warnings; the IETF files then produce only
# "X MACRO (lines a..b parsed and ignored)." notes, which are not ours.
snmptranslate -M "$ST_MIBDIRS" -m "$PM" -Pw -On "$PM::${P}MIB" \
  >/dev/null 2>"$tmp/pw.err" || bad "snmptranslate -Pw failed"
if grep -Ev '^[A-Z-]+ MACRO \(lines [0-9]+\.\.[0-9]+ parsed and ignored\)\.$' \
     "$tmp/pw.err" >"$tmp/pw.other"; then
  bad "snmptranslate -Pw warnings:"; sed 's/^/    /' "$tmp/pw.other"
else ok; fi

# ==========================================================================
# 3. Every name translates to its OID, in both parsers
# ==========================================================================
while read -r mod name oid; do
  got=$(st -On "$mod::$name")
  same "snmptranslate -On $mod::$name" ".$oid" "$got"
done <<<"$EXPECTED_OIDS"

# libsmi: exactly these definitions, no more and no fewer.
smi_ids=$(for m in "${MODS[@]}"; do
  smidump -c "$tmp/smi.conf" -f identifiers "$mibs/$m.txt" 2>>"$tmp/dump.err" |
    awk '!/^#/ && NF {print $1, $2, $4}'
done | sort)
if [ -s "$tmp/dump.err" ]; then
  bad "smidump wrote to stderr:"; sed 's/^/    /' "$tmp/dump.err"
fi
same "smidump identifiers (module name oid)" \
  "$(sort <<<"$EXPECTED_OIDS")" "$smi_ids"

# ==========================================================================
# 4. Syntaxes, enumerations, access, status
# ==========================================================================
for e in "${SYNTAXES[@]}"; do
  IFS='|' read -r n tc syn <<<"$e"
  td=$(st -Td "$PM::$P$n")
  got_syn=$(sed -n 's/^  SYNTAX\t\(.*\)$/\1/p' <<<"$td" | sed 's/ *$//')
  got_tc=$(sed -n 's/^  -- TEXTUAL CONVENTION \(.*\)$/\1/p' <<<"$td")
  got_acc=$(sed -n 's/^  MAX-ACCESS\t\(.*\)$/\1/p' <<<"$td")
  got_st=$(sed -n 's/^  STATUS\t\(.*\)$/\1/p' <<<"$td")
  same "$P$n SYNTAX" "$syn" "$got_syn"
  same "$P$n textual convention" "$tc" "$got_tc"
  same "$P$n MAX-ACCESS" "accessible-for-notify" "$got_acc"
  same "$P$n STATUS" "current" "$got_st"
done

td=$(st -Td "$PM::${P}TrapEnable")
same "${P}TrapEnable -Td" \
  "$(printf '%s\n' '  -- TEXTUAL CONVENTION TruthValue' \
     '  SYNTAX	INTEGER {true(1), false(2)}' '  MAX-ACCESS	read-write' \
     '  STATUS	current' '  DEFVAL	{ false }')" \
  "$(grep -E '^  (-- TEXTUAL|SYNTAX|MAX-ACCESS|STATUS|DEFVAL)' <<<"$td" |
     sed 's/ *$//')"

# ==========================================================================
# 5. Notification varbind lists, in order (Net-SNMP and libsmi)
# ==========================================================================
for e in "${NOTIFS[@]}"; do
  IFS='|' read -r n list <<<"$e"
  want=$(expand "$list")
  td=$(st -Td "$PM::$P$n")
  got=$(sed -n 's/^  OBJECTS\t{ \(.*\) }$/\1/p' <<<"$td" | tr -d ' ' | tr ',' '\n')
  same "$P$n OBJECTS (snmptranslate -Td)" "$want" "$got"
  got_st=$(sed -n 's/^  STATUS\t\(.*\)$/\1/p' <<<"$td")
  got=$(members "$P$n" Objects | sed "s/^/$P/")
  same "$P$n OBJECTS (smiquery)" "$want" "$got"
  got=$(sq node "$PM::$P$n" | sed -n 's/^ *Status: //p')
  same "$P$n STATUS" "current" "$got"
done

# ==========================================================================
# 6. Groups and compliance statements (libsmi; Net-SNMP ignores their bodies)
# ==========================================================================
for e in "${CONF_GROUPS[@]}"; do
  IFS='|' read -r n status list <<<"$e"
  same "$P$n members" "$(tr ' ' '\n' <<<"$list")" "$(members "$P$n" Members)"
  same "$P$n STATUS" "$status" "$(sq node "$PM::$P$n" | sed -n 's/^ *Status: //p')"
done
for e in "${COMPLIANCES[@]}"; do
  IFS='|' read -r n status list <<<"$e"
  same "$P$n MANDATORY-GROUPS" "$(tr ' ' '\n' <<<"$list")" "$(members "$P$n" Mandatory)"
  same "$P$n STATUS" "$status" "$(sq node "$PM::$P$n" | sed -n 's/^ *Status: //p')"
done
# Every object of the module belongs to some current group.
obj_in_groups=$(for g in NotificationObjectsGroup2 TrapEnableGroup; do
  members "$P$g" Members; done | sort)
all_objs=$( (echo TrapEnable; for e in "${SYNTAXES[@]}"; do echo "${e%%|*}"; done) | sort)
same "objects not in a current OBJECT-GROUP" "$all_objs" "$obj_in_groups"

# ==========================================================================
# 7. smilint
# ==========================================================================
# Severity 0-3 (SMI errors) always fails.  Style warnings (4-6) fail too,
# except module-name-suffix: Juniper-UNI-SMI and Juniper-MIBs keep JUNOSe's
# names although they do not end in -MIB.  Levels 7-9 are only shown.
lint_fail=0
for m in "${MODS[@]}"; do
  out=$(smilint -c "$tmp/smi.conf" -s -m -l 9 "$mibs/$m.txt" 2>&1) || true
  [ -n "$out" ] && printf '%s\n' "$out" | sed 's/^/    smilint: /'
  errs=$(printf '%s\n' "$out" | grep -E ': \[[0-3]\] ' || true)
  warns=$(printf '%s\n' "$out" | grep -E ': \[[4-6]\] ' |
    grep -v '{module-name-suffix}' || true)
  if [ -n "$errs$warns" ]; then
    lint_fail=1
    bad "smilint $m:"; printf '%s\n' "$errs" "$warns" | sed '/^$/d; s/^/    /'
  else ok; fi
done

# ==========================================================================
if [ -s "$tmp/st.failures" ]; then
  nfail=$((nfail + $(wc -l <"$tmp/st.failures")))
fi
echo "mib: ${#MODS[@]} modules, $(wc -l <<<"$EXPECTED_OIDS") OIDs," \
  "${#NOTIFS[@]} notification varbind lists, ${#SYNTAXES[@]} syntaxes," \
  "${#CONF_GROUPS[@]} groups, ${#COMPLIANCES[@]} compliances;" \
  "smilint -l 9 $([ $lint_fail -eq 0 ] && echo clean || echo FAILED);" \
  "$nchk checks passed, $nfail failed"
[ "$nfail" -eq 0 ]
