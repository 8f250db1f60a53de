#!/usr/bin/env bash
# The node's CPU per message against smtp-sink and the leanest NIO sink (bench/README.md,
# "What limits (2)"). Builds both release binaries, then runs bench/nio_floor.py.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps libzstd-dev libsqlite3-dev pkg-config postfix python3 >/dev/null
swift build -c release --product archiverelay >/dev/null
swift build -c release --package-path Benchmarks --product NIOFloorSink >/dev/null
exec /usr/bin/python3 bench/nio_floor.py "$PWD/.build/release/archiverelay" \
    "$PWD/Benchmarks/.build/release/NIOFloorSink" "$@"
