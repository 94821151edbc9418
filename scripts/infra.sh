#!/usr/bin/env bash
# The infrastructure GDmarket needs, on the machine's usual ports: PostgreSQL (trust auth on
# 127.0.0.1:5432, with PostGIS), NATS with JetStream (127.0.0.1:4222) and Redis (127.0.0.1:6379).
# It starts what is installed but not running and, as root on Debian, installs what is missing,
# saying what it does; elsewhere it prints the commands to run and fails.
#   scripts/infra.sh           what `npm start` and the tests need
#   scripts/infra.sh --ci      also the tools the test suite drives: kubectl, HAProxy, Chromium
set -euo pipefail

log() { echo "[infra] $*"; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_port() {
  for _ in $(seq 1 60); do port_open "$1" && return 0; sleep 0.5; done
  log "nothing listens on port $1"
  return 1
}
can_install() { [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; }
APT_UPDATED=
need() { # need <what it is for> <debian packages...>
  local what=$1
  shift
  if ! can_install; then
    log "missing: $what. Install it with: sudo apt-get install -y $*"
    exit 1
  fi
  log "installing $what ($*)"
  [ -n "$APT_UPDATED" ] || {
    apt-get update -qq
    APT_UPDATED=1
  }
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}
has() { command -v "$1" >/dev/null || [ -x "/usr/sbin/$1" ] || [ -x "/usr/bin/$1" ]; }

# PostgreSQL, with PostGIS for the item subgraph's near-me search.
if ! ls /etc/postgresql/*/main >/dev/null 2>&1 && ! port_open 5432; then need PostgreSQL postgresql; fi
if ls /etc/postgresql/*/main >/dev/null 2>&1; then
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  if [ ! -f "/usr/share/postgresql/$version/extension/postgis.control" ]; then
    need PostGIS "postgresql-$version-postgis-3"
  fi
  if ! port_open 5432; then
    hba="/etc/postgresql/$version/main/pg_hba.conf"
    # The services and tests connect as postgres over TCP without a password.
    if ! grep -q 'gdmarket' "$hba"; then
      sed -i '1i host all all 127.0.0.1/32 trust # gdmarket' "$hba"
      sed -i '1i local all all trust # gdmarket' "$hba"
    fi
    log "starting PostgreSQL $version"
    pg_ctlcluster --skip-systemctl-redirect "$version" main start
    wait_port 5432
  fi
fi

# NATS with JetStream.
if ! port_open 4222; then
  has nats-server || need NATS nats-server
  mkdir -p /var/lib/nats-server /var/log
  log "starting NATS with JetStream"
  start-stop-daemon --start --oknodo --background --exec "$(command -v nats-server || echo /usr/sbin/nats-server)" -- \
    -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log
  wait_port 4222
fi

# Redis: the router's shared rate-limit budget.
if ! port_open 6379; then
  has redis-server || need Redis redis-server
  log "starting Redis"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null
  wait_port 6379
fi

if [ "${1:-}" = "--ci" ]; then
  has kubectl || need kubectl kubernetes-client
  # The rolling-restart test puts HAProxy in front of two item instances, as a Kubernetes Service.
  has haproxy || need HAProxy haproxy
  # The web app's tests drive a real browser.
  has chromium || need Chromium chromium
fi
