#!/usr/bin/env bash
# npm run demo:hosts [-- [--data FILE] [--storage file|s3] [--logs DIR]] : ticketflow across "machines" on one Linux box (root).
#
# Creates network namespaces joined by veth pairs on a bridge — tf-redis (10.77.0.2), tf-api (10.77.0.3),
# tf-w1 (10.77.0.4), tf-w2 (10.77.0.5), each with its own hostname. Runs one flow through the API's address,
# shows which host ran which job, and removes everything it created, also on failure or Ctrl-C.
#
#   --storage file  (default) the API and workers share one storage folder, which also holds the dataset.
#   --storage s3    they share nothing but Redis and an S3 bucket: s3rver runs on its own host, tf-s3
#                   (10.77.0.6:4568); the API and each worker get a fresh, empty private folder (storage,
#                   data, HOME, TMPDIR) and routes to Redis and the S3 host only (the API also to this
#                   box, for the demo's requests). Artifacts go to s3://ticketflow/artifacts; the dataset
#                   is put into s3://ticketflow/datasets when this build reads TICKETFLOW_DATA_URL, else
#                   each host gets its own copy in its private data folder. The API then serves the run's
#                   artifacts, report and logs, and a batch classification with the new model, from the
#                   bucket. model.json, read from it through the API's artifact route, is compared with the
#                   model of a local-folder run of the same dataset and params (the CLI in a namespace of
#                   its own): "model bytes identical: yes" or exit 1; and every private storage folder must
#                   still be empty.
#   --logs DIR      keep each host's log (DIR/tf-api.log, ...) when the demo ends; they are removed otherwise.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
DATA="$ROOT/shared/sample/complaints-sample.json"
STORAGE=file
KEEP_LOGS=
while [ $# -gt 0 ]; do
  case "$1" in
    --data) DATA=$(realpath "$2"); shift 2 ;;
    --storage)
      STORAGE=${2:-}
      [ "$STORAGE" = file ] || [ "$STORAGE" = s3 ] || { echo "demo:hosts: --storage is file or s3, not \"$STORAGE\"" >&2; exit 2; }
      shift 2 ;;
    --logs) mkdir -p "$2"; KEEP_LOGS=$(realpath "$2"); shift 2 ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) echo "demo:hosts: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
[ "$(id -u)" = 0 ] || { echo "demo:hosts: needs root (ip netns)" >&2; exit 1; }
command -v ip >/dev/null || { echo "demo:hosts: needs iproute2 (apt-get install iproute2)" >&2; exit 1; }
REDIS_SERVER=$(command -v redis-server || echo /usr/bin/redis-server)
[ -x "$REDIS_SERVER" ] || { echo "demo:hosts: needs redis-server (npm run setup)" >&2; exit 1; }
[ -f dist/workers/main.js ] && [ -f dist/tools/demo/s3-server.js ] || npm run -s build

NET=10.77.0
BR=tfbr0
HOSTS=(tf-redis tf-api tf-w1 tf-w2)
ADDRS=($NET.2 $NET.3 $NET.4 $NET.5)
S3_ADDR=$NET.6
S3_PORT=4568
BUCKET=ticketflow
if [ "$STORAGE" = s3 ]; then HOSTS+=(tf-s3); ADDRS+=("$S3_ADDR"); fi
# Namespaces that are not on the bridge: the local-folder reference run of --storage s3.
LONE=()
SHARED=$(mktemp -d /tmp/ticketflow-hosts.XXXXXX)
mkdir -p "$SHARED/logs"
DATASET=$(basename "$DATA")
PIDS=()
# The first PIDS: Redis and the S3 server, which the others need until they stop.
INFRA=()

# Stop processes: SIGTERM, up to 5 s to exit (workers stop their sandboxed children), then SIGKILL.
stop_pids() {
  [ $# -gt 0 ] || return 0
  kill -TERM "$@" 2>/dev/null
  local alive pid
  for _ in $(seq 50); do
    alive=0
    for pid in "$@"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ $alive = 1 ] || break
    sleep 0.1
  done
  for pid in "$@"; do kill -KILL "$pid" 2>/dev/null; done
}
cleanup() {
  set +e
  # The API, workers and CLI first, while Redis and S3 still answer them; then Redis and S3.
  stop_pids "${PIDS[@]:${#INFRA[@]}}"
  stop_pids "${PIDS[@]:0:${#INFRA[@]}}"
  for h in "${HOSTS[@]}" "${LONE[@]}"; do ip netns del "$h" 2>/dev/null; done
  ip link del "$BR" 2>/dev/null
  [ -z "$KEEP_LOGS" ] || { cp "$SHARED"/logs/*.log "$KEEP_LOGS"/ && echo "demo:hosts: logs kept in $KEEP_LOGS"; }
  rm -rf "$SHARED"
  echo "demo:hosts: cleaned up (namespaces, bridge, processes, $SHARED)"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ip link add "$BR" type bridge
ip addr add "$NET.1/24" dev "$BR"
ip link set "$BR" up
for i in "${!HOSTS[@]}"; do
  h=${HOSTS[$i]}
  ip netns add "$h"
  ip link add "veth-$h" type veth peer name eth0 netns "$h"
  ip link set "veth-$h" master "$BR" up
  ip -n "$h" link set eth0 up
  ip -n "$h" link set lo up
  if [ "$STORAGE" = s3 ] && [[ $h = tf-api || $h = tf-w* ]]; then
    # A /32 address and a route to each host it may use: Redis and S3, and for the API the bridge's
    # own address (this script's curl). Everything else on the bridge is unreachable from it.
    ip -n "$h" addr add "${ADDRS[$i]}/32" dev eth0
    peers=("${ADDRS[0]}" "$S3_ADDR")
    [ "$h" = tf-api ] && peers+=("$NET.1")
    for p in "${peers[@]}"; do ip -n "$h" route add "$p/32" dev eth0; done
  else
    ip -n "$h" addr add "${ADDRS[$i]}/24" dev eth0
  fi
done

# Run a command on host $1 with its own hostname (UTS namespace), logging to $SHARED/logs/$1.log.
on_host() {
  local h=$1; shift
  ip netns exec "$h" unshare --uts sh -c "hostname $h; exec \"\$@\"" sh "$@" >"$SHARED/logs/$h.log" 2>&1 &
  PIDS+=($!)
}
# Wait until host $1 reaches TCP $2:$3.
await_port() {
  for _ in $(seq 100); do ip netns exec "$1" bash -c "echo > /dev/tcp/$2/$3" 2>/dev/null && return 0; sleep 0.1; done
  echo "demo:hosts: $2:$3 does not answer from $1 (see $SHARED/logs)" >&2; return 1
}
reaches() { ip netns exec "$1" timeout 2 bash -c "echo > /dev/tcp/$2/$3" 2>/dev/null && echo yes || echo no; }

REDIS_URL="redis://${ADDRS[0]}:6379"
INFRA+=(tf-redis)
on_host tf-redis "$REDIS_SERVER" --bind "${ADDRS[0]}" --port 6379 --protected-mode no --save '' --appendonly no --maxmemory-policy noeviction
await_port tf-api "${ADDRS[0]}" 6379

if [ "$STORAGE" = file ]; then
  mkdir -p "$SHARED/storage" "$SHARED/data"
  cp "$DATA" "$SHARED/data/"
  COMMON=(env REDIS_URL="$REDIS_URL" TICKETFLOW_STORAGE_DIR="$SHARED/storage" TICKETFLOW_DATA_DIR="$SHARED/data" TICKETFLOW_LOG_LEVEL=info)
  host_env() { HOST_ENV=("${COMMON[@]}"); }
  WHERE="shared storage $SHARED"
else
  mkdir -p "$SHARED/s3"
  INFRA+=(tf-s3)
  on_host tf-s3 node dist/tools/demo/s3-server.js --address "$S3_ADDR" --port "$S3_PORT" --dir "$SHARED/s3" --bucket "$BUCKET"
  await_port tf-api "$S3_ADDR" "$S3_PORT"
  S3_ENV=(AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_REGION=us-east-1 TICKETFLOW_S3_ENDPOINT="http://$S3_ADDR:$S3_PORT")
  STORAGE_URL="s3://$BUCKET/artifacts"
  DATA_URL="s3://$BUCKET/datasets"
  if grep -q TICKETFLOW_DATA_URL dist/shared/core/config/config.js; then
    # (AWS_SDK_JS_...: the SDK's notice that its 2027 releases need node 22, not the demo's business)
    env "${S3_ENV[@]}" AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true node dist/tools/demo/put-object.js "$DATA" "$DATA_URL" "$DATASET"
    DATA_ENV=(TICKETFLOW_DATA_URL="$DATA_URL")
    DATA_FROM="the bucket, $DATA_URL/$DATASET (TICKETFLOW_DATA_URL)"
  else
    DATA_ENV=()
    DATA_FROM="each host's own copy in its private data folder (this build has no TICKETFLOW_DATA_URL)"
  fi
  for h in tf-api tf-w1 tf-w2; do
    mkdir -p "$SHARED/hosts/$h/"{storage,data,home,tmp}
    [ ${#DATA_ENV[@]} -gt 0 ] || cp "$DATA" "$SHARED/hosts/$h/data/"
  done
  host_env() {
    local dir="$SHARED/hosts/$1"
    HOST_ENV=(env REDIS_URL="$REDIS_URL" TICKETFLOW_STORAGE_URL="$STORAGE_URL" "${S3_ENV[@]}" "${DATA_ENV[@]}"
      TICKETFLOW_STORAGE_DIR="$dir/storage" TICKETFLOW_DATA_DIR="$dir/data" TICKETFLOW_REDIS_DIR="$dir/tmp/redis"
      HOME="$dir/home" TMPDIR="$dir/tmp" TICKETFLOW_LOG_LEVEL=info)
  }
  WHERE="S3 $S3_ADDR:$S3_PORT; artifacts in $STORAGE_URL; dataset from $DATA_FROM"
fi

# The API listens on its namespace address, which needs a token.
TOKEN=$(node -e 'console.log(require("crypto").randomBytes(24).toString("hex"))')
AUTH=(-H "Authorization: Bearer $TOKEN")
host_env tf-api
on_host tf-api "${HOST_ENV[@]}" PORT=3000 HOST=0.0.0.0 TICKETFLOW_API_TOKEN="$TOKEN" node dist/producers/api/main.js
host_env tf-w1
on_host tf-w1 "${HOST_ENV[@]}" node dist/workers/main.js
host_env tf-w2
on_host tf-w2 "${HOST_ENV[@]}" node dist/workers/main.js

API="http://${ADDRS[1]}:3000"
for _ in $(seq 100); do curl -sf "${AUTH[@]}" "$API/" >/dev/null && break; sleep 0.1; done
echo "hosts up: redis ${ADDRS[0]}, api ${ADDRS[1]}, workers ${ADDRS[2]} ${ADDRS[3]}; $WHERE"
if [ "$STORAGE" = s3 ]; then
  for h in tf-w1 tf-w2; do
    echo "$h reaches: redis $(reaches "$h" "${ADDRS[0]}" 6379), s3 $(reaches "$h" "$S3_ADDR" "$S3_PORT"), api $(reaches "$h" "${ADDRS[1]}" 3000)"
  done
fi
# Wait until both workers serve their queues (they log it once their sandboxes are started).
for _ in $(seq 300); do
  n=$(cat "$SHARED/logs/tf-w1.log" "$SHARED/logs/tf-w2.log" 2>/dev/null | grep -c 'serving ' || true)
  [ "$n" -ge 2 ] && break; sleep 0.1
done
echo "worker connections seen by Redis at ${ADDRS[0]}:"
ip netns exec tf-redis redis-cli -h "${ADDRS[0]}" client list | grep -o 'addr=[0-9.]*:[0-9]* .*name=[^ ]*ticketflow-worker@tf-w[0-9]' \
  | sed -E 's/addr=([0-9.]*):.*@(tf-w[0-9])/\2 from \1/' | sort | uniq -c

echo "POST $API/runs {\"dataset\": \"$DATASET\", \"params\": {\"chunkSize\": 200}}"
POSTED=$(date +%s.%N)
ID=$(curl -sf "${AUTH[@]}" -X POST "$API/runs" -H 'content-type: application/json' -d "{\"dataset\": \"$DATASET\", \"params\": {\"chunkSize\": 200}}" | node -pe 'JSON.parse(require("fs").readFileSync(0)).id')
echo "run $ID"
STATE=waiting
for _ in $(seq 1200); do
  STATE=$(curl -sf "${AUTH[@]}" "$API/runs/$ID" | node -pe 'JSON.parse(require("fs").readFileSync(0)).state')
  [ "$STATE" = completed ] || [ "$STATE" = failed ] && break
  sleep 0.25
done
SECONDS_RUN=$(node -pe "($(date +%s.%N) - $POSTED).toFixed(1)")
curl -sf "${AUTH[@]}" "$API/runs/$ID" | node -e '
  const r = JSON.parse(require("fs").readFileSync(0));
  console.log(`state ${r.state}` + (r.error ? `: ${r.error.stage}: ${r.error.message}` : ""));
  for (const s of r.stages) console.log(`  ${s.stage.padEnd(20)} ${s.state.padEnd(10)} ${String(s.seconds ?? "").padStart(6)} s  on ${s.worker ?? "?"}`);
  if (r.metrics) console.log(`  test accuracy ${r.metrics.test.accuracy.toFixed(4)}, weighted F1 ${r.metrics.test.f1.toFixed(4)}`);'
echo "chunk jobs per host:"
ip netns exec tf-redis sh -c "for k in \$(redis-cli -h ${ADDRS[0]} --scan --pattern 'ticketflow:text-chunks:$ID-chunk-?????'); do redis-cli -h ${ADDRS[0]} hget \$k pb; done" | sed 's/:[0-9]*$//' | sort | uniq -c
echo "run $STATE in $SECONDS_RUN s (POST to $STATE, polled every 0.25 s)"
if [ "$STORAGE" = file ]; then
  ls "$SHARED/storage/runs/$ID"
  [ "$STATE" = completed ]
  exit 0
fi
[ "$STATE" = completed ]
echo "artifacts in $STORAGE_URL, listed by GET /runs/$ID/artifacts:"
curl -sf "${AUTH[@]}" "$API/runs/$ID/artifacts" | node -e '
  const { artifacts } = JSON.parse(require("fs").readFileSync(0));
  console.log("  " + artifacts.map((a) => `${a.name} ${a.size}`).join(", "));'
echo "GET /runs/$ID/report: $(curl -sf "${AUTH[@]}" "$API/runs/$ID/report" | wc -c) bytes of HTML;" \
  "GET /runs/$ID/logs: $(curl -sf "${AUTH[@]}" "$API/runs/$ID/logs" | node -pe 'JSON.parse(require("fs").readFileSync(0)).total') lines"
# A batch classification with the new model: workers read the model from the bucket and write their
# results there, and the API serves them from it.
echo "POST $API/classifications {\"dataset\": \"$DATASET\", \"model\": \"$ID\", \"chunkSize\": 400}"
CID=$(curl -sf "${AUTH[@]}" -X POST "$API/classifications" -H 'content-type: application/json' \
  -d "{\"dataset\": \"$DATASET\", \"model\": \"$ID\", \"chunkSize\": 400}" | node -pe 'JSON.parse(require("fs").readFileSync(0)).id')
for _ in $(seq 1200); do
  CSTATE=$(curl -sf "${AUTH[@]}" "$API/classifications/$CID" | node -pe 'JSON.parse(require("fs").readFileSync(0)).state')
  [ "$CSTATE" = completed ] || [ "$CSTATE" = failed ] && break
  sleep 0.25
done
curl -sf "${AUTH[@]}" "$API/classifications/$CID" | node -e '
  const c = JSON.parse(require("fs").readFileSync(0));
  const s = c.summary;
  console.log(`classification ${c.id} ${c.state}` + (c.error ? `: ${c.error}` : "") +
    (s ? `: ${s.tickets} tickets, ${s.abstained} abstained, ${s.seconds.toFixed(1)} s` : ""));'
[ "$CSTATE" = completed ]
curl -sf "${AUTH[@]}" "$API/classifications/$CID/artifacts" | node -e '
  const { artifacts } = JSON.parse(require("fs").readFileSync(0));
  console.log("  its artifacts: " + artifacts.map((a) => `${a.name} ${a.size}`).join(", "));'
curl -sf "${AUTH[@]}" "$API/runs/$ID/artifacts/model.json" -o "$SHARED/model-from-bucket.json"

echo "private folders after the run (files in each):"
EMPTY=yes
for h in tf-api tf-w1 tf-w2; do
  line="  $h:"
  for d in storage data home tmp; do
    n=$(find "$SHARED/hosts/$h/$d" -mindepth 1 | wc -l)
    line+=" $d $n"
    [ "$d" != storage ] || [ "$n" = 0 ] || EMPTY=no
  done
  echo "$line"
done
echo "every private storage folder empty: $EMPTY"
[ "$EMPTY" = yes ] || { find "$SHARED/hosts" -path '*/storage/*' | head -20; exit 1; }

# The reference: the same dataset and params through the CLI on a local folder, in a namespace of its own
# (only loopback, so its private Redis and workers meet nothing of the demo's).
LONE+=(tf-local)
ip netns add tf-local
ip -n tf-local link set lo up
LOCAL="$SHARED/local"
mkdir -p "$LOCAL/storage" "$LOCAL/data" "$LOCAL/redis"
cp "$DATA" "$LOCAL/data/"
echo "local-folder reference: ticketflow run --data $DATASET --chunk-size 200 --workers 2 (TICKETFLOW_STORAGE_DIR $LOCAL/storage)"
ip netns exec tf-local env -u TICKETFLOW_STORAGE_URL -u TICKETFLOW_DATA_URL -u TICKETFLOW_S3_ENDPOINT \
  REDIS_URL=redis://127.0.0.1:6379 TICKETFLOW_STORAGE_DIR="$LOCAL/storage" TICKETFLOW_DATA_DIR="$LOCAL/data" \
  TICKETFLOW_REDIS_DIR="$LOCAL/redis" TICKETFLOW_LOG_LEVEL=warn \
  node dist/producers/cli/ticketflow.js run --data "$LOCAL/data/$DATASET" --chunk-size 200 --workers 2 --json \
  >"$LOCAL/run.json" 2>"$SHARED/logs/tf-local.log" &
PIDS+=($!)
wait $! || { echo "demo:hosts: the local-folder run failed:" >&2; tail -20 "$SHARED/logs/tf-local.log" >&2; exit 1; }
node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1]));
  console.log(`local run ${r.id} ${r.state} in ${r.wallSeconds.toFixed(1)} s (enqueue to ${r.state}; ` +
    `its private Redis and 2 workers started in ${r.startupSeconds.toFixed(1)} s before)`);' "$LOCAL/run.json"
LOCAL_ID=$(node -pe 'JSON.parse(require("fs").readFileSync(process.argv[1])).id' "$LOCAL/run.json")
echo "model.json, compared without lineage.runId (test/runs/artifacts.ts comparableBytes):"
node dist/tools/demo/same-model.js "bucket, via GET /runs/$ID/artifacts/model.json=$SHARED/model-from-bucket.json" \
  "local folder, run $LOCAL_ID=$LOCAL/storage/runs/$LOCAL_ID/model.json"
