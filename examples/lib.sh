# Shared by examples/*/run.sh (sourced, not run): the archiverelay binary, the run
# directory, the processes a run starts (all stopped on exit, whatever happens), and small
# readers of the CLIs' output. Needs bash, curl and the binary; nothing else.

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
declare -A PIDS=()
KEEP_RUN_DIR=1

step() { printf '\n== %s\n' "$*"; }
say() { printf '   %s\n' "$*"; }
fail() {
  printf '\nFAILED: %s\n' "$*" >&2
  exit 1
}

# need TOOL HINT: TOOL (a path or a name on PATH) must exist.
need() {
  command -v "$1" >/dev/null 2>&1 || fail "$1 is needed ($2)"
}

# Sets BIN: $ARCHIVERELAY_BINARY, or a release build of this checkout.
find_binary() {
  if [ -n "${ARCHIVERELAY_BINARY:-}" ]; then
    BIN=$ARCHIVERELAY_BINARY
  else
    step "building archiverelay (swift build -c release; the first build takes minutes)"
    (cd "$REPO" && swift build -c release --product archiverelay)
    BIN=$REPO/.build/release/archiverelay
  fi
  [ -x "$BIN" ] || fail "no archiverelay binary at $BIN"
  BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
}

# enter_run_dir NAME: $ARCHIVERELAY_RUN_DIR (must be empty; kept) or a new temporary
# directory (removed after a successful run, kept after a failure); the shell cds into it.
enter_run_dir() {
  if [ -n "${ARCHIVERELAY_RUN_DIR:-}" ]; then
    RUN_DIR=$ARCHIVERELAY_RUN_DIR
    mkdir -p "$RUN_DIR"
    [ -z "$(ls -A "$RUN_DIR")" ] || fail "run directory $RUN_DIR is not empty"
  else
    RUN_DIR=$(mktemp -d "${TMPDIR:-/tmp}/archiverelay-$1.XXXXXX")
    KEEP_RUN_DIR=0
  fi
  cd "$RUN_DIR"
  RUN_DIR=$(pwd)
  trap cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  step "run directory $RUN_DIR (data, logs; ARCHIVERELAY_RUN_DIR chooses another)"
}

# listening PORT: whether something accepts connections on 127.0.0.1:PORT.
listening() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Fails when something already listens on one of the ports (another run of an example?).
ports_free() {
  local port
  for port in "$@"; do
    ! listening "$port" || fail "127.0.0.1:$port is already in use (is another run of this example still going?)"
  done
}

# start NAME COMMAND...: runs COMMAND in the background, output to NAME.log.
start() {
  local name=$1
  shift
  "$@" >>"$name.log" 2>&1 &
  PIDS[$name]=$!
  say "started $name (pid $!): $*"
}

# stop NAME [SIGNAL]: signals NAME (default TERM) and waits for it (SIGKILL after 15 s).
stop() {
  local name=$1 pid=${PIDS[$1]:-} _
  [ -n "$pid" ] || return 0
  kill "-${2:-TERM}" "$pid" 2>/dev/null || true
  for _ in $(seq 150); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  unset "PIDS[$name]"
}

cleanup() {
  local status=$? name
  for name in "${!PIDS[@]}"; do stop "$name"; done
  if [ "$status" -ne 0 ]; then
    printf 'logs and data kept in %s\n' "$RUN_DIR" >&2
  elif [ "$KEEP_RUN_DIR" = 0 ]; then
    cd / && rm -rf "$RUN_DIR"
  fi
}

# start_node NAME CONFIG ADMIN_PORT: serve in the run directory; waits for /readyz.
start_node() {
  local name=$1 config=$2 admin=$3 _
  start "$name" "$BIN" serve --config "$config"
  for _ in $(seq 300); do
    kill -0 "${PIDS[$name]}" 2>/dev/null || { tail -n 20 "$name.log" >&2; fail "$name exited while starting"; }
    curl -fs -o /dev/null "http://127.0.0.1:$admin/readyz" && return 0
    sleep 0.1
  done
  fail "$name not ready after 30 s (see $RUN_DIR/$name.log)"
}

# send_mail LABEL PORT COUNT: COUNT messages from smtp-source, 4 sessions, one connection
# per message. smtp-source puts a distinct Message-Id (process id, session, counter) and
# Date in each message, so no two of them dedupe; it exits non-zero unless every message
# got a 2xx reply.
send_mail() {
  say "smtp-source: $3 messages to 127.0.0.1:$2 (subject \"$1\")"
  /usr/sbin/smtp-source -s 4 -m "$3" -l 2048 -S "$1" -f journal@corp.example \
    -t journal@archive.example "127.0.0.1:$2" || fail "smtp-source: a message was not accepted ($1)"
}

# archived NAME: the number of messages in NAME's archive.
archived() {
  "$BIN" archive stats --data-dir "$1" | sed -n 's/^messages: //p'
}

# queued NAME ADMIN_PORT: entries in NAME's forward queues (the running node's view).
queued() {
  "$BIN" queue dump --data-dir "$1" --admin "127.0.0.1:$2" |
    sed -n 's/^connection [^:]*: depth \([0-9]*\),.*/\1/p' | awk '{ n += $1 } END { print n + 0 }'
}

# metric ADMIN_PORT PREFIX: the sum of the Prometheus samples whose line starts with
# PREFIX, e.g. 'loops_detected_total{reason="loop"' (0 when there is none).
metric() {
  curl -fs "http://127.0.0.1:$1/metrics" | awk -v prefix="$2" 'index($0, prefix) == 1 { v += $NF } END { print v + 0 }'
}

# wait_for SECONDS WHAT COMMAND...: polls COMMAND every half second; fails after SECONDS.
wait_for() {
  local seconds=$1 what=$2 _
  shift 2
  for _ in $(seq $((seconds * 2))); do
    "$@" && return 0
    sleep 0.5
  done
  fail "$what: not within $seconds s"
}

# show_node NAME ADMIN_PORT: the queue summary, the archive digest and verify of one node.
show_node() {
  step "$1"
  "$BIN" queue dump --data-dir "$1" --admin "127.0.0.1:$2" | grep '^connection' | sed 's/^/   queue dump: /'
  "$BIN" archive digest --data-dir "$1" | sed 's/^/   archive digest: /'
  "$BIN" archive verify --data-dir "$1" | sed 's/^/   archive verify: /' || fail "$1: archive verify found faults"
}
