#!/usr/bin/env bash
# Build the real Dockerfile and run the container end to end, on a machine with no registry access for images:
# starts a private Docker daemon with a python:3.11-slim stand-in base (rehearsals/private_docker.sh), builds the
# image offline (SOURCE=embedded, UNTIL from release/run_instant.py as the workflow computes it), runs it, checks /bitcoin, /pairs, the user, that prophet is absent, prints the
# image size, and stops the daemon it started, by its PID.
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${IMAGE_TEST_DIR:-/var/tmp/crypto-predict-image-test}
SOCK="unix://$WORK/docker.sock"
BASE=local/python:3.11-slim-bookworm
IMAGE=crypto-predict:image-test
mkdir -p "$WORK"

cleanup() {
  bash rehearsals/private_docker.sh stop "$WORK"
}
trap cleanup EXIT
bash rehearsals/private_docker.sh start "$WORK" >/dev/null

# UNTIL as the workflow computes it, for a run at 06:17 on the embedded history's last day: training must use
# only the bars closed by 06:00, so the last bar is the day before (the day of 2024-11-03 had not closed).
UNTIL=$(python3 -m release.run_instant --now 2024-11-03T06:17:42Z | sed -n 's/^until=//p')
[ "$UNTIL" = 2024-11-03T06:00:00Z ] || { echo "run_instant.py gave until=$UNTIL"; exit 1; }
# The build stage fetches packages from the package index, so it uses the host's network.
docker --host "$SOCK" build --network host --build-arg PYTHON_IMAGE="$BASE" --build-arg SOURCE=embedded \
  --build-arg UNTIL="$UNTIL" --build-arg GIT_COMMIT="$(git rev-parse HEAD 2>/dev/null || echo unknown)" \
  -t "$IMAGE" .

DOCKER_HOST="$SOCK" bash release/check_image.sh "$IMAGE"
docker --host "$SOCK" image inspect "$BASE" --format 'base image size: {{.Size}} bytes'
echo "image-test: passed"
