#!/usr/bin/env bash
# Install (cached) and run the real servers the test suite's server legs need, on loopback only:
#   RabbitMQ (Debian package) and FerretDB v1.24.0 (SQLite backend, built from the Go module proxy).
# Usage: scripts/servers.sh install | start DIR | stop DIR | restart-rabbitmq DIR | restart-ferretdb DIR
# `start` writes DIR/env with AMQP_URL, MONGODB_URL and TURNKEY_RABBITMQCTL for the tests.
set -euo pipefail

FERRETDB_VERSION=v1.24.0
CACHE="${TURNKEY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/turnkey}"
FERRETDB_BIN="$CACHE/ferretdb-$FERRETDB_VERSION/ferretdb"
AMQP_PORT="${TURNKEY_TEST_AMQP_PORT:-5672}"
MONGO_PORT="${TURNKEY_TEST_MONGO_PORT:-27017}"
# a second broker beside the first (the fault tests run their own): another node name, Erlang
# distribution port and epmd port, so that neither `epmd -port "$EPMD_PORT" -kill` nor a node name clash touches the other
RABBIT_NODENAME="${TURNKEY_TEST_RABBIT_NODENAME:-turnkeytest@localhost}"
RABBIT_DIST_PORT="${TURNKEY_TEST_RABBIT_DIST_PORT:-25672}"
EPMD_PORT="${TURNKEY_TEST_EPMD_PORT:-4369}"
FERRETDB_DEBUG_ADDR="${TURNKEY_TEST_FERRETDB_DEBUG_ADDR:-127.0.0.1:8088}"  # "-" turns it off

log() { printf '[servers] %s\n' "$*" >&2; }

install_rabbitmq() {
  if command -v rabbitmq-server >/dev/null 2>&1; then return; fi
  log "installing rabbitmq-server (apt)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # policy-rc.d keeps apt from starting the service (and epmd) on all interfaces.
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
  apt-get install -y -qq rabbitmq-server >/dev/null
  rm -f /usr/sbin/policy-rc.d
}

install_ferretdb() {
  if [ -x "$FERRETDB_BIN" ]; then return; fi
  log "building FerretDB $FERRETDB_VERSION (cached in $FERRETDB_BIN)"
  # `go install ...@v1.24.0` builds a binary that panics at start: the module zip lacks
  # build/version/version.txt, which the build embeds. Build from the downloaded module with
  # that one file restored. (docs/ferretdb.md: GOTOOLCHAIN=go1.23.x is the fallback if the
  # installed Go ever refuses to build it.)
  local dir src
  dir=$(go mod download -json "github.com/FerretDB/FerretDB@$FERRETDB_VERSION" \
        | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')
  src=$(mktemp -d)
  cp -r "$dir/." "$src/"
  chmod -R u+w "$src"
  echo "$FERRETDB_VERSION" > "$src/build/version/version.txt"
  mkdir -p "$(dirname "$FERRETDB_BIN")"
  (cd "$src" && go build -trimpath -o "$FERRETDB_BIN.tmp" ./cmd/ferretdb)
  mv "$FERRETDB_BIN.tmp" "$FERRETDB_BIN"
  rm -rf "$src"
}

wait_for() {  # wait_for SECONDS DESCRIPTION COMMAND...
  local secs=$1 what=$2; shift 2
  local end=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    if [ $SECONDS -ge $end ]; then log "$what did not answer in ${secs}s"; return 1; fi
    sleep 0.5
  done
}

rabbit_env() {
  local dir=$1
  export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 RABBITMQ_NODE_PORT="$AMQP_PORT"
  export ERL_EPMD_ADDRESS=127.0.0.1 ERL_EPMD_PORT="$EPMD_PORT" RABBITMQ_DIST_PORT="$RABBIT_DIST_PORT"
  export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
  export RABBITMQ_MNESIA_BASE="$dir/rabbitmq/mnesia" RABBITMQ_LOG_BASE="$dir/rabbitmq/log"
  export RABBITMQ_PID_FILE="$dir/rabbitmq/rabbit.pid"
  export RABBITMQ_NODENAME="$RABBIT_NODENAME"
  export RABBITMQ_ENABLED_PLUGINS_FILE="$dir/rabbitmq/enabled_plugins"
}

start_rabbitmq() {
  local dir=$1
  (
    rabbit_env "$dir"
    # A distro service may have left an epmd listening on every interface.
    epmd -port "$EPMD_PORT" -kill >/dev/null 2>&1 || true
    epmd -address 127.0.0.1 -port "$EPMD_PORT" -daemon
    log "starting RabbitMQ on 127.0.0.1:$AMQP_PORT"
    rabbitmq-server -detached
    wait_for 90 RabbitMQ rabbitmqctl -n "$RABBITMQ_NODENAME" await_startup
  )
}

start_ferretdb() {
  local dir=$1
  log "starting FerretDB $FERRETDB_VERSION (SQLite backend) on 127.0.0.1:$MONGO_PORT"
  nohup "$FERRETDB_BIN" --handler=sqlite --sqlite-url="file:$dir/ferretdb/" \
    --listen-addr="127.0.0.1:$MONGO_PORT" --telemetry=disable --log-level=warn --debug-addr="$FERRETDB_DEBUG_ADDR" \
    --state-dir="$dir/ferretdb" >>"$dir/ferretdb.log" 2>&1 &
  echo $! > "$dir/ferretdb.pid"
  wait_for 60 FerretDB python3 -c "import socket; socket.create_connection(('127.0.0.1', $MONGO_PORT), 1)"
}

stop_rabbitmq() {
  local dir=$1
  ( rabbit_env "$dir"; rabbitmqctl -n "$RABBITMQ_NODENAME" stop >/dev/null 2>&1 || true )
}

stop_ferretdb() {
  local dir=$1
  if [ -f "$dir/ferretdb.pid" ]; then
    local pid
    pid=$(cat "$dir/ferretdb.pid")
    kill "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
    rm -f "$dir/ferretdb.pid"
  fi
}

start() {
  local dir=$1
  mkdir -p "$dir/rabbitmq/mnesia" "$dir/rabbitmq/log" "$dir/ferretdb"
  chmod 755 "$dir"  # mktemp -d makes it 0700; the broker runs as the rabbitmq user
  echo "[]." > "$dir/rabbitmq/enabled_plugins"
  # Debian's wrapper runs the broker as the `rabbitmq` user when started by root.
  if id rabbitmq >/dev/null 2>&1; then chown -R rabbitmq:rabbitmq "$dir/rabbitmq"; fi
  start_rabbitmq "$dir"
  start_ferretdb "$dir"
  cat > "$dir/env" <<ENV
export AMQP_URL=amqp://guest:guest@127.0.0.1:$AMQP_PORT/
export MONGODB_URL=mongodb://127.0.0.1:$MONGO_PORT/
export TURNKEY_RABBITMQCTL="env ERL_EPMD_PORT=$EPMD_PORT rabbitmqctl -n $RABBIT_NODENAME"
ENV
  log "servers up; environment in $dir/env"
}

stop() {
  local dir=$1
  stop_ferretdb "$dir"
  stop_rabbitmq "$dir"
  ( rabbit_env "$dir"; epmd -port "$EPMD_PORT" -kill >/dev/null 2>&1 || true )
}

case "${1:-}" in
  install) install_rabbitmq; install_ferretdb ;;
  start) start "${2:?data dir}" ;;
  stop) stop "${2:?data dir}" ;;
  # the fault tests (tests/faults): restart one server of a set started with `start DIR`
  restart-rabbitmq) stop_rabbitmq "${2:?data dir}"; start_rabbitmq "$2" ;;
  restart-ferretdb) stop_ferretdb "${2:?data dir}"; start_ferretdb "$2" ;;
  *) echo "usage: $0 install | start DIR | stop DIR | restart-rabbitmq DIR | restart-ferretdb DIR" >&2; exit 2 ;;
esac
