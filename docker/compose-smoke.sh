#!/usr/bin/env bash
# Runs the README's docker-compose steps end to end: keys for containers, the 4-replica cluster
# (profile honest, then profile traitor), a put and a get from the host with `pbft kv`, `pbft
# status` agreement, and `down`. Needs the image pbft:local (docker/build-image.sh) and
# docker-compose; publishes 127.0.0.1:7000-7003, or the first free run of four ports from 17000,
# 27000, 37000. Removes everything it started, also on failure.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
jar="$root/cli/target/pbft.jar"
pbft() { java -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -jar "$jar" "$@"; }

compose=(docker-compose)
if ! command -v docker-compose >/dev/null 2>&1; then
  compose=(docker compose)
fi
export COMPOSE_PROJECT_NAME=pbft-smoke
dir="$(mktemp -d "${TMPDIR:-/tmp}/pbft-compose.XXXXXX")"
chmod 755 "$dir"   # the replicas (uid 10001) read cluster.yaml through the bind mount
export PBFT_CLUSTER_DIR="$dir"
cleanup() {
  "${compose[@]}" --profile honest --profile traitor down -v --remove-orphans >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap cleanup EXIT

wait_healthy() { # until `pbft status` answers for all four replicas and they agree, at most 90 s
  local deadline=$((SECONDS + 90))
  until pbft status --config "$dir/cluster-host.yaml" --timeout-ms 1000 >/dev/null 2>&1; do
    if [ $SECONDS -ge $deadline ]; then
      echo "compose-smoke: the cluster did not come up within 90 s" >&2
      "${compose[@]}" --profile honest --profile traitor ps >&2 || true
      "${compose[@]}" --profile honest --profile traitor logs --tail=30 >&2 || true
      return 1
    fi
    sleep 0.5
  done
}

in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
base=""
for candidate in 7000 17000 27000 37000; do
  if ! in_use "$candidate" && ! in_use $((candidate + 1)) && ! in_use $((candidate + 2)) && ! in_use $((candidate + 3)); then
    base=$candidate
    break
  fi
done
[ -n "$base" ] || { echo "compose-smoke: no free run of 4 ports on 127.0.0.1" >&2; exit 1; }
export PBFT_PORT0=$base PBFT_PORT1=$((base + 1)) PBFT_PORT2=$((base + 2)) PBFT_PORT3=$((base + 3))

pbft keygen --replicas 4 --clients 8 --out "$dir" --force \
  --hosts replica0,replica1,replica2,replica3 --base-port 7000 --published-base-port "$base" >/dev/null
# the replicas run as uid 10001 and read their own keys only (Ed25519 and TLS)
if [ "$(id -u)" = 0 ]; then
  chown 10001:10001 "$dir"/keys/replica-*.key "$dir"/tls/replica-*.key
else
  sudo -n chown 10001:10001 "$dir"/keys/replica-*.key "$dir"/tls/replica-*.key \
    || { echo "compose-smoke: run as root (or with passwordless sudo): replica keys must belong to uid 10001" >&2; exit 1; }
fi

for profile in honest traitor; do
  start=$SECONDS
  if ! "${compose[@]}" --profile "$profile" up -d >"$dir/up.log" 2>&1; then
    cat "$dir/up.log" >&2
    echo "compose-smoke: docker-compose up failed" >&2
    exit 1
  fi
  wait_healthy
  echo "compose-smoke: profile $profile up and answering in $((SECONDS - start)) s"
  pbft kv --config "$dir/cluster-host.yaml" --client 0 put colour "$profile" >/dev/null
  got="$(pbft kv --config "$dir/cluster-host.yaml" --client 1 get colour)"
  [ "$got" = "$profile" ] || { echo "compose-smoke: get colour returned '$got', expected '$profile'" >&2; exit 1; }
  pbft status --config "$dir/cluster-host.yaml"
  if [ "$profile" = traitor ]; then
    "${compose[@]}" --profile traitor logs replica3-traitor 2>&1 | grep -c TRAITOR >/dev/null \
      || { echo "compose-smoke: replica 3 did not run as a traitor" >&2; exit 1; }
  fi
  "${compose[@]}" --profile honest --profile traitor down -v >/dev/null 2>&1
done
echo "compose-smoke: ports 127.0.0.1:$base-$((base + 3))"
echo "compose-smoke: ok"
