#!/usr/bin/env bash
# clickhouse-backup.sh: a logical backup of riverwatch's ClickHouse database, and its restore.
#
#   clickhouse-backup.sh backup DIR    every MergeTree table of the database: its CREATE
#                                      statement (TABLE.sql), its rows in ClickHouse's Native
#                                      format (TABLE.native.gz) and MANIFEST (rows, sha256)
#   clickhouse-backup.sh verify DIR    the files against MANIFEST (offline: no server needed)
#   clickhouse-backup.sh restore DIR   creates the database and the missing tables, loads the
#                                      rows, and checks each table's count against MANIFEST
#
# Why logical: SELECT … FORMAT Native and INSERT … FORMAT Native work the same on Debian's
# ClickHouse 18.16 and on current servers, which the BACKUP statement (22.x) and the layout
# of FREEZE's shadow directories do not. Every table is a ReplacingMergeTree: the rows are
# copied as queries see them (FINAL, the newest version of each), so a restored table
# answers every query exactly as the original did.
# For very large databases see docs/operations.md (Backups) for FREEZE and BACKUP.
#
# Restore refuses a table that already holds rows (a second restore would double nothing —
# ReplacingMergeTree collapses the copies — but it would hide that the target was not the
# empty server you meant); RESTORE_FORCE=1 loads anyway.
#
# Settings (environment):
#   CLICKHOUSE_HOST           default 127.0.0.1
#   CLICKHOUSE_PORT           native port, default 9000
#   CLICKHOUSE_USER           default "default"
#   CLICKHOUSE_PASSWORD_FILE  file holding the password (never on the command line of ps)
#   CLICKHOUSE_DATABASE       default riverwatch (clickhouse.database)
#   CLICKHOUSE_CLIENT         the client command, default clickhouse-client or `clickhouse client`
set -euo pipefail

HOST="${CLICKHOUSE_HOST:-127.0.0.1}"
PORT="${CLICKHOUSE_PORT:-9000}"
USER_NAME="${CLICKHOUSE_USER:-default}"
DB="${CLICKHOUSE_DATABASE:-riverwatch}"

die() { printf 'clickhouse-backup: error: %s\n' "$*" >&2; exit 1; }
say() { printf 'clickhouse-backup: %s\n' "$*" >&2; }

[[ $DB =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || die "CLICKHOUSE_DATABASE=$DB is not a plain identifier"

client_cmd() {
  if [[ -n ${CLICKHOUSE_CLIENT:-} ]]; then
    read -r -a CLIENT <<<"$CLICKHOUSE_CLIENT"
  elif command -v clickhouse-client >/dev/null; then
    CLIENT=(clickhouse-client)
  elif command -v clickhouse >/dev/null; then
    CLIENT=(clickhouse client)
  else
    die "no clickhouse-client on the PATH (set CLICKHOUSE_CLIENT)"
  fi
}

# ch ARGS...: the client against the server. The password goes in a client config file
# readable only by us (CLIENT_CONFIG, made once), so it shows in no process list.
ch() {
  "${CLIENT[@]}" ${CLIENT_CONFIG:+--config-file "$CLIENT_CONFIG"} --host "$HOST" --port "$PORT" \
    --user "$USER_NAME" "$@"
}

client_config() {
  [[ -n ${CLICKHOUSE_PASSWORD_FILE:-} ]] || return 0
  [[ -r $CLICKHOUSE_PASSWORD_FILE ]] || die "CLICKHOUSE_PASSWORD_FILE=$CLICKHOUSE_PASSWORD_FILE is not readable"
  CLIENT_CONFIG=$(mktemp)
  trap 'rm -f "$CLIENT_CONFIG"' EXIT
  chmod 600 "$CLIENT_CONFIG"
  local pw
  pw=$(<"$CLICKHOUSE_PASSWORD_FILE")
  pw=${pw//&/&amp;} pw=${pw//</&lt;} pw=${pw//>/&gt;}
  printf '<config><password>%s</password></config>\n' "$pw" >"$CLIENT_CONFIG"
}

tables() {
  ch --query "SELECT name FROM system.tables WHERE database = '$DB' AND engine LIKE '%MergeTree%' ORDER BY name"
}

# final TABLE: "FINAL" for a ReplacingMergeTree table, else nothing. With FINAL a count is
# what every query sees, and merges running meanwhile do not change it.
final() {
  [[ $(ch --query "SELECT engine FROM system.tables WHERE database = '$DB' AND name = '$1'") == *Replacing* ]] &&
    echo FINAL || true
}

count_rows() { ch --query "SELECT count() FROM \`$DB\`.\`$1\` $(final "$1")"; }

cmd_backup() {
  local dir=$1 t rows sum
  [[ ! -e $dir/MANIFEST ]] || die "$dir already holds a backup"
  mkdir -p "$dir"
  local -a names
  mapfile -t names < <(tables)
  ((${#names[@]} > 0)) || die "database $DB has no tables on $HOST:$PORT"
  : >"$dir/MANIFEST.tmp"
  for t in "${names[@]}"; do
    ch --format TSVRaw --query "SHOW CREATE TABLE \`$DB\`.\`$t\`" >"$dir/$t.sql"
    # Counted before the copy: rows written meanwhile only add to the copy, so restore
    # checks "at least this many". For a backup that is a point in time, stop the archiver
    # first (or replay from Kafka after a restore, docs/operations.md).
    rows=$(count_rows "$t")
    ch --query "SELECT * FROM \`$DB\`.\`$t\` $(final "$t") FORMAT Native" | gzip -c >"$dir/$t.native.gz"
    sum=$(sha256sum "$dir/$t.native.gz" | cut -d' ' -f1)
    printf '%s\t%s\t%s\t%s\n' "$t" "$rows" "$sum" "$(sha256sum "$dir/$t.sql" | cut -d' ' -f1)" >>"$dir/MANIFEST.tmp"
    say "backed up $DB.$t: $rows rows"
  done
  { printf '# riverwatch ClickHouse backup of %s from %s:%s at %s (server %s)\n' \
      "$DB" "$HOST" "$PORT" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$(ch --query 'SELECT version()')"
    printf '# table\trows\tsha256(data)\tsha256(sql)\n'
    cat "$dir/MANIFEST.tmp"; } >"$dir/MANIFEST"
  rm -f "$dir/MANIFEST.tmp"
  say "backup of $DB complete in $dir (${#names[@]} tables)"
}

# manifest DIR: the table lines of MANIFEST, comments dropped.
manifest() { grep -v '^#' "$1/MANIFEST"; }

cmd_verify() {
  local dir=$1 t rows sum sqlsum bad=0
  [[ -f $dir/MANIFEST ]] || die "$dir/MANIFEST not found"
  while IFS=$'\t' read -r t rows sum sqlsum; do
    if [[ $(sha256sum "$dir/$t.native.gz" 2>/dev/null | cut -d' ' -f1) != "$sum" ]]; then
      say "changed or missing: $t.native.gz"; bad=1
    fi
    if [[ $(sha256sum "$dir/$t.sql" 2>/dev/null | cut -d' ' -f1) != "$sqlsum" ]]; then
      say "changed or missing: $t.sql"; bad=1
    fi
  done < <(manifest "$dir")
  ((bad == 0)) || die "backup in $dir does not match its MANIFEST"
  say "backup in $dir matches its MANIFEST"
}

cmd_restore() {
  local dir=$1 t rows sum sqlsum have src
  cmd_verify "$dir"
  ch --query "CREATE DATABASE IF NOT EXISTS \`$DB\`"
  src=$(sed -n 's/^# riverwatch ClickHouse backup of \([A-Za-z0-9_]*\) .*/\1/p' "$dir/MANIFEST")
  while IFS=$'\t' read -r t rows sum sqlsum; do
    if [[ $(ch --query "EXISTS TABLE \`$DB\`.\`$t\`") != 1 ]]; then
      # The statement names the database it was taken from; restore into this one.
      sed "1s/^CREATE TABLE \`\{0,1\}$src\`\{0,1\}\./CREATE TABLE \`$DB\`./" "$dir/$t.sql" | ch --multiquery
    fi
    have=$(count_rows "$t")
    if ((have > 0)) && [[ -z ${RESTORE_FORCE:-} ]]; then
      die "$DB.$t already holds $have rows (RESTORE_FORCE=1 loads anyway)"
    fi
    if [[ -n $(gzip -dc "$dir/$t.native.gz" | head -c 1) ]]; then # the server refuses an empty insert
      gzip -dc "$dir/$t.native.gz" | ch --query "INSERT INTO \`$DB\`.\`$t\` FORMAT Native"
    fi
    have=$(count_rows "$t")
    ((have >= rows)) || die "$DB.$t holds $have rows after the restore, the backup $rows"
    say "restored $DB.$t: $have rows"
  done < <(manifest "$dir")
  say "restore of $DB from $dir complete"
}

main() {
  local cmd=${1:-} dir=${2:-}
  [[ -n $cmd && -n $dir ]] || die "usage: clickhouse-backup.sh backup|verify|restore DIR"
  case $cmd in
    verify) cmd_verify "$dir" ;;
    backup) client_cmd; client_config; cmd_backup "$dir" ;;
    restore) client_cmd; client_config; cmd_restore "$dir" ;;
    *) die "unknown command $cmd (backup, verify, restore)" ;;
  esac
}

main "$@"
