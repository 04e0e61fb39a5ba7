#!/usr/bin/env bash
# Installs what riverwatch needs on a fresh Debian machine of this kind, skipping what is
# there: ClickHouse (Debian's clickhouse-server when no `clickhouse` binary is on the PATH),
# Chromium for the dashboard's browser tests, curl, Python's venv (for schemathesis), and the
# Kafka jars (Maven Central).
set -euo pipefail

RW_NAME=install
# shellcheck source-path=SCRIPTDIR source=env.sh
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

command -v go >/dev/null || rw_die "Go is not installed (this project needs Go 1.26)"
command -v java >/dev/null || rw_die "Java 17 is not installed (Kafka needs it)"

sudo_if_needed() { if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi; }

missing=()
command -v curl >/dev/null || missing+=(curl)
if ! command -v chromium >/dev/null && [[ ! -x /usr/bin/chromium ]]; then
  missing+=(chromium)
fi
# Python with venv, for schemathesis (apicheck.sh installs it from PyPI into a venv).
if ! command -v python3 >/dev/null; then
  missing+=(python3 python3-venv)
elif ! python3 -c 'import ensurepip, venv' 2>/dev/null; then
  missing+=(python3-venv)
fi
# CJK fonts, so that dashboard screenshots from the browser tests show readable Chinese.
if [[ ! -d /usr/share/fonts/opentype/noto ]]; then
  missing+=(fonts-noto-cjk)
fi
if ((${#missing[@]} > 0)); then
  rw_log "installing ${missing[*]} with apt-get"
  sudo_if_needed apt-get update -qq
  sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
"$RW_LOCAL_DIR/clickhouse.sh" install
"$RW_LOCAL_DIR/kafka.sh" fetch
