#!/usr/bin/env bash
# Make sure a PostgreSQL server answers on 127.0.0.1:5432 with trust auth for user postgres.
# Installs it with apt-get if missing (we run as root in CI), starts it if stopped, and fails
# loudly if it still does not answer.
set -euo pipefail

answers() { pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; }

if command -v pg_isready >/dev/null && answers; then
  echo "postgres: running on 127.0.0.1:5432"
  exit 0
fi

if ! command -v pg_ctlcluster >/dev/null; then
  echo "postgres: not installed; installing with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq postgresql >/dev/null
fi

version=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -1)
if [ -z "$version" ]; then
  echo "postgres: no cluster found under /etc/postgresql" >&2
  exit 1
fi
hba=/etc/postgresql/$version/main/pg_hba.conf
if ! grep -qE '^host\s+all\s+all\s+127\.0\.0\.1/32\s+trust' "$hba"; then
  # Tests connect as postgres over TCP without a password, as on the development machines.
  sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust\nlocal all all trust' "$hba"
fi
echo "postgres: starting cluster $version/main"
pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
for _ in $(seq 1 30); do
  if answers; then
    echo "postgres: running on 127.0.0.1:5432"
    exit 0
  fi
  sleep 1
done
echo "postgres: FAILED to start; see /var/log/postgresql/postgresql-$version-main.log" >&2
exit 1
