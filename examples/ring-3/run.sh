#!/usr/bin/env bash
# The ring of this directory on loopback, in one command: node-a -> node-b -> node-c ->
# node-a on the HA listeners. Postfix's smtp-source sends journal mail to each node's
# journal listener; every message must reach all three archives and then stop: the copy
# that comes back to the node it entered at is archived there again (dedupe) and not
# forwarded (loops_detected_total{reason="loop"} counts it). At the end every archive
# must hold every message once, every queue must be empty and the three `archive
# digest`s equal; otherwise the script exits 1.
#
#   examples/ring-3/run.sh
#
# Environment: ARCHIVERELAY_BINARY (default: swift build -c release of this checkout),
# ARCHIVERELAY_RUN_DIR (default: a new temporary directory, removed after a successful
# run), RING_MESSAGES (messages into each node, default 100). Needs Postfix's smtp-source
# and curl. Ports: 1353N/1363N/1383N (node N's journal, HA, admin; N = 1, 2, 3).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../lib.sh"

PER_NODE=${RING_MESSAGES:-100}
NODES=(node-a node-b node-c)
TOTAL=$((${#NODES[@]} * PER_NODE))
admin() { echo $((13831 + $1)); }
journal() { echo $((13531 + $1)); }

need /usr/sbin/smtp-source "apt-get install postfix"
need curl "apt-get install curl"
find_binary
ports_free 13531 13532 13533 13631 13632 13633 13831 13832 13833
enter_run_dir ring-3

# all_hold N: every archive holds N messages and every queue is empty.
all_hold() {
  local i line="" done=0 count depth
  for i in "${!NODES[@]}"; do
    count=$(archived "${NODES[$i]}") depth=$(queued "${NODES[$i]}" "$(admin "$i")")
    line+="${NODES[$i]}: $count archived, $depth queued | "
    [ "$count" = "$1" ] && [ "$depth" = 0 ] && done=$((done + 1))
  done
  say "${line% | }"
  [ "$done" = "${#NODES[@]}" ]
}

step "check-config, then start the ring"
for i in "${!NODES[@]}"; do
  "$BIN" check-config "$HERE/${NODES[$i]}.toml" | sed "s/^/   ${NODES[$i]}: /"
  start_node "${NODES[$i]}" "$HERE/${NODES[$i]}.toml" "$(admin "$i")"
done

step "$PER_NODE messages into each node's journal listener"
for i in "${!NODES[@]}"; do send_mail "ring-3 into ${NODES[$i]}" "$(journal "$i")" "$PER_NODE"; done

step "waiting until every node holds all $TOTAL messages and every queue is empty"
wait_for 120 "the ring delivering every message" all_hold "$TOTAL"
sleep 2
say "two seconds later (nothing may still be travelling):"
all_hold "$TOTAL" || fail "messages were still travelling around the ring"

for i in "${!NODES[@]}"; do
  show_node "${NODES[$i]}" "$(admin "$i")"
  loops=$(metric "$(admin "$i")" 'loops_detected_total{reason="loop"')
  say "copies that came back and were stopped (loops_detected_total{reason=\"loop\"}): $loops"
  [ "$loops" = "$PER_NODE" ] || fail "${NODES[$i]} stopped $loops returning copies, expected $PER_NODE (one per message it took)"
done
first=$("$BIN" archive digest --data-dir node-a)
for node in node-b node-c; do
  [ "$("$BIN" archive digest --data-dir "$node")" = "$first" ] || fail "the archive digests of node-a and $node differ"
done
step "OK: node-a, node-b and node-c each hold all $TOTAL messages once, every copy stopped after one round, queues empty, archive digests equal"
