#!/usr/bin/env bash
# Generates a DEVELOPMENT Ed25519 key pair for signing evidence bundles (config key
# api.evidence_key_file; docs/evidence.md), under STATE_DIR, outside the repository:
#
#   deploy/local/evidence-key.sh            # prints the export line to use it
#   eval "$(deploy/local/evidence-key.sh)"  # sets RIVERWATCH_API_EVIDENCE_KEY_FILE
#
# It keeps an existing pair (bundles signed before stay verifiable with the same public
# key); -f makes a new one. A production deployment generates its own key the same way
# (openssl genpkey -algorithm ed25519), keeps the private key readable by the api only, and
# hands out the public key (evidence.pub) to whoever verifies bundles.
set -euo pipefail
# shellcheck source=deploy/local/env.sh
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

dir="$STATE_DIR/evidence"
key="$dir/evidence.key"
pub="$dir/evidence.pub"
if [[ "${1:-}" == "-f" ]]; then
  rm -f "$key" "$pub"
fi
mkdir -p "$dir"
chmod 700 "$dir"
if [[ ! -s "$key" ]]; then
  (umask 077 && openssl genpkey -algorithm ed25519 -out "$key")
  openssl pkey -in "$key" -pubout -out "$pub"
  echo "evidence-key: new development key pair in $dir" >&2
fi
echo "export RIVERWATCH_API_EVIDENCE_KEY_FILE=$key  # public key: $pub"
