#!/bin/sh
# Installs the Debian packages a job needs, idempotently.
# Usage: scripts/deps.sh [build|test|fuzz|libfuzzer|servers]...
# Root runs apt-get; anyone else gets the exact command printed.
set -eu

pkgs_build="cmake make gcc clang libjansson-dev libssl-dev pkg-config"
# chromium: tests/test_html.py loads the HTML timeline in it, headless
# dpkg-dev: tests/test_install.py builds and unpacks the Debian package
pkgs_test="python3-pytest python3-hypothesis dpkg-dev chromium"
pkgs_fuzz="clang libclang-rt-14-dev afl++"
pkgs_libfuzzer="clang libclang-rt-14-dev"
pkgs_servers="dovecot-imapd dovecot-core dovecot-lmtpd mailutils-imap4d sasl2-bin libsasl2-modules libsasl2-modules-db libclamav12 libical3 libicu72 libjansson4 libxapian30 libzephyr4 libpq5 libwrap0 libpcre3"

want=""
for group in "${@:-build}"; do
  case "$group" in
    build) want="$want $pkgs_build" ;;
    test) want="$want $pkgs_build $pkgs_test" ;;
    fuzz) want="$want $pkgs_fuzz" ;;
    libfuzzer) want="$want $pkgs_libfuzzer" ;;
    servers) want="$want $pkgs_servers" ;;
    *) echo "deps.sh: unknown group '$group' (build|test|fuzz|libfuzzer|servers)" >&2; exit 2 ;;
  esac
done

missing=""
for p in $want; do
  case " $missing " in *" $p "*) continue ;; esac
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing="$missing $p"
  fi
done
[ -z "$missing" ] && exit 0

cmd="apt-get install -y --no-install-recommends --no-upgrade$missing"
if [ "$(id -u)" -ne 0 ]; then
  echo "deps.sh: missing packages; run as root: $cmd" >&2
  exit 2
fi
echo "deps.sh: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
# A stale package index makes apt-get fail on a fresh machine: refresh once.
if ! $cmd >/tmp/ratchet-apt.log 2>&1; then
  apt-get update >/dev/null 2>&1 || true
  $cmd >/tmp/ratchet-apt.log 2>&1 || { tail -20 /tmp/ratchet-apt.log >&2; exit 2; }
fi
