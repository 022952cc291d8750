# Sourced by scripts/test: start a throw-away PostgreSQL server on loopback for the test suite,
# installing Debian's postgresql package first when it is missing. Sets SCREENER_TEST_PG_URL.
set -euo pipefail

# A free loopback port unless one is given, so concurrent runs never collide.
PG_PORT=${SCREENER_TEST_PG_PORT:-$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}
pg_bin() {
  ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}
as_postgres() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

if [ -z "$(pg_bin)" ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "PostgreSQL is not installed and this user cannot install it." >&2
    echo "Install Debian's postgresql package, or set SCREENER_TEST_DATABASE_URL." >&2
    exit 1
  fi
  echo "Installing PostgreSQL (Debian package postgresql) ..."
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi
BIN=$(pg_bin)
PG_DIR=$(mktemp -d /tmp/screener-pg.XXXXXX)
chmod 755 "$PG_DIR"
if [ "$(id -u)" = 0 ]; then chown postgres: "$PG_DIR"; fi
# Trust authentication is acceptable only because this cluster lives for one test run,
# listens on 127.0.0.1 alone and is deleted afterwards.
as_postgres "$BIN/initdb" -D "$PG_DIR/data" -A trust -U postgres -E UTF8 --locale=C.UTF-8 >/dev/null
# fsync is off for the test suite (speed; the cluster is thrown away); the benchmark sets
# SCREENER_PG_FSYNC=on to measure with the durability of a production server.
as_postgres "$BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/log" -w \
  -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $PG_DIR -c fsync=${SCREENER_PG_FSYNC:-off}" start >/dev/null
stop_postgres() {
  as_postgres "$BIN/pg_ctl" -D "$PG_DIR/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$PG_DIR"
}
trap stop_postgres EXIT
as_postgres "$BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U postgres screener_test
export SCREENER_TEST_PG_URL="postgresql+psycopg://postgres@127.0.0.1:$PG_PORT/screener_test"
