#!/usr/bin/env bash
# What can be checked of a pod's life without Kubernetes: renders these manifests, takes the
# shell commands the pods run (kube-init, replica, liveness, readiness) from the StatefulSet,
# and runs them with /bin/sh on this machine as four "pods" pbft-0..3, with POD_NAME set as the
# downward API sets it. A stand-in for the API server serves the Secrets pbft-replica-<i>;
# cluster.yaml names 127.0.0.1 ports instead of pbft-i.pbft-peers (no cluster DNS here). Then:
# every pod's directory holds its own key only; all four are healthy and ready; with one
# stopped the others take load and it is not healthy; restarted, it becomes ready once caught
# up (whether it is seen unready first depends on how fast it catches up).
#
#   deploy/kubernetes/check-on-loopback.sh     # needs cli/target/pbft.jar, kubectl, python3 with PyYAML
#
# Not run by CI (four replica JVMs; the manifests' invariants are KubernetesManifestsTest).
# Ports 17200..17203 and 17299 must be free. Stops everything it started.
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
jar="${PBFT_JAR:-$repo/cli/target/pbft.jar}"
kubectl="${KUBECTL:-kubectl}"
[ -f "$jar" ] || { echo "check-on-loopback: no $jar (mvn -o -q package -DskipTests -pl cli -am)" >&2; exit 2; }
work="$(mktemp -d /tmp/pbft-k8s-loopback.XXXXXX)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
cd "$work"
fail() { echo "check-on-loopback: FAILED: $*" >&2; exit 1; }

# 1. Render as an operator would (keygen for the pod names, make-secrets.sh, kubectl kustomize)
mkdir manifests
cp "$repo"/deploy/kubernetes/*.yaml "$repo"/deploy/kubernetes/make-secrets.sh manifests/
java -jar "$jar" --log-level OFF keygen --replicas 4 --clients 2 --out rendered-keys \
  --hosts pbft-0.pbft-peers,pbft-1.pbft-peers,pbft-2.pbft-peers,pbft-3.pbft-peers --base-port 7000 \
  --metrics-base-port 9464 --metrics-host 0.0.0.0 >/dev/null
bash manifests/make-secrets.sh rendered-keys >/dev/null 2>&1
"$kubectl" kustomize manifests > rendered.yaml

# 2. The pods' commands, with the image's paths pointed at this machine
python3 - "$jar" <<'PY'
import sys, yaml
docs = [d for d in yaml.safe_load_all(open("rendered.yaml")) if d]
pod = [d for d in docs if d["kind"] == "StatefulSet"][0]["spec"]["template"]["spec"]
init, replica = pod["initContainers"][0], pod["containers"][0]
def local(script):
    return (script.replace("/opt/pbft/pbft.jar", sys.argv[1])
            .replace("/etc/pbft-public", "$PUB").replace("/etc/pbft", "$ETC"))
scripts = {
    "init": local(init["command"][2]) + " --service-account $SA --api-server $API",
    "replica": local(replica["command"][2]),
    "health": local(replica["livenessProbe"]["exec"]["command"][2]),
    "ready": local(replica["readinessProbe"]["exec"]["command"][2]),
}
for name, script in scripts.items():
    open(name + ".sh", "w").write(script + "\n")
PY

# 3. Keys for loopback, and the stand-in API server
java -jar "$jar" --log-level OFF keygen --replicas 4 --clients 8 --out keys --base-port 17200 >/dev/null
mkdir sa public && echo check-token > sa/token && echo pbft > sa/namespace && cp keys/cluster.yaml public/
cat > api.py <<'PY'
import base64, http.server, json, os, sys
class Api(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        prefix = "/api/v1/namespaces/pbft/secrets/pbft-replica-"
        key = None
        if self.path.startswith(prefix) and self.headers.get("Authorization") == "Bearer check-token":
            key = os.path.join("keys", "keys", "replica-%s.key" % self.path[len(prefix):])
        if key is None or not os.path.isfile(key):
            self.send_response(404); self.end_headers(); return
        body = json.dumps({"kind": "Secret", "data": {"signing.key": base64.b64encode(open(key, "rb").read()).decode()}}).encode()
        self.send_response(200); self.send_header("Content-Length", str(len(body))); self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args): pass
http.server.HTTPServer(("127.0.0.1", 17299), Api).serve_forever()
PY
python3 api.py & pids+=($!)
sleep 1
export PUB="$work/public" SA="$work/sa" API=http://127.0.0.1:17299

pod() { # pod I SCRIPT [ARGS...]: SCRIPT as pod pbft-I would run it (exec: in the background, $! is the JVM)
  local i=$1 script=$2; shift 2
  POD_NAME=pbft-$i ETC="$work/pod-$i/etc" PBFT_CONFIG="$work/pod-$i/etc/cluster.yaml" \
    PBFT_DATA_DIR="$work/pod-$i/data" PBFT_LISTEN=0.0.0.0 PBFT_HEAP=512m PBFT_JAVA_OPTS="-XX:TieredStopAtLevel=1" \
    exec nice -n 10 /bin/sh -c "$(cat "$script")" "$@"
}
start() { pod "$1" replica.sh pbft replica >> "replica-$1.log" 2>&1 & pids+=($!); replica_pid[$1]=$!; }
declare -a replica_pid

for i in 0 1 2 3; do
  (pod $i init.sh) >/dev/null
  got="$(cd "pod-$i/etc" && find . -type f | sort | tr '\n' ' ')"
  [ "$got" = "./cluster.yaml ./keys/replica-$i.key " ] || fail "pod $i's directory holds: $got"
  [ "$(stat -c %a "pod-$i/etc/keys/replica-$i.key")" = 600 ] || fail "pod $i's key is not mode 600"
done
echo "check-on-loopback: kube-init: each pod's directory holds cluster.yaml and its own key (mode 600) only"

for i in 0 1 2 3; do start $i; done
for i in 0 1 2 3; do
  ok=no
  for t in $(seq 1 30); do
    if (pod $i health.sh) >/dev/null 2>&1 && (pod $i ready.sh) >/dev/null 2>&1; then ok=yes; break; fi
    sleep 2
  done
  [ $ok = yes ] || fail "pod $i not healthy and ready after 60 s (see $work/replica-$i.log)"
done
echo "check-on-loopback: all four pods healthy and ready"

kill "${replica_pid[2]}"; wait "${replica_pid[2]}" 2>/dev/null || true
(pod 2 health.sh) >/dev/null 2>&1 && fail "a stopped replica is healthy"
java -Xmx256m -jar "$jar" --log-level WARN bench --config keys/cluster.yaml --clients 8 --duration 10 --warmup 2 \
  > bench.out 2>&1 || { cat bench.out >&2; fail "bench against three replicas"; }
grep 'end view' bench.out
start 2
sleep 3
out="$(pod 2 ready.sh 2>&1)" || true
echo "check-on-loopback: restarted pod 2, 3 s later: $out"
ok=no
for t in $(seq 1 30); do
  if out="$(pod 2 ready.sh 2>&1)"; then ok=yes; break; fi
  sleep 2
done
[ $ok = yes ] || fail "restarted pod 2 did not become ready within 60 s: $out"
echo "check-on-loopback: restarted pod 2, then: $out"
echo "check-on-loopback: OK"
