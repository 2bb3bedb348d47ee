#!/usr/bin/env bash
# Installs the Debian packages the tests and the lab demo need, when missing:
# FRR (the lab's routers), Prometheus (promtool and the server), Alertmanager
# (amtool and the server, for the delivery test), the network
# tools the lab and its comparisons use, Chromium (the status page tests),
# stress-ng (the load of the soak benchmark).
# Idempotent; needs root.
set -euo pipefail
pkgs=(frr prometheus prometheus-alertmanager iproute2 nftables traceroute fping mtr-tiny iputils-ping procps make git ca-certificates chromium stress-ng)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "missing packages: ${missing[*]}; run as root (sudo make ...) so they can be installed" >&2
  exit 1
fi
echo "installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian starts the packaged services where it can; dxwatch's lab and tests run their own.
for s in frr prometheus prometheus-alertmanager; do
  (service "$s" stop || systemctl stop "$s") >/dev/null 2>&1 || true
done
