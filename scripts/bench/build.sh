#!/usr/bin/env bash
# build.sh DIR: compiles the benchmark's C programs into DIR with the system's C compiler
# ($CC, default cc): the anchors epoll_echo, iter_echo, splice_echo and udp_echo (anchors/*.c) and the
# load client echoload (client/echoload.c), every time (a second, and no stale binary from
# another checkout). Exit status 1, with one line saying what to install, when there is no
# compiler.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OUT=${1:?usage: build.sh DIR}
CC=${CC:-cc}
CFLAGS=${CFLAGS:--O2 -Wall -Wextra}

if ! command -v "$CC" >/dev/null 2>&1; then
  echo "build.sh: no C compiler: \"$CC\" is not on PATH; the benchmark builds its C anchors and load client at run time (install gcc or clang, e.g. apt-get install gcc, or set CC)" >&2
  exit 1
fi
mkdir -p "$OUT"
for src in "$HERE"/anchors/*.c "$HERE"/client/*.c; do
  bin="$OUT/$(basename "$src" .c)"
  # shellcheck disable=SC2086 # CFLAGS is a list of words
  "$CC" $CFLAGS -o "$bin.tmp" "$src"
  mv "$bin.tmp" "$bin"
done
