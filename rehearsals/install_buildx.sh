#!/usr/bin/env bash
# docker buildx for the rehearsals (root): Debian bookworm packages none, so take the plugin binary out of Debian
# trixie's docker-buildx .deb, which runs on bookworm. The package is downloaded and unpacked, never installed; the
# temporary source list is removed again, whatever happens. Does nothing when `docker buildx` already works.
set -euo pipefail
docker buildx version >/dev/null 2>&1 && exit 0
PLUGINS=${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins
LIST=/etc/apt/sources.list.d/crypto-predict-trixie.list
WORK=$(mktemp -d)
cleanup() {
  rm -f "$LIST"
  apt-get update -qq >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
# The machine's own Debian mirror (the first URI of its bookworm suite), with trixie as the suite.
MIRROR=$(awk '/^URIs:/ { uri = $2 } /^Suites:.*bookworm( |$)/ { print uri; exit }' /etc/apt/sources.list.d/*.sources \
  2>/dev/null || true)
[ -n "$MIRROR" ] || MIRROR=$(awk '$1 == "deb" && $3 == "bookworm" { print $2; exit }' /etc/apt/sources.list)
echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $MIRROR trixie main" >"$LIST"
apt-get update -qq
(cd "$WORK" && apt-get download docker-buildx 2>/dev/null)
dpkg-deb -x "$WORK"/docker-buildx_*.deb "$WORK/x"
mkdir -p "$PLUGINS"
install -m 0755 "$WORK/x/usr/libexec/docker/cli-plugins/docker-buildx" "$PLUGINS/docker-buildx"
docker buildx version
