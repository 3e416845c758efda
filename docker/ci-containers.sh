#!/usr/bin/env bash
# The container part of CI (.ci/run calls it after `mvn verify`): makes sure a Docker engine runs
# (installs docker.io and docker-compose and starts dockerd when there is none), builds the base
# image and pbft:local, runs the container tests (tag "container"), then the README's
# docker-compose steps. Stops what it started (dockerd included) and removes every container,
# network and volume the tests or compose made, also on failure.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
started_dockerd=""
state="$(mktemp -d "${TMPDIR:-/tmp}/pbft-ci-docker.XXXXXX")"

cleanup() {
  local rc=$?
  if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
    # what an interrupted test run may have left: containers and networks carry the cluster label
    ids="$(docker ps -aq --filter label=io.pbft.docker.cluster 2>/dev/null || true)"
    [ -n "$ids" ] && docker rm -f -v $ids >/dev/null 2>&1 || true
    nets="$(docker network ls -q --filter label=io.pbft.docker.cluster 2>/dev/null || true)"
    [ -n "$nets" ] && docker network rm $nets >/dev/null 2>&1 || true
  fi
  if [ -n "$started_dockerd" ]; then
    echo "== containers: stopping the dockerd this run started (pid $started_dockerd)"
    kill "$started_dockerd" 2>/dev/null || true
    for _ in $(seq 1 30); do kill -0 "$started_dockerd" 2>/dev/null || break; sleep 1; done
    kill -9 "$started_dockerd" 2>/dev/null || true
  fi
  rm -rf "$state"
  exit $rc
}
trap cleanup EXIT

t0=$SECONDS
if ! docker info >/dev/null 2>&1; then
  if ! command -v dockerd >/dev/null 2>&1 || ! command -v docker-compose >/dev/null 2>&1; then
    echo "== containers: installing docker.io and docker-compose"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq docker.io docker-compose >/dev/null
  fi
  # a pid file left by an engine that is gone (or a zombie) would stop dockerd from starting
  if [ -f /var/run/docker.pid ]; then
    old="$(cat /var/run/docker.pid 2>/dev/null || true)"
    stat="$(ps -o stat= -p "${old:-0}" 2>/dev/null || true)"
    if [ -z "$stat" ] || [[ "$stat" == Z* ]]; then
      rm -f /var/run/docker.pid
    fi
  fi
  echo "== containers: starting dockerd"
  dockerd >"$state/dockerd.log" 2>&1 &
  started_dockerd=$!
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && break
    if ! kill -0 "$started_dockerd" 2>/dev/null; then
      echo "dockerd exited:" >&2; tail -20 "$state/dockerd.log" >&2; exit 1
    fi
    sleep 1
  done
  docker info >/dev/null 2>&1 || { echo "dockerd did not answer within 60 s:" >&2; tail -20 "$state/dockerd.log" >&2; exit 1; }
fi
echo "== containers: engine $(docker version --format '{{.Server.Version}}') ready after $((SECONDS - t0)) s"
if ! command -v docker-compose >/dev/null 2>&1 && ! docker compose version >/dev/null 2>&1; then
  echo "== containers: installing docker-compose"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-compose >/dev/null \
    || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-compose >/dev/null; }
fi

t1=$SECONDS
bash docker/build-base-image.sh
bash docker/build-image.sh
echo "== containers: images built in $((SECONDS - t1)) s"
docker image ls --format '{{.Repository}}:{{.Tag}} {{.Size}}' | grep -E '^pbft(-base)?:local '

echo "== containers: container tests (tag container)"
t2=$SECONDS
TESTCONTAINERS_RYUK_DISABLED=true TESTCONTAINERS_HOST_OVERRIDE=localhost \
  mvn -B -ntp -pl docker -am verify -Dsurefire.excludedGroups= -Dgroups=container -Dpbft.docker.required=true
echo "== containers: container tests took $((SECONDS - t2)) s"

echo "== containers: docker-compose (README steps)"
t3=$SECONDS
bash docker/compose-smoke.sh
echo "== containers: compose smoke took $((SECONDS - t3)) s; all container steps $((SECONDS - t0)) s"
