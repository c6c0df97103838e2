#!/usr/bin/env bash
# Make sure the Prometheus server binary is installed (the serving tests start one on loopback
# to scrape `loopml serve`). Installs Debian's package without its recommends (which would pull
# node-exporter and more) when missing; we run as root in CI.
set -euo pipefail
if command -v prometheus >/dev/null; then
  echo "prometheus: $(prometheus --version 2>&1 | head -1)"
  exit 0
fi
echo "prometheus: not installed; installing with apt-get"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends prometheus >/dev/null
# The package starts a system service on :9090; the tests run their own on free ports.
systemctl stop prometheus >/dev/null 2>&1 || service prometheus stop >/dev/null 2>&1 || true
prometheus --version 2>&1 | head -1
