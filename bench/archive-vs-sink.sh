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

median() { python3 -c "import statistics,sys; print(round(statistics.median(map(float, sys.argv[1:]))))" "$@"; }

sink_port=$(free_port)
/usr/sbin/smtp-sink -u nobody -c "127.0.0.1:$sink_port" 1000 >/dev/null &
pids+=($!)
wait_port "$sink_port"

node_port=$(free_port); admin_port=$(free_port)
$BIN serve --listen "127.0.0.1:$node_port" --admin "127.0.0.1:$admin_port" --data-dir "$work/data" --node-id bench --log-level warning &
pids+=($!)
wait_port "$node_port"

# Interleaved rounds, medians: the machine is shared, and a ratio from one back-to-back
# pair swings by +-20% with whatever else runs.
ROUNDS=${ROUNDS:-3}
sink_rates=(); node_rates=()
for _ in $(seq "$ROUNDS"); do
  sink_rates+=("$(rate "$sink_port")")
  node_rates+=("$(rate "$node_port")")
done
sink_rate=$(median "${sink_rates[@]}")
node_rate=$(median "${node_rates[@]}")

# Storage ratio on the shared corpus (cold node, and two-fold steady state: bench/corpus_ratio.py).
corpus=$(python3 bench/corpus_ratio.py "$BIN" ../shared/corpus/spamassassin "$work" 2>/dev/null)
cold=$(python3 -c "import json,sys; print(json.loads(sys.argv[1])['cold'])" "$corpus")
steady=$(python3 -c "import json,sys; print(json.loads(sys.argv[1])['steady'])" "$corpus")

echo "| measure | value |"
echo "| --- | --- |"
echo "| smtp-source -> smtp-sink ($MESSAGES x ${SIZE} B, $SESSIONS sessions), median of $ROUNDS | $sink_rate msg/s (${sink_rates[*]}) |"
echo "| smtp-source -> archiverelay serve (durable archive), median of $ROUNDS | $node_rate msg/s (${node_rates[*]}) |"
echo "| ratio serve / smtp-sink | $(python3 -c "print(round($node_rate/$sink_rate,2))") |"
echo "| stored / raw, shared corpus, steady state (dictionary trained on the other half) | $steady |"
echo "| stored / raw, shared corpus, cold (empty archive, dictionary bytes included) | $cold |"
