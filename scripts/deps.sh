#!/usr/bin/env bash
# Install the Debian packages xdpns needs to build, test, demo and bench.
# Idempotent: quiet and quick when everything is already there.
set -euo pipefail

PKGS=(
	make gcc clang llvm libc6-dev pkg-config
	libbpf-dev libxdp-dev xdp-tools bpftool
	libldns-dev libyaml-dev libcmocka-dev libssl-dev
	iproute2 ethtool ldnsutils
	knot knot-dnsutils nsd bind9 bind9-dnsutils
	dnsperf python3 python3-dnspython
	gnuplot-nox libclang-rt-14-dev prometheus man-db systemd
)

missing=()
for p in "${PKGS[@]}"; do
	st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[ "$st" = installed ] || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" != 0 ]; then
	echo "deps: missing packages: ${missing[*]}; run as root to install them" >&2
	exit 1
fi
echo "deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
# Daemons from packages (knot, nsd, named) must not start on install:
# tests start their own instances inside namespaces.
policy=/usr/sbin/policy-rc.d
added_policy=0
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\nexit 101\n' >"$policy"
	chmod +x "$policy"
	added_policy=1
fi
rc=0
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || rc=$?
[ $added_policy = 1 ] && rm -f "$policy"
exit $rc
