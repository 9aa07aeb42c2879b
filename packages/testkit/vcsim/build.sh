#!/usr/bin/env bash
# Builds the vCenter simulator main (main.go beside this script) against Debian's govmomi source
# (golang-github-vmware-govmomi-dev) in GOPATH mode, no module download, and caches the binary outside git, keyed by
# the package version and a hash of main.go (TEST-ENVIRONMENT.md §5). Prints the binary's path on stdout.
# Cache root: $STRATUS_CACHE_DIR, else ${XDG_CACHE_HOME:-$HOME/.cache}/stratus.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
govmomi=/usr/share/gocode/src/github.com/vmware/govmomi
command -v go > /dev/null || { echo "go not found (apt-get install golang-go)" >&2; exit 2; }
[ -d "$govmomi/simulator" ] || { echo "$govmomi/simulator not found (apt-get install golang-github-vmware-govmomi-dev)" >&2; exit 2; }

version="$(dpkg-query -W -f='${Version}' golang-github-vmware-govmomi-dev 2> /dev/null || echo unknown)"
hash="$(sha256sum "$here/main.go" | cut -c1-12)"
cache="${STRATUS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/stratus}/vcsim"
bin="$cache/$version-$hash/stratusvcsim"
if [ -x "$bin" ]; then
  echo "$bin"
  exit 0
fi

mkdir -p "$cache"
# One build at a time (test workers and .ci/run may ask together).
exec 9> "$cache/.lock"
flock 9
if [ ! -x "$bin" ]; then
  gosrc="$(mktemp -d "$cache/gosrc.XXXXXX")"
  trap 'rm -rf "$gosrc"' EXIT
  mkdir -p "$gosrc/src/stratusvcsim"
  cp "$here/main.go" "$gosrc/src/stratusvcsim/main.go"
  mkdir -p "$(dirname "$bin")"
  GO111MODULE=off GOPATH="$gosrc:/usr/share/gocode" GOCACHE="$cache/go-build" GOFLAGS= \
    go build -ldflags='-s -w' -o "$bin.tmp" stratusvcsim >&2
  mv "$bin.tmp" "$bin"
fi
echo "$bin"
