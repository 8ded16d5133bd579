#!/usr/bin/env bash
# Builds the stand-in for the Dockerfile's base image, node:24-bookworm-slim, for machines that
# reach the npm registry and Debian's mirrors but no container registry (CI). The image test
# (test/image/) builds the real Dockerfile on it with
# `--build-arg NODE_IMAGE=localhost/node:24-bookworm-slim`; the Dockerfile's default stays the
# official image.
#
# What it holds, and how it differs from the official image:
# - `debootstrap --variant=minbase bookworm`: Debian's required packages plus apt. The official
#   bookworm-slim is the same Debian release and package set in spirit, but built by debuerreotype
#   with documentation, man pages and most locales removed; this root keeps them (about 20 MB
#   more). The official node image adds nothing Debian-side beyond what Node.js needs.
# - Node.js 24 from the npm registry's `node@24` package (its preinstall unpacks the official
#   linux-x64 binary), at /usr/local/bin/node: the same binary the official image copies in.
# - npm from the registry's `npm@11` package (the major Node.js 24 bundles), unpacked into
#   /usr/local/lib/node_modules/npm, with the `npm` and `npx` links. No yarn or corepack.
# - A `node` user and group, uid and gid 1000, home /home/node, as the official image has.
# - The machine's CA bundle (the file `npm config get cafile` names) at the same path, with
#   NODE_EXTRA_CA_CERTS and npm_config_cafile pointing at it: without it `npm ci` in the build
#   fails with SELF_SIGNED_CERT_IN_CHAIN where a proxy re-signs TLS. The official image has
#   neither variable.
#
# Cache: the root file system is kept as a tarball in ~/.cache/zexa-exporter-ci (or
# ZEXA_CI_NODE_CACHE), named after the checksum of this script's commands, and imported from
# there when the podman image is missing; both are rebuilt when a command here changes. The image carries the
# checksum as the label zexa.base.recipe.
#
# Usage (as root): scripts/image-base.sh [image name]   default localhost/node:24-bookworm-slim
set -euo pipefail

IMAGE="${1:-localhost/node:24-bookworm-slim}"
NODE_MAJOR=24
NPM_MAJOR=11
SUITE=bookworm
CACHE="${ZEXA_CI_NODE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/zexa-exporter-ci}"
# The recipe's checksum: this script without its comments, so editing a comment rebuilds nothing.
RECIPE="$(grep -v '^[[:space:]]*#' "$0" | sha256sum | cut -c1-16)"
TARBALL="$CACHE/node-$NODE_MAJOR-$SUITE-slim-standin-$RECIPE.tar"
# npm's cafile comes from the global npmrc of the npm that runs, which moves with the node on
# PATH (CI's Node.js 24 from the registry has none); NODE_EXTRA_CA_CERTS names the same bundle.
CAFILE="$(npm config get cafile)"
if [ -z "$CAFILE" ] || [ "$CAFILE" = null ] || [ "$CAFILE" = undefined ]; then CAFILE="${NODE_EXTRA_CA_CERTS:-}"; fi
# The podman flags this machine needs: crun fails with "cgroups in hybrid mode not supported".
PODMAN=(podman --runtime runc)

log() { echo "image-base: $*" >&2; }

if "${PODMAN[@]}" image exists "$IMAGE" &&
  [ "$("${PODMAN[@]}" image inspect --format '{{ index .Config.Labels "zexa.base.recipe" }}' "$IMAGE")" = "$RECIPE" ]; then
  log "$IMAGE is present (recipe $RECIPE)"
  exit 0
fi

env_changes=(--change "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
if [ -n "$CAFILE" ] && [ "$CAFILE" != null ] && [ "$CAFILE" != undefined ]; then
  env_changes+=(--change "ENV NODE_EXTRA_CA_CERTS=$CAFILE" --change "ENV npm_config_cafile=$CAFILE")
fi

if ! [ -s "$TARBALL" ]; then
  command -v debootstrap >/dev/null || { log "debootstrap missing: apt-get install debootstrap"; exit 1; }
  mkdir -p "$CACHE"
  work="$(mktemp -d "${TMPDIR:-/tmp}/zexa-base-XXXXXX")"
  trap 'rm -rf "$work"' EXIT
  root="$work/root"

  log "debootstrap --variant=minbase $SUITE (about 25 s on a quiet machine)"
  debootstrap --variant=minbase "$SUITE" "$root" >"$work/debootstrap.log" 2>&1 || {
    tail -20 "$work/debootstrap.log" >&2
    exit 1
  }
  # What slim images drop too: the downloaded packages and the package lists.
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*

  # Node.js from the registry's `node` package, shared with .ci/run's cache of the same major.
  node_prefix="$CACHE/node-$NODE_MAJOR"
  if ! [ -x "$node_prefix/node_modules/.bin/node" ]; then
    log "fetching node@$NODE_MAJOR from the npm registry into $node_prefix"
    rm -rf "$node_prefix"
    npm install --prefix "$node_prefix" --no-audit --no-fund --no-save "node@$NODE_MAJOR" >&2
  fi
  install -D -m 0755 "$(readlink -f "$node_prefix/node_modules/.bin/node")" "$root/usr/local/bin/node"

  log "fetching npm@$NPM_MAJOR from the npm registry"
  (cd "$work" && npm pack --silent "npm@$NPM_MAJOR" >/dev/null)
  mkdir -p "$root/usr/local/lib/node_modules/npm"
  tar -xzf "$work"/npm-*.tgz -C "$root/usr/local/lib/node_modules/npm" --strip-components=1
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"

  chroot "$root" groupadd --gid 1000 node
  chroot "$root" useradd --uid 1000 --gid node --shell /bin/bash --create-home node

  if [[ "${env_changes[*]}" == *NODE_EXTRA_CA_CERTS* ]]; then install -D -m 0644 "$CAFILE" "$root$CAFILE"; fi

  # The engine provides /dev, /proc and /sys; debootstrap's device nodes stay out of the image.
  log "writing $TARBALL"
  tar -C "$root" --numeric-owner --exclude=./dev/* --exclude=./proc/* --exclude=./sys/* -cf "$TARBALL.part" .
  mv "$TARBALL.part" "$TARBALL"
  # Tarballs of older recipes are of no further use.
  find "$CACHE" -maxdepth 1 -name "node-$NODE_MAJOR-$SUITE-slim-standin-*.tar" ! -name "$(basename "$TARBALL")" -delete
fi

log "importing $TARBALL as $IMAGE"
"${PODMAN[@]}" import --quiet --change 'CMD ["node"]' "${env_changes[@]}" --change "LABEL zexa.base.recipe=$RECIPE" \
  "$TARBALL" "$IMAGE" >/dev/null
"${PODMAN[@]}" run --rm --network host --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 "$IMAGE" \
  sh -c 'echo "image-base: $(node --version), npm $(npm --version), $(id node)"' >&2
