#!/usr/bin/env bash
# Helpers for the transfer tests (test_xfr_*.sh): a zone file generator,
# TSIG secrets, primaries started by pid in the client namespace, and
# waiting for a condition. Sourced after lib.sh.

XFR_ZONE=xfr.test
PRIM_PIDS=

# xfr_zone FILE SERIAL WWW_LAST_OCTET [REFRESH RETRY EXPIRE]
xfr_zone() {
	cat >"$1" <<EOZ
\$ORIGIN $XFR_ZONE.
\$TTL 300
@	IN SOA	ns1 hostmaster $2 ${4:-300} ${5:-2} ${6:-600} 60
@	IN NS	ns1
ns1	IN A	$CLI4
www	IN A	198.18.0.$3
txt	IN TXT	"serial $2"
EOZ
	local i
	for i in $(seq 1 20); do echo "h$i	IN A	198.18.1.$i"; done >>"$1"
}

# xfr_secret FILE: a fresh base64 secret (32 bytes), printed and saved
xfr_secret() {
	head -c 32 /dev/urandom | base64 | tee "$1"
}

# Start a primary in the client namespace: xfr_start_primary NAME CMD...
# (sets PRIM_PID; every primary is stopped by pid on exit)
xfr_start_primary() {
	local name=$1
	shift
	ip netns exec "$NS_CLI" "$@" >"$TMP/$name.log" 2>&1 &
	PRIM_PID=$!
	PRIM_PIDS="$PRIM_PIDS $PRIM_PID"
}

xfr_stop_pid() {
	kill -TERM "$1" 2>/dev/null && wait "$1" 2>/dev/null
	PRIM_PIDS=$(echo "$PRIM_PIDS" | sed "s/\b$1\b//")
	return 0
}

xfr_cleanup() {
	local p
	for p in $PRIM_PIDS; do
		kill -TERM "$p" 2>/dev/null
		# named/nsd may fork helpers: give them a moment, then KILL
		for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	PRIM_PIDS=
	netns_cleanup
	[ -n "${TMP:-}" ] && rm -rf "$TMP"
}

# wait_for SECONDS COMMAND...: poll every 0.1 s until the command succeeds
wait_for() {
	local t=$1 i
	shift
	for i in $(seq 1 $((t * 10))); do
		"$@" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# The answer from the server namespace's XDP/slow path, from the client.
q() { ip netns exec "$NS_CLI" kdig @$SRV4 +short +norec +time=1 +retry=0 "$@"; }
# Query the primary from the client namespace (it runs there).
qp() { ip netns exec "$NS_CLI" kdig @$CLI4 -p "$1" +short +norec +time=1 +retry=0 "${@:2}"; }

# A zone's field from stats --json: zstat NAME KEY[.SUBKEY]
zstat() {
	ip netns exec "$NS_SRV" "$XDPNS" stats --json -s "$SOCK" | $PY -c "
import json, sys
z = [z for z in json.load(sys.stdin)['zones'] if z['name'] == '$1.'][0]
v = z
for k in '$2'.split('.'):
    v = v[k]
print(v)"
}

# xdp_answer_is NAME TYPE WANT: the short answer is WANT and it came from
# XDP (the answered counter moved by one); says what it saw otherwise.
xdp_answer_is() {
	local a0 a1 out
	a0=$(xdp_counter answered)
	out=$(q "$1" "$2")
	a1=$(xdp_counter answered)
	[ "$out/$((a1 - a0))" = "$3/1" ] || { echo "    got $out, XDP answered $((a1 - a0))"; return 1; }
}

serial_is() { [ "$(q "$XFR_ZONE" SOA | awk '{print $3}')" = "$1" ]; }
www_is() { [ "$(q "www.$XFR_ZONE" A)" = "$1" ]; }

# Sum of a zone's failure counters (all reasons); fails when the zone or
# the field is missing, so a check on it cannot pass by accident.
zfails_total() {
	ip netns exec "$NS_SRV" "$XDPNS" stats --json -s "$SOCK" | $PY -c "
import json, sys
z = [z for z in json.load(sys.stdin)['zones'] if z['name'] == '$1.'][0]
print(sum(z['failures'].values()))"
}

# After a failed check, the end of each log in $TMP (daemon, primaries).
xfr_logs_if_failed() {
	[ "$E2E_FAIL" = 0 ] && return 0
	local f
	for f in "$TMP"/*.log; do
		[ -f "$f" ] || continue
		echo "---- last lines of $(basename "$f")"
		tail -n "${1:-25}" "$f"
	done
}

# xfr_setup TAG TOOL...: root, the tools (or "dnspython"), a temporary
# directory $TMP, the namespaces, cleanup on exit and $SOCK; exits with a
# failure when any of it is missing.
xfr_setup() {
	local tag=$1 tool
	shift
	e2e_require_root
	for tool in "$@"; do
		if [ "$tool" = dnspython ]; then
			$PY -c 'import dns.tsig' 2>/dev/null ||
				{ echo "FAIL: python3-dnspython is missing; run scripts/deps.sh"; exit 1; }
		else
			command -v "$tool" >/dev/null ||
				{ echo "FAIL: $tool is missing; run scripts/deps.sh"; exit 1; }
		fi
	done
	TMP=$(mktemp -d)
	netns_setup "$tag" || { echo "FAIL: cannot create namespaces"; xfr_cleanup; exit 1; }
	trap xfr_cleanup EXIT
	SOCK=$TMP/control.sock
}

# xfr_first_transfer REMOTE SECRET: the checks after the daemon's first
# AXFR of serial 1 (www at .80) from REMOTE, whose TSIG secret is SECRET.
xfr_first_transfer() {
	echo "first transfer"
	check "AXFR from $1: serial 1 served" wait_for 10 serial_is 1
	check "www answered" www_is 198.18.0.80
	check "answered from XDP" xdp_answer_is "h7.$XFR_ZONE" A 198.18.1.7
	check "stats: one AXFR, primary $1" [ "$(zstat $XFR_ZONE transfers.axfr)/$(zstat $XFR_ZONE primary)" = "1/$1" ]
	check "no failure counted" [ "$(zfails_total $XFR_ZONE)" = 0 ]
	check "the secret is in no log" bash -c "! grep -qF '$2' '$TMP/xdpns.log'"
}

# xfr_knot_conf NAME PORT KEYNAME ALG SECRET [notify]: a knotd primary's
# configuration in $TMP/NAME.conf, serving $XFR_ZONE from
# $TMP/NAME/zones/$XFR_ZONE.zone on $CLI4@PORT, transfers allowed to the
# server signed with KEYNAME; with "notify", NOTIFY to the server too.
xfr_knot_conf() {
	mkdir -p "$TMP/$1/db" "$TMP/$1/zones"
	cat >"$TMP/$1.conf" <<EOC
server:
    rundir: "$TMP/$1"
    listen: [ $CLI4@$2 ]
    background-workers: 1
database:
    storage: "$TMP/$1/db"
log:
  - target: stderr
    any: info
key:
  - id: $3
    algorithm: $4
    secret: $5
remote:
  - id: xdpns
    address: $SRV4@53
    key: $3
acl:
  - id: xfr
    address: $SRV4
    key: $3
    action: transfer
template:
  - id: default
    storage: "$TMP/$1/zones"
    file: "%s.zone"
    semantic-checks: off
    zonefile-load: difference
    journal-content: changes
zone:
  - domain: $XFR_ZONE.
    acl: xfr
EOC
	[ "${6:-}" = notify ] && echo "    notify: xdpns" >>"$TMP/$1.conf"
	return 0
}
