#!/usr/bin/env bash
# `docker compose config` on compose.yaml.  Compose v2 comes with Docker's own packages; where the machine
# lacks it (Debian 12 ships only compose v1), the plugin binary is taken from Debian 13's docker-compose
# package into a temporary folder: a static Go binary that also runs on its own as `docker-compose`.
set -euo pipefail
cd "$(dirname "$0")/.."
if docker compose version >/dev/null 2>&1; then
  compose=(docker compose)
else
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  mkdir -p "$tmp/parts" "$tmp/lists/partial" "$tmp/cache/archives/partial"
  cat >"$tmp/parts/trixie.sources" <<'SRC'
Types: deb
URIs: http://deb.debian.org/debian
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
  apt_opts=(-o Dir::Etc::SourceList=/dev/null -o "Dir::Etc::SourceParts=$tmp/parts"
            -o "Dir::State::Lists=$tmp/lists" -o "Dir::Cache=$tmp/cache" -o APT::Sandbox::User=root)
  apt-get "${apt_opts[@]}" -qq update
  (cd "$tmp" && apt-get "${apt_opts[@]}" -qq download docker-compose)
  dpkg-deb -x "$tmp"/docker-compose_*.deb "$tmp/root"
  compose=("$tmp/root/usr/libexec/docker/cli-plugins/docker-compose")
fi
"${compose[@]}" version
"${compose[@]}" -f compose.yaml config -q
echo "compose.yaml: docker compose config passed"
