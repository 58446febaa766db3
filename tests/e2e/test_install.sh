#!/usr/bin/env bash
# make install into a temporary DESTDIR: every file there, the installed
# binary runs, both man pages render without warnings, the systemd unit
# verifies, the example configuration passes check-config, and every key
# of config.c's key tables is documented in xdpns.conf(5). Writes nothing
# outside its temporary directories (and build/, if make has to rebuild).
. "$(dirname "$0")/lib.sh"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
DEST=$TMP/dest
PREFIX=/usr/local
CONF5=$ROOT/man/xdpns.conf.5

echo "make install DESTDIR=..."
make -C "$ROOT" --no-print-directory install DESTDIR="$DEST" >"$TMP/make.log" 2>&1; rc=$?
check "make install exits 0" [ $rc = 0 ]
[ $rc = 0 ] || sed 's/^/    /' "$TMP/make.log"
BIN=$DEST$PREFIX/sbin/xdpns
MAN8=$DEST$PREFIX/share/man/man8/xdpns.8
MAN5=$DEST$PREFIX/share/man/man5/xdpns.conf.5
UNIT=$DEST$PREFIX/lib/systemd/system/xdpns.service
EXAMPLE=$DEST/etc/xdpns/xdpns.yaml.example
check "binary installed, executable" [ -x "$BIN" ]
for f in "$MAN8" "$MAN5" "$UNIT" "$EXAMPLE"; do
	check "${f#"$DEST"} installed" [ -s "$f" ]
done
check "nothing else installed" [ "$(find "$DEST" -type f | wc -l)" = 5 ]

out=$("$BIN" version 2>&1); rc=$?
check "installed binary: version exits 0" [ $rc = 0 ]
check "and prints 'xdpns VERSION'" grep -q '^xdpns [0-9]' <<<"$out"

echo "man pages"
# man(1) from man-db, else groff: both warn on stderr about bad requests
render() {
	if command -v man >/dev/null; then
		MANWIDTH=80 man --warnings -E UTF-8 -l "$1"
	elif command -v groff >/dev/null; then
		groff -man -ww -Tutf8 "$1"
	else
		echo "neither man (package man-db) nor groff (groff-base) is installed" >&2
		return 1
	fi
}
for f in "$MAN8" "$MAN5"; do
	n=$(basename "$f")
	render "$f" >"$TMP/$n.txt" 2>"$TMP/$n.err"; rc=$?
	check "$n renders (exit 0)" [ $rc = 0 ]
	check "$n renders without warnings" [ ! -s "$TMP/$n.err" ]
	[ -s "$TMP/$n.err" ] && sed 's/^/    /' "$TMP/$n.err" | head -5
	check "$n has NAME and SEE ALSO" grep -q "SEE ALSO" "$TMP/$n.txt"
done
# every command of main.c's usage ("  serve -c FILE ...", "  zone refresh
# NAME ...") is a tagged paragraph of xdpns(8)
awk '/"commands:/ { on = 1; next } on && /^\t"  [a-z]/ {
		sub(/^\t"  /, ""); split($0, w, " ")
		print (w[1] == "zone" ? w[1] " " w[2] : w[1]) }
	on && /;$/ { on = 0 }' "$ROOT/userspace/main.c" >"$TMP/commands"
check "found the commands in main.c ($(wc -l <"$TMP/commands"))" \
	[ "$(wc -l <"$TMP/commands")" -ge 8 ]
while read -r c; do
	check "xdpns(8) documents '$c'" grep -q "^       $c\\b" "$TMP/xdpns.8.txt"
done <"$TMP/commands"
for s in "EXIT STATUS" SIGNALS FILES; do
	check "xdpns(8) has $s" grep -q "^$s" "$TMP/xdpns.8.txt"
done

echo "every key of config.c in xdpns.conf(5)"
# Tables: static const struct cfg_key NAME_keys[] = { { "key", handler }, ... };
awk '/static const struct cfg_key [a-z_]+\[\] *= *\{/ {
		t = $0; sub(/.*cfg_key /, "", t); sub(/\[.*/, "", t); intable = 1; next }
	intable && /^\};/ { intable = 0 }
	intable && match($0, /\{ *"[^"]+"/) {
		k = substr($0, RSTART, RLENGTH); sub(/\{ *"/, "", k); sub(/"$/, "", k)
		print t, k }' "$ROOT/userspace/config.c" >"$TMP/keys"
nkeys=$(wc -l <"$TMP/keys")
check "found the key tables in config.c ($nkeys keys)" [ "$nkeys" -ge 20 ]
# the roff text of section SECTION (all of it when empty)
section() {
	awk -v s="$1" '/^\.SH / { on = (s == "" || $0 == ".SH " s); next } on' "$CONF5"
}
while read -r table key; do
	esc=${key//-/\\-}
	case $table in
	top_keys) sec=$(tr a-z A-Z <<<"$key") ;;
	server_keys) sec=SERVER ;;
	key_keys) sec=KEYS ;;
	remote_keys) sec=REMOTES ;;
	zone_keys) sec=ZONES ;;
	*) sec= ;; # a new table: documented anywhere, as a tagged paragraph
	esac
	if [ "$table" = top_keys ]; then
		check "section $key has its own section in xdpns.conf(5)" \
			grep -qx "\\.SH $sec" "$CONF5"
	else
		# .TP then .B key: a tagged paragraph, with its type and default
		check "${table%_keys}.$key documented in ${sec:-xdpns.conf(5)}" \
			grep -Fqx ".B $esc" <(section "$sec")
		check "${table%_keys}.$key has its default (or is required)" \
			bash -c 'grep -F -A6 -x ".B $1" | grep -Eq "^(Default|Required)|^\.?(Default|Required)"' _ "$esc" < <(section "$sec")
	fi
done <"$TMP/keys"
check "SERVER says every key has a default" grep -q "every key in it is optional" "$CONF5"

echo "systemd unit"
check "ExecStart runs the installed binary" \
	grep -qx "ExecStart=$PREFIX/sbin/xdpns serve -c /etc/xdpns/xdpns.yaml" "$UNIT"
check "ExecReload" grep -q "^ExecReload=$PREFIX/sbin/xdpns reload" "$UNIT"
for cap in CAP_BPF CAP_NET_ADMIN CAP_SYS_ADMIN CAP_NET_BIND_SERVICE CAP_PERFMON; do
	check "unit keeps $cap" grep -q "^CapabilityBoundingSet=.*\\b$cap\\b" "$UNIT"
done
# systemd-analyze verify checks that ExecStart exists: install with the
# temporary directory as PREFIX so the unit names real files
V=$TMP/verify
make -C "$ROOT" --no-print-directory -s install PREFIX="$V/usr" SYSCONFDIR="$V/etc" \
	>"$TMP/make2.log" 2>&1; rc=$?
check "make install PREFIX=... SYSCONFDIR=... exits 0" [ $rc = 0 ]
check "the unit follows PREFIX and SYSCONFDIR" \
	grep -qx "ExecStart=$V/usr/sbin/xdpns serve -c $V/etc/xdpns/xdpns.yaml" \
	"$V/usr/lib/systemd/system/xdpns.service"
if command -v systemd-analyze >/dev/null; then
	MANPATH=$V/usr/share/man SYSTEMD_LOG_LEVEL=warning \
		systemd-analyze verify "$V/usr/lib/systemd/system/xdpns.service" \
		>"$TMP/verify.log" 2>&1; rc=$?
	check "systemd-analyze verify xdpns.service" [ $rc = 0 ] && [ ! -s "$TMP/verify.log" ]
	[ -s "$TMP/verify.log" ] && sed 's/^/    /' "$TMP/verify.log" | head -5
else
	fail "systemd-analyze (package systemd) is not installed"
fi

echo "example configuration"
# real paths for the files it names; lo stands for eth0 (check-config
# wants the interface to exist in this namespace)
head -c 32 /dev/urandom | base64 >"$TMP/xfr-key.secret"
sed -e "s|/etc/xdpns/example.com.zone|$ROOT/examples/example.com.zone|" \
	-e "s|/etc/xdpns/xfr-key.secret|$TMP/xfr-key.secret|" \
	-e "s|/run/xdpns/control.sock|$TMP/control.sock|" \
	-e "s|/var/lib/xdpns|$TMP/storage|" \
	-e "s|interfaces: \[eth0\]|interfaces: [lo]|" \
	"$EXAMPLE" >"$TMP/xdpns.yaml"
check "the example names only paths this test replaced" \
	bash -c '! grep -v "^ *#" "$1" | grep -Eq "/etc/|/run/|/var/"' _ "$TMP/xdpns.yaml"
out=$("$BIN" check-config -c "$TMP/xdpns.yaml" 2>&1); rc=$?
check "xdpns check-config accepts the example (exit 0)" [ $rc = 0 ]
[ $rc = 0 ] || sed 's/^/    /' <<<"$out"
check "and loads its primary zone" grep -q "zone example.com.: serial" <<<"$out"
check "nothing written by check-config" [ ! -e "$TMP/storage" ] && [ ! -e "$TMP/control.sock" ]
# every server key is in the example (commented out or not)
while read -r table key; do
	[ "$table" = server_keys ] || continue
	check "example shows server.$key" grep -Eq "^ *#? *$key:" "$EXAMPLE"
done <"$TMP/keys"
e2e_summary
