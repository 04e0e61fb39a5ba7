#!/usr/bin/env bash
# Installs what riverwatch needs on a fresh Debian machine of this kind, skipping what is
# there, and shows what it is doing (a first install downloads a few hundred MB).
#
#   install.sh [run]   what the stack needs (make up, make demo, make bench): curl, Java 17
#                      and Maven (Kafka's jars come from Maven Central), ClickHouse (Debian's
#                      clickhouse-server when no `clickhouse` binary is on the PATH), the
#                      Kafka jars
#   install.sh test    the above, plus what only the tests use (make test): Chromium for the
#                      dashboard's browser tests, CJK fonts for their screenshots, Python's
#                      venv for schemathesis
#
# Go 1.26 must be there already: it builds this script's caller.
set -euo pipefail

RW_NAME=install
# shellcheck source-path=SCRIPTDIR source=env.sh
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

profile=${1:-run}
[[ $profile == run || $profile == test ]] || rw_die "usage: install.sh [run|test]"

command -v go >/dev/null || rw_die "Go is not installed (this project needs Go 1.26)"

sudo_if_needed() { if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi; }

missing=()
command -v curl >/dev/null || missing+=(curl)
# Kafka 4.x runs on Java 17 or later; its jars are fetched with Maven.
if ! command -v java >/dev/null; then
  missing+=(default-jre-headless) # Java 17 on Debian 12, 21 on 13
fi
if [[ -z ${KAFKA_HOME:-} ]] && ! command -v mvn >/dev/null; then
  missing+=(maven)
fi
if [[ $profile == test ]]; then
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
fi
if ((${#missing[@]} > 0)); then
  command -v apt-get >/dev/null || rw_die "missing ${missing[*]}, and no apt-get to install them"
  rw_log "installing ${missing[*]} with apt-get (once; apt's progress follows)"
  t0=$SECONDS
  sudo_if_needed apt-get update -q
  sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
  rw_log "installed ${missing[*]} in $((SECONDS - t0)) s"
fi
"$RW_LOCAL_DIR/clickhouse.sh" install
"$RW_LOCAL_DIR/kafka.sh" fetch
