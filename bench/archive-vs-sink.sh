#!/usr/bin/env bash
# Benchmark (issue 3): Postfix's smtp-source (10 KB messages, 20 sessions) against
# Postfix's smtp-sink and against `archiverelay serve` (durable archive), in one run,
# reported as a ratio; then the stored/raw ratio of the shared corpus.
# Usage: bench/archive-vs-sink.sh [MESSAGES]   (default 20000). Loopback only.
set -euo pipefail
cd "$(dirname "$0")/.."
MESSAGES=${1:-20000}
SIZE=10240
SESSIONS=20
scripts/install-deps libzstd-dev libsqlite3-dev pkg-config postfix swaks python3 >/dev/null
swift build -c release --product archiverelay >/dev/null
BIN=.build/release/archiverelay
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0; sleep 0.1; done; return 1; }
rate() { # port -> messages per second accepted
  local start end
  start=$(date +%s.%N)
  /usr/sbin/smtp-source -l "$SIZE" -m "$MESSAGES" -s "$SESSIONS" -f bench@example.com -t journal@archive.example -c "127.0.0.1:$1" >/dev/null
  end=$(date +%s.%N)
  python3 -c "print(round($MESSAGES / ($end - $start)))"
}

sink_port=$(free_port)
/usr/sbin/smtp-sink -u nobody -c "127.0.0.1:$sink_port" 1000 >/dev/null &
pids+=($!)
wait_port "$sink_port"
sink_rate=$(rate "$sink_port")

node_port=$(free_port); admin_port=$(free_port)
$BIN serve --listen "127.0.0.1:$node_port" --admin "127.0.0.1:$admin_port" --data-dir "$work/data" --node-id bench --log-level warning &
pids+=($!)
wait_port "$node_port"
node_rate=$(rate "$node_port")

# Storage ratio on the shared corpus, through SMTP into a fresh archive.
corpus_port=$(free_port); corpus_admin=$(free_port)
$BIN serve --listen "127.0.0.1:$corpus_port" --admin "127.0.0.1:$corpus_admin" --data-dir "$work/corpus" --node-id corpus --log-level warning &
pids+=($!)
wait_port "$corpus_port"
python3 - "$corpus_port" ../shared/corpus/spamassassin <<'PY'
import os, smtplib, sys
port, corpus = int(sys.argv[1]), sys.argv[2]
with smtplib.SMTP("127.0.0.1", port) as s:
    for name in sorted(os.listdir(corpus)):
        if not name.startswith(("nice_", "spam_")): continue
        data = open(os.path.join(corpus, name), "rb").read()
        if data.startswith(b"From "): data = data.split(b"\n", 1)[1]
        data = data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        s.sendmail("corpus@example.com", ["journal@archive.example"], data)
PY
stats=$($BIN archive stats --json --data-dir "$work/corpus")
ratio=$(python3 -c "import json,sys; d=json.loads(sys.argv[1]); print(round(d['stored_bytes']/d['raw_bytes'],3))" "$stats")

echo "| measure | value |"
echo "| --- | --- |"
echo "| smtp-source -> smtp-sink ($MESSAGES x ${SIZE} B, $SESSIONS sessions) | $sink_rate msg/s |"
echo "| smtp-source -> archiverelay serve (durable archive) | $node_rate msg/s |"
echo "| ratio serve / smtp-sink | $(python3 -c "print(round($node_rate/$sink_rate,2))") |"
echo "| stored / raw, shared corpus (134 messages) | $ratio |"
