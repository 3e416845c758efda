#!/usr/bin/env bash
# Builds the pbft image (default tag pbft:local) from cli/target/pbft.jar, building the jar first
# when it is missing or older than the sources (as ./pbft does), on the base image pbft-base:local
# (made by docker/build-base-image.sh when it is not there yet).
#
#   docker/build-image.sh
#   BASE_IMAGE=eclipse-temurin:17-jre TAG=pbft:dev docker/build-image.sh    # with a registry
#
# The build context is a staging folder holding only what the Dockerfile copies, so no .git or
# target/ folder is sent to the engine.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
TAG="${TAG:-pbft:local}"
BASE_IMAGE="${BASE_IMAGE:-pbft-base:local}"
jar="$root/cli/target/pbft.jar"

command -v docker >/dev/null || { echo "build-image: docker is not on the PATH" >&2; exit 2; }

stale() {
  [ ! -f "$jar" ] && return 0
  [ -n "$(find "$root" -path '*/target' -prune -o -path '*/.git' -prune -o -path "$root/docker" -prune -o \
      \( -path '*/src/*' -o -name pom.xml \) -type f -newer "$jar" -print -quit)" ]
}
if stale; then
  echo "build-image: building $jar" >&2
  log="$(mktemp "${TMPDIR:-/tmp}/pbft-build.XXXXXX")"
  if ! (cd "$root" && mvn -B -q -ntp -DskipTests install -pl cli -am) >"$log" 2>&1; then
    sed 's/\x1b\[[0-9;]*m//g' "$log" >&2
    rm -f "$log"
    echo "build-image: the Maven build failed (see above)" >&2
    exit 1
  fi
  rm -f "$log"
fi

if [ "$BASE_IMAGE" = "pbft-base:local" ] && ! docker image inspect pbft-base:local >/dev/null 2>&1; then
  bash "$here/build-base-image.sh"
fi

ctx="$(mktemp -d "${TMPDIR:-/tmp}/pbft-image.XXXXXX")"
trap 'rm -rf "$ctx"' EXIT
mkdir -p "$ctx/context/cli/target" "$ctx/context/docker/native"
cp "$jar" "$ctx/context/cli/target/pbft.jar"
cp -r "$here/rootfs" "$ctx/context/docker/rootfs"
cp "$here/Dockerfile" "$ctx/context/docker/Dockerfile"
# Native libraries the jar bundles for linux-x86_64 (glibc), unpacked once here so that a replica
# loads them from /opt/pbft/native instead of unpacking them from the jar at every start (RocksDB's
# takes ~3 s). Without them (a plain `docker build`) the replica still works, only starts slower.
jar_tool="jar"
command -v jar >/dev/null 2>&1 || jar_tool="${JAVA_HOME:-/usr/lib/jvm/java-17-openjdk-amd64}/bin/jar"
mapfile -t natives < <("$jar_tool" tf "$jar" | grep -E '^lib[^/]*-linux64\.so$' || true)
if [ "${#natives[@]}" -gt 0 ]; then
  (cd "$ctx/context/docker/native" && "$jar_tool" xf "$jar" "${natives[@]}")
fi

# The classic builder needs nothing beyond the engine; BuildKit needs the buildx plugin.
if [ -z "${DOCKER_BUILDKIT:-}" ] && ! docker buildx version >/dev/null 2>&1; then
  export DOCKER_BUILDKIT=0
fi
start=$(date +%s)
if ! docker build -q -f "$ctx/context/docker/Dockerfile" --build-arg "BASE_IMAGE=$BASE_IMAGE" -t "$TAG" "$ctx/context" \
    >"$ctx/build.log" 2>&1; then
  cat "$ctx/build.log" >&2
  echo "build-image: docker build failed (see above)" >&2
  exit 1
fi
# the image this tag named before, if any, is now dangling: remove it (only pbft images)
docker image prune -f --filter "label=org.opencontainers.image.title=pbft" >/dev/null 2>&1 || true
echo "build-image: $TAG built in $(( $(date +%s) - start )) s, $(docker image inspect "$TAG" --format '{{.Size}}' | awk '{printf "%.0f MB", $1 / 1e6}')" >&2
