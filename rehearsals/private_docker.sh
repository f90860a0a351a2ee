#!/usr/bin/env bash
# A private Docker daemon for the image test and the release rehearsal, on a machine with no registry access for
# base images: no bridge, no iptables, its own data root under WORK, and a python:3.11-slim stand-in base image
# built with debootstrap (imported as local/python:3.11-slim-bookworm).
#   rehearsals/private_docker.sh start WORK   starts dockerd (socket WORK/docker.sock, PID in WORK/dockerd.pid) and
#                                          imports the base; prints DOCKER_HOST=unix://WORK/docker.sock
#   rehearsals/private_docker.sh stop WORK    stops the daemon started there, by its PID
set -euo pipefail
ACTION=${1:?start or stop}
WORK=${2:?a work folder}
SOCK="unix://$WORK/docker.sock"
BASE=local/python:3.11-slim-bookworm
mkdir -p "$WORK"

if [ "$ACTION" = stop ]; then
  if [ -f "$WORK/dockerd.pid" ]; then
    pid=$(cat "$WORK/dockerd.pid")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  fi
  exit 0
fi

if ! command -v dockerd >/dev/null || ! command -v debootstrap >/dev/null; then
  apt-get update -qq && apt-get install -y -qq docker.io debootstrap >/dev/null
fi
dockerd --host "$SOCK" --data-root "$WORK/data" --exec-root "$WORK/exec" --pidfile "$WORK/dockerd.pid" \
  --bridge=none --iptables=false --ip-forward=false --ip-masq=false >"$WORK/dockerd.log" 2>&1 &
for _ in $(seq 1 60); do docker --host "$SOCK" info >/dev/null 2>&1 && break; sleep 1; done
docker --host "$SOCK" info >/dev/null

# The stand-in base is re-imported each start, so it always carries the host's current trust settings.
ROOTFS=${BASE_ROOTFS:-/var/tmp/crypto-predict-rootfs}
if [ ! -x "$ROOTFS/usr/bin/python3.11" ]; then
  rm -rf "$ROOTFS"
  debootstrap --variant=minbase --include=python3.11,python3-pip,python3-venv,ca-certificates bookworm "$ROOTFS" \
    >"$WORK/debootstrap.log"
fi
# Make it behave like the official python:3.11-slim image: `python` on PATH, pip allowed system-wide.
ln -sf /usr/bin/python3.11 "$ROOTFS/usr/local/bin/python"
rm -f "$ROOTFS"/usr/lib/python3*/EXTERNALLY-MANAGED
rm -rf "$ROOTFS"/var/cache/apt/archives/*.deb "$ROOTFS"/var/lib/apt/lists/*
# The host may reach the package index through a CA of its own (a TLS-inspecting proxy): give the stand-in base the
# same trust and pip settings the host has (the official base image needs nothing of the kind on a normal network).
cp /etc/ssl/certs/ca-certificates.crt "$ROOTFS/etc/ssl/certs/ca-certificates.crt"
printf '[global]\ncert = /etc/ssl/certs/ca-certificates.crt\n' >"$ROOTFS/etc/pip.conf"
tar -C "$ROOTFS" -c . | docker --host "$SOCK" import - "$BASE" >/dev/null
echo "DOCKER_HOST=$SOCK"
