#!/usr/bin/env bash
# npm run demo:hosts [-- --data FILE] : ticketflow across four "machines" on one Linux box (root needed).
#
# Creates network namespaces joined by veth pairs on a bridge — tf-redis (10.77.0.2), tf-api (10.77.0.3),
# tf-w1 (10.77.0.4), tf-w2 (10.77.0.5), each with its own hostname — that share nothing but one storage
# directory (which also holds the dataset). Runs one flow through the API's address, shows which host ran
# which job, and removes everything it created, also on failure or Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
DATA="$ROOT/shared/sample/complaints-sample.json"
while [ $# -gt 0 ]; do
  case "$1" in
    --data) DATA=$(realpath "$2"); shift 2 ;;
    -h|--help) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "demo:hosts: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
[ "$(id -u)" = 0 ] || { echo "demo:hosts: needs root (ip netns)" >&2; exit 1; }
command -v ip >/dev/null || { echo "demo:hosts: needs iproute2 (apt-get install iproute2)" >&2; exit 1; }
REDIS_SERVER=$(command -v redis-server || echo /usr/bin/redis-server)
[ -x "$REDIS_SERVER" ] || { echo "demo:hosts: needs redis-server (npm run setup)" >&2; exit 1; }
[ -f dist/workers/main.js ] || npm run -s build

NET=10.77.0
BR=tfbr0
HOSTS=(tf-redis tf-api tf-w1 tf-w2)
ADDRS=($NET.2 $NET.3 $NET.4 $NET.5)
SHARED=$(mktemp -d /tmp/ticketflow-hosts.XXXXXX)
mkdir -p "$SHARED/storage" "$SHARED/data" "$SHARED/logs"
cp "$DATA" "$SHARED/data/"
DATASET=$(basename "$DATA")
PIDS=()

cleanup() {
  set +e
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null; done
  sleep 1
  for pid in "${PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null; done
  for h in "${HOSTS[@]}"; do ip netns del "$h" 2>/dev/null; done
  ip link del "$BR" 2>/dev/null
  rm -rf "$SHARED"
  echo "demo:hosts: cleaned up (namespaces, bridge, processes, $SHARED)"
}
trap cleanup EXIT INT TERM

ip link add "$BR" type bridge
ip addr add "$NET.1/24" dev "$BR"
ip link set "$BR" up
for i in "${!HOSTS[@]}"; do
  h=${HOSTS[$i]}
  ip netns add "$h"
  ip link add "veth-$h" type veth peer name eth0 netns "$h"
  ip link set "veth-$h" master "$BR" up
  ip -n "$h" addr add "${ADDRS[$i]}/24" dev eth0
  ip -n "$h" link set eth0 up
  ip -n "$h" link set lo up
done

# Run a command on host $1 with its own hostname (UTS namespace), logging to $SHARED/logs/$1.log.
on_host() {
  local h=$1; shift
  ip netns exec "$h" unshare --uts sh -c "hostname $h; exec \"\$@\"" sh "$@" >"$SHARED/logs/$h.log" 2>&1 &
  PIDS+=($!)
}

REDIS_URL="redis://${ADDRS[0]}:6379"
COMMON=(env REDIS_URL="$REDIS_URL" TICKETFLOW_STORAGE_DIR="$SHARED/storage" TICKETFLOW_DATA_DIR="$SHARED/data" TICKETFLOW_LOG_LEVEL=info)
on_host tf-redis "$REDIS_SERVER" --bind "${ADDRS[0]}" --port 6379 --protected-mode no --save '' --appendonly no --maxmemory-policy noeviction
for _ in $(seq 50); do ip netns exec tf-api bash -c "echo > /dev/tcp/${ADDRS[0]}/6379" 2>/dev/null && break; sleep 0.1; done
# The API listens on its namespace address, which needs a token.
TOKEN=$(node -e 'console.log(require("crypto").randomBytes(24).toString("hex"))')
AUTH=(-H "Authorization: Bearer $TOKEN")
on_host tf-api "${COMMON[@]}" PORT=3000 HOST=0.0.0.0 TICKETFLOW_API_TOKEN="$TOKEN" node dist/producers/api/main.js
on_host tf-w1 "${COMMON[@]}" node dist/workers/main.js
on_host tf-w2 "${COMMON[@]}" node dist/workers/main.js

API="http://${ADDRS[1]}:3000"
for _ in $(seq 100); do curl -sf "${AUTH[@]}" "$API/" >/dev/null && break; sleep 0.1; done
echo "hosts up: redis ${ADDRS[0]}, api ${ADDRS[1]}, workers ${ADDRS[2]} ${ADDRS[3]}; shared storage $SHARED"
# Wait until both workers serve their queues (they log it once their sandboxes are started).
for _ in $(seq 300); do
  n=$(cat "$SHARED/logs/tf-w1.log" "$SHARED/logs/tf-w2.log" 2>/dev/null | grep -c 'serving ' || true)
  [ "$n" -ge 2 ] && break; sleep 0.1
done
echo "worker connections seen by Redis at ${ADDRS[0]}:"
ip netns exec tf-redis redis-cli -h "${ADDRS[0]}" client list | grep -o 'addr=[0-9.]*:[0-9]* .*name=[^ ]*ticketflow-worker@tf-w[0-9]' \
  | sed -E 's/addr=([0-9.]*):.*@(tf-w[0-9])/\2 from \1/' | sort | uniq -c

echo "POST $API/runs {\"dataset\": \"$DATASET\", \"params\": {\"chunkSize\": 200}}"
ID=$(curl -sf "${AUTH[@]}" -X POST "$API/runs" -H 'content-type: application/json' -d "{\"dataset\": \"$DATASET\", \"params\": {\"chunkSize\": 200}}" | node -pe 'JSON.parse(require("fs").readFileSync(0)).id')
echo "run $ID"
STATE=waiting
for _ in $(seq 1200); do
  STATE=$(curl -sf "${AUTH[@]}" "$API/runs/$ID" | node -pe 'JSON.parse(require("fs").readFileSync(0)).state')
  [ "$STATE" = completed ] || [ "$STATE" = failed ] && break
  sleep 0.25
done
curl -sf "${AUTH[@]}" "$API/runs/$ID" | node -e '
  const r = JSON.parse(require("fs").readFileSync(0));
  console.log(`state ${r.state}` + (r.error ? `: ${r.error.stage}: ${r.error.message}` : ""));
  for (const s of r.stages) console.log(`  ${s.stage.padEnd(20)} ${s.state.padEnd(10)} ${String(s.seconds ?? "").padStart(6)} s  on ${s.worker ?? "?"}`);
  if (r.metrics) console.log(`  test accuracy ${r.metrics.test.accuracy.toFixed(4)}, weighted F1 ${r.metrics.test.f1.toFixed(4)}`);'
echo "chunk jobs per host:"
ip netns exec tf-redis sh -c "for k in \$(redis-cli -h ${ADDRS[0]} --scan --pattern 'ticketflow:text-chunks:$ID-chunk-?????'); do redis-cli -h ${ADDRS[0]} hget \$k pb; done" | sed 's/:[0-9]*$//' | sort | uniq -c
ls "$SHARED/storage/runs/$ID"
[ "$STATE" = completed ]
