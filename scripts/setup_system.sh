#!/usr/bin/env bash
# System packages the pipeline needs besides Python: Java 17 for Spark, a CJK font for
# chart labels and chromium for the browser tests of the HTML reports. Installs them with
# apt-get when possible, otherwise says what is missing.
set -euo pipefail

can_apt() { [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; }
apt_updated=""
apt_install() {
  if [ -z "$apt_updated" ]; then apt-get update -qq >/dev/null; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

if ! command -v java >/dev/null 2>&1; then
  if can_apt; then echo "setup: installing Java 17"; apt_install openjdk-17-jre-headless
  else echo "setup: Java 17 is required for Spark; install it (e.g. openjdk-17-jre-headless)" >&2; exit 1
  fi
fi

if ! fc-list :lang=zh 2>/dev/null | grep -q .; then
  if can_apt; then echo "setup: installing the CJK font fonts-noto-cjk for chart labels"; apt_install fonts-noto-cjk fontconfig
  else echo "setup: no CJK font found; charts will use English labels (install fonts-noto-cjk)" >&2
  fi
fi

if ! command -v chromium >/dev/null 2>&1; then
  if can_apt; then echo "setup: installing chromium for the browser tests of the HTML reports"; apt_install chromium
  else echo "setup: chromium not found; the report browser tests need it (install Debian's chromium)" >&2
  fi
fi
