#!/usr/bin/env bash
# make demo (after make up): a simulated ammonia spill, end to end, narrated as it happens.
#
#   1. checks the stack is up (make up started Kafka, ClickHouse and every service) and that
#      the responder runs with a demo time scale (playbook deadlines and the resolve hold
#      scaled down, so the story fits in minutes); restarts it with one if not;
#   2. starts the notification sink (simulator sink: plays everyone the responder notifies)
#      and the narrator (simulator narrate: follows the topics and prints one line per step);
#   3. starts the station fleet (simulator run -live) playing configs/scenarios/spill.yaml:
#      ten data loggers speaking HJ 212 to the gateway, simulated time 360× faster; each
#      logger that obeys a reporting-interval command (1062: 加密监测 at the joint-monitoring
#      stations after the exceedance, the restore after the recovery) prints a ▶ line with
#      the rate it measured before (uploads per simulated hour) and the rate from then on;
#      Beside the spill, TTH-S2's ammonia probe fails high on the other river: the
#      narrator tells, indented, its series judged suspect, its incident held (抑制: the
#      maintenance unit told, the river chief not paged) and the responder's verdicts
#      (研判: sensor_fault_likely there, pollution_confirmed for the spill); and the
#      intake's unreported threat climbing to 昌吉回族自治州's river chief (督办);
#   4. acknowledges the incident through the API with curl when it opens, as a duty officer
#      would, printing the command;
#   5. waits for the story to end (End of Alert), prints the dashboard address and a token,
#      and leaves everything running (the stations keep reporting live) until make down.
#
# Simulated time starts the scenario's span (20 h) in the past, because the gateway refuses
# readings from the future. A second demo on the same stack within that span would replay
# times the assessor has already seen; the simulator detects that, and the demo then resets
# riverwatch's topics and database (stack.sh reset) to tell the story from an empty river.
#
# Environment (all optional):
#   RIVERWATCH_DEMO_SCENARIO      scenario file      (default configs/scenarios/spill.yaml)
#   RIVERWATCH_DEMO_ACCELERATION  simulated/wall     (default: the scenario's, 360 for the spill)
#   RIVERWATCH_RESPONDER_TIME_SCALE  responder time scale for the demo (default 30: the 1 h
#      resolve hold and deadlines take 2 wall minutes, so escalations show within the story)
#   RIVERWATCH_DEMO_TIMEOUT       give up after this many seconds (default 900)
# Exit status: 0 when the whole story was told; otherwise the narrator names the missing step.
set -euo pipefail

RW_NAME=demo
# shellcheck source-path=SCRIPTDIR source=env.sh
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
# Development mode: the services run with the repository's public development tokens,
# secrets and station passwords, which production mode (the binaries' default) refuses.
export RIVERWATCH_MODE="${RIVERWATCH_MODE:-development}"
rw_cluster_env # RIVERWATCH_CLUSTER=1: the simulator and the narrator use the cluster
ROOT="$(cd "$RW_LOCAL_DIR/../.." && pwd)"
BIN="${RIVERWATCH_BIN_DIR:-$ROOT/bin}"
CONFIG="${RIVERWATCH_CONFIG:-$ROOT/configs/riverwatch.yaml}"
SCENARIO="${RIVERWATCH_DEMO_SCENARIO:-$ROOT/configs/scenarios/spill.yaml}"
TIME_SCALE="${RIVERWATCH_RESPONDER_TIME_SCALE:-30}"
TIMEOUT="${RIVERWATCH_DEMO_TIMEOUT:-900}"
ACK_TOKEN=dev-responder-changji
VIEW_TOKEN=dev-admin-token
cd "$ROOT"
rw_mkdirs

port_of() { # port_of SERVICE DEFAULT: the port of RIVERWATCH_<SERVICE>_LISTEN, else DEFAULT
  local var listen
  var="RIVERWATCH_$(tr '[:lower:]' '[:upper:]' <<<"$1")_LISTEN"
  listen="${!var:-}"
  echo "${listen:+${listen##*:}}${listen:-$2}"
}
API_PORT=$(port_of api 8080)
API="http://$RW_HOST:$API_PORT"

[[ -x $BIN/simulator ]] || rw_die "$BIN/simulator is missing: run make build (make demo does)"
for s in gateway:8081 assessor:8082 responder:8083 archiver:8084 api:8080; do
  name=${s%%:*}
  port=$(port_of "$name" "${s##*:}")
  curl -fsS "http://$RW_HOST:$port/readyz" >/dev/null 2>&1 || rw_die "$name is not ready on :$port: run make up first"
done

# The responder must run with the demo's time scale: restart it with one if it does not.
pid=$(rw_pid_of "$PID_DIR/responder.pid" "$BIN/responder") || rw_die "responder is not running from $BIN: run make up"
if ! tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null | grep -qx "RIVERWATCH_RESPONDER_TIME_SCALE=$TIME_SCALE"; then
  rw_log "restarting the responder with RIVERWATCH_RESPONDER_TIME_SCALE=$TIME_SCALE (playbook times ÷ $TIME_SCALE)"
  rw_stop responder "$PID_DIR/responder.pid" "$BIN/responder" 20
  rw_stop responder-2 "$PID_DIR/responder-2.pid" "$BIN/responder" 20 # cluster mode's second replica
  RIVERWATCH_RESPONDER_TIME_SCALE=$TIME_SCALE "$RW_LOCAL_DIR/stack.sh" up >/dev/null
fi

# A previous demo's stations would muddle this one's story.
rw_stop simulator "$PID_DIR/simulator.pid" "$BIN/simulator" 10 2>/dev/null
# Simulated time starts in the past (the gateway refuses the future), so a second demo
# within the scenario's span of the first would replay times the assessor has seen: the
# simulator refuses that and says what to do.
accel=()
[[ -n ${RIVERWATCH_DEMO_ACCELERATION:-} ]] && accel=(-acceleration "$RIVERWATCH_DEMO_ACCELERATION")
if ! "$BIN/simulator" run -check -config "$CONFIG" -scenario "$SCENARIO" "${accel[@]}" >/dev/null 2>&1; then
  rw_log "this stack holds a previous demo's readings: make demo starts from an empty river, so"
  rw_log "riverwatch's topics and database are reset (stack.sh reset) and the services restarted"
  "$RW_LOCAL_DIR/stack.sh" reset
  RIVERWATCH_RESPONDER_TIME_SCALE=$TIME_SCALE "$RW_LOCAL_DIR/stack.sh" up >/dev/null
  "$BIN/simulator" run -check -config "$CONFIG" -scenario "$SCENARIO" "${accel[@]}" >/dev/null || exit 1
fi
if ! rw_pid_of "$PID_DIR/sink.pid" "$BIN/simulator" >/dev/null; then
  rw_spawn "$PID_DIR/sink.pid" "$LOG_DIR/sink.log" "$BIN/simulator" sink -config "$CONFIG"
fi

incident_file="$STATE_DIR/demo-incident"
rm -f "$incident_file"
since=$(date +%s)
echo
echo "═══ riverwatch demo: $(sed -n 's/^title_en: //p' "$SCENARIO") ═══"
echo "    wall     │ simulated   │ step"
"$BIN/simulator" narrate -config "$CONFIG" -scenario "$SCENARIO" -since "$since" \
  -timeout "${TIMEOUT}s" -incident-file "$incident_file" &
narrator=$!
stop_jobs() {
  kill "$narrator" 2>/dev/null || true
  if [[ -n ${tailer:-} ]]; then kill "$tailer" 2>/dev/null || true; fi
}
trap stop_jobs EXIT

: >"$LOG_DIR/simulator.log"
rw_spawn "$PID_DIR/simulator.pid" "$LOG_DIR/simulator.log" "$BIN/simulator" run -config "$CONFIG" \
  -scenario "$SCENARIO" -live "${accel[@]}"
# The fleet announces what happens in the river and at its stations (▶ lines: the spill,
# the reporting rate raised and restored); show them with the narration.
tail -n +1 -F --pid="$narrator" "$LOG_DIR/simulator.log" 2>/dev/null | grep --line-buffered -E '▶|^simulator: [0-9]+ stations' &
tailer=$!

# A duty officer acknowledges the incident as soon as it opens.
acked=
deadline=$((SECONDS + TIMEOUT))
while kill -0 "$narrator" 2>/dev/null; do
  if [[ -z $acked && -s $incident_file ]]; then
    id=$(tr -d '[:space:]' <"$incident_file")
    cmd=(curl -sS -o "$STATE_DIR/demo-ack.json" -w '%{http_code}' -X POST -H "Authorization: Bearer $ACK_TOKEN"
      -H "Idempotency-Key: demo-ack-$id" "$API/api/v1/incidents/$id/ack")
    echo "    ↳ the duty officer acknowledges: curl -X POST -H 'Authorization: Bearer $ACK_TOKEN' $API/api/v1/incidents/$id/ack"
    answers=()
    for ((i = 0; i < 60; i++)); do
      code=$("${cmd[@]}" 2>/dev/null || true)
      if ((${#answers[@]} == 0)) || [[ ${answers[-1]} != "$code" ]]; then answers+=("$code"); fi
      case $code in
      200 | 202 | 409) break ;; # applied, pending at the responder, or no longer open
      *) sleep 1 ;;             # 404 until the archiver has stored the incident; retry errors
      esac
    done
    case $code in
    200) what="acknowledged" ;;
    202) what="accepted; the responder applies it shortly" ;;
    409) what="the incident is no longer open: acknowledged already" ;;
    *) what="gave up; see $LOG_DIR/api.log" ;;
    esac
    printf -v joined '%s, then ' "${answers[@]}"
    echo "    ↳ API answered HTTP ${joined%, then }: $what"
    acked=1
  fi
  ((SECONDS < deadline + 30)) || break
  sleep 0.5
done
status=0
wait "$narrator" || status=$?
trap - EXIT
stop_jobs

echo
if ((status == 0)); then
  echo "The story is complete. The stack keeps running, and the stations keep reporting live."
else
  echo "The story did not complete (see the narrator's last line). Logs: $LOG_DIR/"
fi
# The closing note: the host commands the playbooks sent (joint monitoring's 1062 and its
# restore, the outfall's 3015), each with the station's 9011/9012 answers as recorded.
if [[ -s $incident_file ]]; then
  id=$(tr -d '[:space:]' <"$incident_file")
  echo
  echo "  Station commands of incident $id (curl -H 'Authorization: Bearer $VIEW_TOKEN' $API/api/v1/incidents/$id):"
  curl -fsS -H "Authorization: Bearer $VIEW_TOKEN" "$API/api/v1/incidents/$id" 2>/dev/null | python3 -c '
import json, sys
try:
    cmds = json.load(sys.stdin).get("station_commands") or []
except ValueError:
    cmds = []
if not cmds:
    print("    (none recorded yet)")
for c in cmds:
    what = c["command"] + (" %ss" % c["rtd_interval_s"] if c.get("rtd_interval_s") else "") + (" %smin" % c["min_interval_min"] if c.get("min_interval_min") else "")
    answers = " ".join(x for x in ("QnRtn=" + c["qn_rtn"] if c.get("qn_rtn") else "", "ExeRtn=" + c["exe_rtn"] if c.get("exe_rtn") else "") if x)
    rep = c.get("report") or {}
    extra = (" bottle " + rep["vase_no"]) if rep.get("vase_no") else ""
    print("    %-8s %-22s %-10s %s%s  QN %s, %d record(s)" % (c["site"], what, c["status"], answers or "-", extra, c.get("qn", "-"), len(c.get("records") or [])))
' || echo "    (the API did not answer)"
fi
cat <<EOF

  Dashboard   $API/
  Token       $VIEW_TOKEN        (admin; $ACK_TOKEN can acknowledge and resolve Changji's incidents)
  API         curl -H 'Authorization: Bearer $VIEW_TOKEN' $API/api/v1/incidents
  Messages    $LOG_DIR/sink.log   (every notification the responder sent)
  Stations    $LOG_DIR/simulator.log
  Stop        make down
EOF
exit "$status"
