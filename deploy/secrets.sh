#!/usr/bin/env bash
# deploy/secrets.sh DIR: makes the secrets a production deployment of riverwatch needs, once
# (a file that exists is kept), into DIR (mode 0700). compose mounts them from
# deploy/compose/secrets (its default DIR), Kubernetes takes them as Secrets and the systemd
# units read them from /etc/riverwatch/secrets (docs/operations.md#secrets).
#
#   kafka-ca.crt, kafka-ca.key       a CA of your own for the brokers' TLS (or use your PKI's)
#   kafka-broker.pem                 the broker's PKCS#8 key and certificate (Kafka's PEM
#                                    keystore), for the names in KAFKA_HOSTS (default: kafka)
#   kafka-<user>.password            SCRAM-SHA-512 passwords of the principals gateway,
#                                    assessor, responder, archiver, api (each service its own)
#                                    and admin (the broker's super user, for the ACLs)
#   clickhouse-archiver.password     the archiver's ClickHouse account (riverwatch_archiver)
#   clickhouse-api.password          the api's read-only account (riverwatch_api)
#   clickhouse-users.xml             both accounts for ClickHouse's users.d (SHA-256 only)
#   commands.key                     HMAC key of operator commands (api signs, responder verifies)
#   webhook.secret                   HMAC key of the responder's webhooks
#   grafana-admin.password           Grafana's admin password
#   tokens.yaml, admin.token         one admin API token: tokens.yaml holds only its SHA-256,
#                                    admin.token the token itself (hand it over, then delete it)
#
# Not made here, because only you know them: the contact directory (contacts.yaml) and the
# river network with each station's own password (sites.yaml; production refuses the factory
# password 123456 and a password two stations share).
#
# The files are mode 0644 inside the 0700 directory: the containers run as other users
# (riverwatch 10001, Kafka 1000, ClickHouse 101) and a bind-mounted file keeps its mode, while
# nobody else on the host can reach them through DIR. Needs openssl and sha256sum.
set -euo pipefail

dir=${1:-}
[[ -n $dir ]] || { echo "usage: $0 DIR" >&2; exit 2; }
command -v openssl >/dev/null || { echo "$0: openssl not found (apt-get install openssl)" >&2; exit 1; }
hosts=${KAFKA_HOSTS:-kafka}
users=(gateway assessor responder archiver api admin)

mkdir -p "$dir"
chmod 0700 "$dir"
cd "$dir"
umask 022
made=()

# random FILE: a random hex secret of 32 bytes, once.
random() {
  [[ -s $1 ]] && return 0
  openssl rand -hex 32 >"$1"
  made+=("$1")
}

for u in "${users[@]}"; do random "kafka-$u.password"; done
random clickhouse-archiver.password
random clickhouse-api.password
random commands.key
random webhook.secret
random grafana-admin.password

if [[ ! -s kafka-ca.crt || ! -s kafka-ca.key ]]; then
  openssl req -x509 -newkey rsa:3072 -nodes -sha256 -days 3650 -subj "/CN=riverwatch Kafka CA" \
    -keyout kafka-ca.key -out kafka-ca.crt 2>/dev/null
  chmod 0600 kafka-ca.key
  made+=(kafka-ca.crt kafka-ca.key)
fi
if [[ ! -s kafka-broker.pem ]]; then
  tmp=$(mktemp -d)
  san=""
  IFS=, read -r -a names <<<"$hosts"
  for h in "${names[@]}"; do
    if [[ $h =~ ^[0-9.]+$ ]]; then san+="IP:$h,"; else san+="DNS:$h,"; fi
  done
  openssl req -newkey rsa:3072 -nodes -sha256 -subj "/CN=${names[0]}" \
    -keyout "$tmp/broker.key" -out "$tmp/broker.csr" 2>/dev/null
  printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\n' "${san%,}" >"$tmp/ext"
  openssl x509 -req -sha256 -days 825 -in "$tmp/broker.csr" -CA kafka-ca.crt -CAkey kafka-ca.key \
    -CAcreateserial -CAserial "$tmp/ca.srl" -out "$tmp/broker.crt" -extfile "$tmp/ext" 2>/dev/null
  openssl pkcs8 -topk8 -nocrypt -in "$tmp/broker.key" -out "$tmp/broker.p8"
  cat "$tmp/broker.p8" "$tmp/broker.crt" >kafka-broker.pem
  rm -rf "$tmp"
  made+=(kafka-broker.pem)
fi

sha() { tr -d '\n' <"$1" | sha256sum | cut -d' ' -f1; }
# The users.d file follows the password files (rewritten whenever they change).
users_xml=$(
  cat <<EOF
<?xml version="1.0"?>
<!-- Made by deploy/secrets.sh from clickhouse-*.password: riverwatch's two ClickHouse accounts
     (docs/security.md#clickhouse-accounts-l6). The archiver writes and migrates; the api only
     reads the riverwatch database, with limits it cannot lift (readonly=1). -->
<clickhouse>
    <profiles>
        <riverwatch_api>
            <readonly>1</readonly>
            <max_execution_time>30</max_execution_time>
            <max_result_rows>1000000</max_result_rows>
            <max_result_bytes>1000000000</max_result_bytes>
            <result_overflow_mode>throw</result_overflow_mode>
            <max_memory_usage>2000000000</max_memory_usage>
        </riverwatch_api>
    </profiles>
    <users>
        <riverwatch_archiver>
            <password_sha256_hex>$(sha clickhouse-archiver.password)</password_sha256_hex>
            <networks><ip>::/0</ip></networks>
            <profile>default</profile>
            <quota>default</quota>
        </riverwatch_archiver>
        <riverwatch_api>
            <password_sha256_hex>$(sha clickhouse-api.password)</password_sha256_hex>
            <networks><ip>::/0</ip></networks>
            <profile>riverwatch_api</profile>
            <quota>default</quota>
            <allow_databases><database>riverwatch</database></allow_databases>
        </riverwatch_api>
    </users>
</clickhouse>
EOF
)
if [[ ! -f clickhouse-users.xml || $(<clickhouse-users.xml) != "$users_xml" ]]; then
  printf '%s\n' "$users_xml" >clickhouse-users.xml
  made+=(clickhouse-users.xml)
fi

if [[ ! -s tokens.yaml ]]; then
  (umask 077 && openssl rand -hex 32 >admin.token)
  printf '%s\n' "# Made by deploy/secrets.sh: API tokens, stored as the SHA-256 of the token." \
    "# Add one line per user (openssl rand -hex 32 | tee TOKEN | tr -d '\\n' | sha256sum)." \
    "- {token: \"sha256:$(sha admin.token)\", name: administrator, role: admin, jurisdictions: [\"*\"]}" >tokens.yaml
  made+=(tokens.yaml admin.token)
fi

chmod 0644 ./*.password commands.key webhook.secret kafka-ca.crt kafka-broker.pem clickhouse-users.xml tokens.yaml
if ((${#made[@]} > 0)); then
  echo "secrets.sh: made in $dir: ${made[*]}"
else
  echo "secrets.sh: $dir has every secret already; nothing made"
fi
