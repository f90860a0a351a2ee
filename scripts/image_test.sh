#!/usr/bin/env bash
# Build the real Dockerfile and run the container end to end, on a machine with no registry access for images:
# starts a private Docker daemon with a python:3.11-slim stand-in base (scripts/private_docker.sh), builds the
# image offline (SOURCE=embedded, UNTIL from scripts/run_instant.py as the workflow computes it), runs it, checks /bitcoin, /pairs, the user, that prophet is absent, prints the
# image size, and stops the daemon it started, by its PID.
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${IMAGE_TEST_DIR:-/var/tmp/crypto-predict-image-test}
SOCK="unix://$WORK/docker.sock"
BASE=local/python:3.11-slim-bookworm
IMAGE=crypto-predict:image-test
mkdir -p "$WORK"

cleanup() {
  docker --host "$SOCK" rm -f crypto-predict-test >/dev/null 2>&1 || true
  bash scripts/private_docker.sh stop "$WORK"
}
trap cleanup EXIT
bash scripts/private_docker.sh start "$WORK" >/dev/null

# UNTIL as the workflow computes it, for a run at 06:17 on the embedded history's last day: training must use
# only the bars closed by 06:00, so the last bar is the day before (the day of 2024-11-03 had not closed).
UNTIL=$(python3 scripts/run_instant.py --now 2024-11-03T06:17:42Z | sed -n 's/^until=//p')
[ "$UNTIL" = 2024-11-03T06:00:00Z ] || { echo "run_instant.py gave until=$UNTIL"; exit 1; }
# The build stage fetches packages from the package index, so it uses the host's network.
docker --host "$SOCK" build --network host --build-arg PYTHON_IMAGE="$BASE" --build-arg SOURCE=embedded \
  --build-arg UNTIL="$UNTIL" --build-arg GIT_COMMIT="$(git rev-parse HEAD 2>/dev/null || echo unknown)" \
  -t "$IMAGE" .

PORT=18080
docker --host "$SOCK" run -d --name crypto-predict-test --network host -e PORT=$PORT "$IMAGE" >/dev/null
for _ in $(seq 1 60); do curl -fs "http://127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.5; done
answer=$(curl -fsS "http://127.0.0.1:$PORT/bitcoin?date=2025-01-01")
echo "/bitcoin: $answer"
echo "$answer" | python3 -c 'import json, sys; b = json.load(sys.stdin); assert b["prediction_low"] <= b["prediction"] <= b["prediction_high"], b'
pairs=$(curl -fsS "http://127.0.0.1:$PORT/pairs")
echo "/pairs: $pairs"
echo "$pairs" | python3 -c 'import json, sys; p = json.load(sys.stdin)["pairs"]
assert [(x["pair"], x["timeframe"], x["last_bar"]) for x in p] == [
    ("BTC-USD", "1Day", "2024-11-02T00:00:00Z"), ("ETH-USD", "1Day", "2024-11-02T00:00:00Z")], p'
echo "/predict/ETH-USD: $(curl -fsS "http://127.0.0.1:$PORT/predict/ETH-USD?date=2025-01-01")"
user=$(docker --host "$SOCK" exec crypto-predict-test id -u)
[ "$user" != 0 ] || { echo "the container runs as root"; exit 1; }
echo "user id: $user"
if docker --host "$SOCK" exec crypto-predict-test python -c "import prophet" 2>/dev/null; then
  echo "prophet is in the final image"; exit 1
fi
echo "prophet: absent from the final image"
docker --host "$SOCK" image inspect "$IMAGE" --format 'image size: {{.Size}} bytes' 
docker --host "$SOCK" image inspect "$BASE" --format 'base image size: {{.Size}} bytes'
echo "image-test: passed"
