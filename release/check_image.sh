#!/usr/bin/env bash
# Run an image built with SOURCE=embedded and UNTIL=2024-11-03T06:00:00Z and check it end to end: /bitcoin,
# /pairs (the embedded pairs, daily, last bar 2024-11-02), /predict, a non-root user, no prophet in the final
# image, its size. Used by `make image-test` and the pull-request workflow. The docker CLI follows DOCKER_HOST.
# Usage: release/check_image.sh IMAGE
set -euo pipefail
IMAGE=${1:?an image}
trap 'docker rm -f crypto-predict-test >/dev/null 2>&1 || true' EXIT
PORT=18080
docker run -d --name crypto-predict-test --network host -e PORT=$PORT "$IMAGE" >/dev/null
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
user=$(docker exec crypto-predict-test id -u)
[ "$user" != 0 ] || { echo "the container runs as root"; exit 1; }
echo "user id: $user"
if docker exec crypto-predict-test python -c "import prophet" 2>/dev/null; then
  echo "prophet is in the final image"; exit 1
fi
echo "prophet: absent from the final image"
docker image inspect "$IMAGE" --format 'image size: {{.Size}} bytes'
echo "check_image: passed"
