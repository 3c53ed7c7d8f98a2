#!/bin/sh
# `make bench`: every figure of `ratchet bench --json`, with wire.dovecot.*
# (and wire.dovecot.lmtp.*, deliveries through its LMTP server)
# measured against a Dovecot (mdbox) started here on 127.0.0.1 and stopped
# afterwards (scripts/servers/servers.py installs it when missing).
# Usage: scripts/bench.sh BUILD_DIR [ratchet bench options...]
set -eu
build=$1
shift
out=$(mktemp /tmp/ratchet-bench-dovecot.XXXXXX)
/usr/bin/python3 "$(dirname "$0")/servers/servers.py" dovecot mdbox >"$out" &
srv=$!
trap 'kill $srv 2>/dev/null; wait $srv 2>/dev/null; rm -f "$out"' EXIT INT TERM
url=""
for _ in $(seq 1 300); do
  url=$(head -n1 "$out")
  case "$url" in imap://*) break ;; esac
  kill -0 $srv 2>/dev/null || break
  sleep 0.2
done
case "$url" in
  imap://*) sleep 0.2; lmtp=$(sed -n 2p "$out")
            case "$lmtp" in
              lmtp://*) "$build/ratchet" bench --dovecot "$url" --dovecot-lmtp "$lmtp" "$@" ;;
              *) "$build/ratchet" bench --dovecot "$url" "$@" ;;
            esac ;;
  *) echo "bench.sh: Dovecot did not start; wire.dovecot.* skipped" >&2
     "$build/ratchet" bench "$@" ;;
esac
