#!/usr/bin/env bash
# Makes sure PostgreSQL and Redis answer on 127.0.0.1 for the test suite, and that Chromium is there
# for the dashboard's browser test: starts the services if they are installed but down, installs
# what is missing with apt-get (as root), and otherwise fails with a clear message. Idempotent and
# quick when everything is already there.
#   TEST_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres)
#   TEST_REDIS_URL    (default redis://127.0.0.1:6379)
#   CHROMIUM_PATH     (default /usr/bin/chromium; installed with apt-get when missing)
set -euo pipefail

PG_HOST=127.0.0.1 PG_PORT=5432 REDIS_HOST=127.0.0.1 REDIS_PORT=6379

say() { printf '[services] %s\n' "$*"; }
die() { printf '[services] ERROR: %s\n' "$*" >&2; exit 1; }

port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

wait_port() { # host port seconds
  local i
  for ((i = 0; i < $3 * 5; i++)); do port_open "$1" "$2" && return 0; sleep 0.2; done
  return 1
}

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo -n "$@"; else return 1; fi; }

apt_install() {
  say "installing $* with apt-get"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null ||
    die "apt-get update failed; install $* yourself"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null ||
    die "apt-get install $* failed; install it yourself"
}

pg_query() { psql -h "$PG_HOST" -p "$PG_PORT" -U postgres -d postgres -tAc "$1" 2>/dev/null; }

ensure_postgres() {
  if port_open "$PG_HOST" "$PG_PORT" && pg_query 'select 1' | grep -q 1; then
    say "PostgreSQL answers on $PG_HOST:$PG_PORT"
    return
  fi
  if ! command -v pg_ctlcluster >/dev/null && ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
    apt_install postgresql postgresql-client
  fi
  command -v pg_lsclusters >/dev/null || die "PostgreSQL is installed without Debian's cluster tools; start it on $PG_HOST:$PG_PORT yourself"
  local version
  version=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
  if ! pg_lsclusters -h | grep -q .; then
    say "creating PostgreSQL $version cluster 'main'"
    as_root pg_createcluster "$version" main >/dev/null || die "pg_createcluster failed"
  fi
  local cluster_version
  cluster_version=$(pg_lsclusters -h | awk 'NR==1 {print $1}')
  local conf="/etc/postgresql/$cluster_version/main"
  # Tests connect as postgres over TCP without a password, as on the CI machines.
  if [ -f "$conf/pg_hba.conf" ] && ! grep -q '^host all all 127.0.0.1/32 trust' "$conf/pg_hba.conf"; then
    as_root sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust\nlocal all all trust' "$conf/pg_hba.conf"
  fi
  say "starting PostgreSQL $cluster_version"
  as_root pg_ctlcluster --skip-systemctl-redirect "$cluster_version" main start >/dev/null 2>&1 || true
  wait_port "$PG_HOST" "$PG_PORT" 30 || die "PostgreSQL did not start on $PG_HOST:$PG_PORT (see /var/log/postgresql)"
  for _ in $(seq 1 50); do pg_query 'select 1' | grep -q 1 && break; sleep 0.2; done
  pg_query 'select 1' | grep -q 1 || die "PostgreSQL runs but does not accept user postgres without a password on $PG_HOST"
  say "PostgreSQL is up"
}

ensure_redis() {
  if port_open "$REDIS_HOST" "$REDIS_PORT"; then
    say "Redis answers on $REDIS_HOST:$REDIS_PORT"
    return
  fi
  command -v redis-server >/dev/null || apt_install redis-server
  say "starting Redis"
  mkdir -p /var/lib/redis /var/log/redis 2>/dev/null || true
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port "$REDIS_PORT" --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log >/dev/null ||
    die "redis-server failed to start"
  wait_port "$REDIS_HOST" "$REDIS_PORT" 15 || die "Redis did not start on $REDIS_HOST:$REDIS_PORT"
  say "Redis is up"
}

# The admin dashboard's e2e test drives Debian's Chromium (through playwright-core, which downloads no browser).
ensure_chromium() {
  local bin="${CHROMIUM_PATH:-/usr/bin/chromium}"
  if [ -x "$bin" ]; then
    say "Chromium at $bin"
    return
  fi
  apt_install chromium
  [ -x "$bin" ] || die "Chromium is not at $bin after apt-get install chromium (set CHROMIUM_PATH)"
  say "Chromium installed at $bin"
}

ensure_postgres
ensure_redis
ensure_chromium
