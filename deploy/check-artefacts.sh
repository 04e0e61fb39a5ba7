#!/usr/bin/env bash
# make check-deploy: checks every operations artefact under deploy/ with the tool made for it,
# and prints what each tool said. A check this machine cannot run says why and does not fail.
#
#   container image  deploy/container/check.sh (podman build of the Dockerfile, then the image runs)
#   compose          go test in deploy/compose (compose-go, the loader of docker compose; every
#                    container's -check in production mode with deploy/secrets.sh's secrets)
#   Kubernetes       go test in deploy/kubernetes (kustomize + strict typed decoding; every pod's
#                    -check); kubectl kustomize
#   systemd          systemd-analyze verify, systemd-sysusers, systemd-tmpfiles, systemd-analyze
#                    security; every unit's -check (go test ./deploy/systemd)
#   Prometheus       promtool check rules / test rules / check config
#   Grafana          go test ./deploy/... (generated = checked in, structure, every metric exists),
#                    promtool check rules on every dashboard query
#
# Installs what is missing from Debian's packages first (prometheus for promtool; podman,
# runc and busybox-static for the image), skipping what is there, without starting services.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export GOFLAGS="${GOFLAGS:--buildvcs=false}"

start_all=$(date +%s)
results=()
section() { printf '\n=== %s\n' "$*"; }
pass() { results+=("PASS     $1"); }
fail() { results+=("FAIL     $1"); }
skip() { results+=("CANNOT   $1: $2"); printf '%s: cannot run here: %s\n' "$1" "$2"; }
# run NAME CMD...: runs the command, shows its output, records the result.
run() {
  local name=$1; shift
  printf '$ %s\n' "$*"
  if "$@"; then pass "$name"; else fail "$name"; fi
}

sudo_if_needed() { if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi; }

section "tools"
missing=()
command -v promtool >/dev/null || missing+=(prometheus)
command -v systemd-analyze >/dev/null || missing+=(systemd)
command -v podman >/dev/null || missing+=(podman)
command -v runc >/dev/null || missing+=(runc)
[[ -x /bin/busybox ]] || missing+=(busybox-static)
if ((${#missing[@]} > 0)); then
  echo "installing ${missing[*]} with apt-get (services are not started)"
  # Packages such as prometheus start their daemon on install unless policy-rc.d says no;
  # put one in place only when the machine has none, and remove only that one.
  made_policy=""
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' | sudo_if_needed tee /usr/sbin/policy-rc.d >/dev/null
    sudo_if_needed chmod 755 /usr/sbin/policy-rc.d
    made_policy=1
  fi
  sudo_if_needed apt-get update -q || echo "apt-get update failed; trying the install anyway"
  sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" \
    | grep -E '^(Setting up|E:)' || true
  [[ -z $made_policy ]] || sudo_if_needed rm -f /usr/sbin/policy-rc.d
fi
for t in promtool systemd-analyze podman runc kubectl go; do
  if command -v $t >/dev/null; then
    case $t in
      go) v=$(go version) ;;
      kubectl) v=$(kubectl version --client 2>/dev/null | head -1) ;;
      *) v=$($t --version 2>/dev/null | head -1) ;;
    esac
    printf '%-16s %s\n' "$t" "$v"
  else
    printf '%-16s (not installed)\n' "$t"
  fi
done

section "Prometheus rules: deploy/prometheus/riverwatch.rules.yml"
if command -v promtool >/dev/null; then
  run "promtool check rules deploy/prometheus/riverwatch.rules.yml" promtool check rules deploy/prometheus/riverwatch.rules.yml
  run "promtool test rules deploy/prometheus/tests/*.yml" promtool test rules deploy/prometheus/tests/*.yml
  run "promtool check config deploy/compose/prometheus.yml" promtool check config --syntax-only deploy/compose/prometheus.yml
else
  skip "promtool" "Debian's prometheus package could not be installed"
fi

section "Grafana dashboards: deploy/grafana (and the probe of the image)"
run "go test ./deploy/... (dashboards generated, well formed, every metric defined in the code; every systemd unit's -check)" \
  go test -count=1 ./deploy/...
printf '$ go test -v -run TestQueriesUseMetricsTheCodeDefines ./deploy/grafana/gen\n'
go test -count=1 -v -run TestQueriesUseMetricsTheCodeDefines ./deploy/grafana/gen | grep -E 'depend on|^(ok|FAIL|---)' | fold -s -w 160
if command -v promtool >/dev/null; then
  q=$(mktemp --suffix=.yml)
  if go run ./deploy/grafana/gen -rules "$q"; then
    run "promtool check rules (every dashboard query as PromQL)" promtool check rules "$q"
  else
    fail "go run ./deploy/grafana/gen -rules"
  fi
  rm -f "$q"
fi

section "Kubernetes: deploy/kubernetes (base, overlays/single, overlays/production)"
run "go test ./... in deploy/kubernetes (kustomize + strict decoding into k8s.io/api types)" \
  bash -o pipefail -c 'cd deploy/kubernetes && go test -count=1 -v ./... | grep -E "^(    )?(=== RUN|--- |ok|FAIL|PASS)|(manifests|check)_test" | grep -v "=== RUN"'
if command -v kubectl >/dev/null; then
  for o in single production; do
    printf '$ kubectl kustomize deploy/kubernetes/overlays/%s\n' "$o"
    if out=$(kubectl kustomize "deploy/kubernetes/overlays/$o" 2>&1); then
      printf '%s\n' "$out" | grep '^kind:' | sort | uniq -c | awk '{printf "  %s %s", $1, $3} END {print ""}'
      pass "kubectl kustomize overlays/$o"
    else
      printf '%s\n' "$out"; fail "kubectl kustomize overlays/$o"
    fi
  done
fi

section "docker compose: deploy/compose/compose.yaml"
run "go test ./... in deploy/compose (compose-go: the Compose Specification schema and model checks)" \
  bash -o pipefail -c 'cd deploy/compose && go test -count=1 -v ./... | grep -E "^(    )?(--- |ok|FAIL)|(compose|check)_test"'
run "bash -n deploy/secrets.sh deploy/compose/kafka/start.sh deploy/compose/kafka/init.sh" \
  bash -c 'for f in deploy/secrets.sh deploy/compose/kafka/start.sh deploy/compose/kafka/init.sh; do bash -n "$f" || exit 1; done'
if command -v docker >/dev/null && docker compose version >/dev/null 2>&1; then
  sec=$(mktemp -d)
  deploy/secrets.sh "$sec/secrets" >/dev/null
  run "docker compose config -q" env RIVERWATCH_SECRETS_DIR="$sec/secrets" RIVERWATCH_RESPONDER_WEBHOOK_SECRET=check \
    RIVERWATCH_CONTACTS_FILE="$ROOT/configs/contacts.yaml" RIVERWATCH_NETWORK_FILE="$ROOT/configs/sites.yaml" \
    docker compose -f deploy/compose/compose.yaml config -q
  rm -rf "$sec"
else
  echo "docker compose (v2) is not installed; compose-go above is the library it validates with"
fi

section "systemd: deploy/systemd"
if command -v systemd-analyze >/dev/null && [[ -d /lib/systemd/system ]]; then
  r=$(mktemp -d)
  mkdir -p "$r/usr/local/bin" "$r/etc/systemd/system" "$r/usr/lib/systemd" "$r/etc"
  # verify needs the units' dependencies (sysinit.target, ...) and ExecStart's binaries in
  # the root it checks: the machine's own system units and freshly built binaries.
  cp -a /lib/systemd/system "$r/usr/lib/systemd/"
  cp deploy/systemd/*.service deploy/systemd/*.target "$r/etc/systemd/system/"
  ok=1
  for s in gateway assessor responder archiver api; do
    go build -o "$r/usr/local/bin/riverwatch-$s" "./services/$s" || ok=""
  done
  [[ -n $ok ]] || fail "go build of the binaries for systemd-analyze"
  printf '$ systemd-analyze verify --root=ROOT deploy/systemd/*.service riverwatch.target\n'
  out=$(systemd-analyze verify --root="$r" "$r"/etc/systemd/system/riverwatch-*.service "$r/etc/systemd/system/riverwatch.target" 2>&1); rc=$?
  printf '%s\n' "${out:-(no warnings)}" | sed "s|$r||g"
  # verify exits 0 on unknown keys and bad values (it only warns): any output is a failure.
  if [[ $rc -eq 0 && -z $out ]]; then pass "systemd-analyze verify (6 services, 1 target)"; else fail "systemd-analyze verify"; fi
  touch "$r/etc/passwd" "$r/etc/group"
  run "systemd-sysusers --root=ROOT riverwatch.sysusers" systemd-sysusers --root="$r" "$ROOT/deploy/systemd/riverwatch.sysusers"
  run "systemd-tmpfiles --root=ROOT --create riverwatch.tmpfiles" systemd-tmpfiles --root="$r" --create "$ROOT/deploy/systemd/riverwatch.tmpfiles"
  grep -q '^riverwatch:' "$r/etc/passwd" && [[ -d $r/etc/riverwatch/secrets ]] || fail "sysusers/tmpfiles made no user or directory"
  for s in gateway api; do
    printf '$ systemd-analyze security --offline=yes riverwatch-%s.service\n' "$s"
    systemd-analyze security --offline=yes --root="$r" "riverwatch-$s.service" 2>&1 | tail -1
  done
  rm -rf "$r"
else
  skip "systemd-analyze verify" "systemd-analyze is not installed and could not be"
fi

section "container image: Dockerfile"
deploy/container/check.sh; rc=$?
case $rc in
  0) pass "podman build of Dockerfile; archiver -version, migrate and gateway /readyz from the image" ;;
  3) skip "container image" "see the [container] line above" ;;
  *) fail "container image (deploy/container/check.sh exit $rc)" ;;
esac

section "summary ($(($(date +%s) - start_all)) s)"
failed=0
for r in "${results[@]}"; do
  printf '%s\n' "$r"
  [[ $r == FAIL* ]] && failed=$((failed + 1))
done
passed=$(printf '%s\n' "${results[@]}" | grep -c '^PASS' || true)
printf 'check-artefacts: %d passed, %d failed\n' "$passed" "$failed"
[[ $failed -eq 0 ]]
