#!/usr/bin/env bash
# The HA pair of this directory on loopback, in one command: nginx (stream module, PROXY
# v1) in front of node-a and node-b, and Postfix's smtp-source sending journal mail
# through nginx. Round 1 reaches both nodes; node-b is stopped and round 2 goes to node-a
# alone (its queue for node-b grows); node-b comes back, round 3 arrives while it catches
# up. At the end both nodes must hold every message, both queues must be empty and the
# two `archive digest`s equal; otherwise the script exits 1.
#
#   examples/ha-pair/run.sh
#
# Environment: ARCHIVERELAY_BINARY (default: swift build -c release of this checkout),
# ARCHIVERELAY_RUN_DIR (default: a new temporary directory, removed after a successful
# run), HA_PAIR_MESSAGES (messages per round, default 200). Needs nginx with the stream
# module, Postfix's smtp-source and curl. Ports: 12525 (nginx), 12531/12631/12831
# (node-a: journal, HA, admin), 12532/12632/12832 (node-b).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../lib.sh"

PER_ROUND=${HA_PAIR_MESSAGES:-200}
NGINX=12525 A_ADMIN=12831 B_ADMIN=12832
TOTAL=$((3 * PER_ROUND))

need nginx "apt-get install nginx libnginx-mod-stream"
[ -f /usr/lib/nginx/modules/ngx_stream_module.so ] || fail "nginx's stream module is needed (apt-get install libnginx-mod-stream)"
need /usr/sbin/smtp-source "apt-get install postfix"
need curl "apt-get install curl"
find_binary
ports_free $NGINX 12531 12631 $A_ADMIN 12532 12632 $B_ADMIN
enter_run_dir ha-pair

# both_hold N: both archives hold N messages and both queues are empty.
both_hold() {
  local a b qa qb
  a=$(archived node-a) b=$(archived node-b) qa=$(queued node-a $A_ADMIN) qb=$(queued node-b $B_ADMIN)
  say "node-a: $a archived, $qa queued for node-b | node-b: $b archived, $qb queued for node-a"
  [ "$a" = "$1" ] && [ "$b" = "$1" ] && [ "$qa" = 0 ] && [ "$qb" = 0 ]
}

step "check-config, then start node-a, node-b and nginx"
for node in node-a node-b; do "$BIN" check-config "$HERE/$node.toml" | sed "s/^/   $node: /"; done
start_node node-a "$HERE/node-a.toml" $A_ADMIN
start_node node-b "$HERE/node-b.toml" $B_ADMIN
mkdir nginx
start nginx nginx -p "$RUN_DIR/nginx/" -c "$HERE/nginx.conf" -e stderr -g 'daemon off;'
wait_for 10 "nginx listening on 127.0.0.1:$NGINX" listening $NGINX

step "round 1: $PER_ROUND messages through nginx, balanced over both nodes"
send_mail "ha-pair round 1" $NGINX "$PER_ROUND"
journal='smtp_messages_received_total{listener="journal"'
say "taken on the journal listeners: node-a $(metric $A_ADMIN "$journal"), node-b $(metric $B_ADMIN "$journal")"
wait_for 60 "both nodes hold round 1" both_hold "$PER_ROUND"

step "stop node-b (SIGTERM); round 2: $PER_ROUND messages, nginx fails over to node-a"
stop node-b
send_mail "ha-pair round 2" $NGINX "$PER_ROUND"
"$BIN" queue dump --data-dir node-a --admin 127.0.0.1:$A_ADMIN | grep '^connection' | sed 's/^/   node-a queue dump: /'
backlog=$(queued node-a $A_ADMIN)
[ "$backlog" -ge "$PER_ROUND" ] || fail "node-a queued $backlog copies for node-b, expected $PER_ROUND"

step "restart node-b; round 3: $PER_ROUND messages while node-b catches up"
start_node node-b "$HERE/node-b.toml" $B_ADMIN
say "queue retry --all on node-a: probe node-b now instead of at the end of its backoff"
"$BIN" queue retry --all --data-dir node-a --admin 127.0.0.1:$A_ADMIN | sed 's/^/   /'
send_mail "ha-pair round 3" $NGINX "$PER_ROUND"
wait_for 120 "node-b catching up" both_hold "$TOTAL"

show_node node-a $A_ADMIN
show_node node-b $B_ADMIN
[ "$("$BIN" archive digest --data-dir node-a)" = "$("$BIN" archive digest --data-dir node-b)" ] ||
  fail "the archive digests of node-a and node-b differ"
step "OK: node-a and node-b each hold all $TOTAL messages, queues empty, archive digests equal"
