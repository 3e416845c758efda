#!/usr/bin/env bash
# Turns the output of `pbft keygen` into what kustomization.yaml applies: cluster/ next to this
# script, holding
#   public.yaml   ConfigMap pbft-config: cluster.yaml and tls/ca.crt (public keys and certificates)
#   secrets.yaml  one Secret pbft-replica-<i> per replica: signing.key (keys/replica-<i>.key), and
#                 tls.crt, tls.key (tls/replica-<i>.crt, .key) when keygen wrote TLS files
#   size.yaml     n and f from cluster.yaml: StatefulSet replicas, PodDisruptionBudget
#                 maxUnavailable, the Role's list of Secret names; and checksums of the two files
#                 above in the pod template, so that `kubectl apply -k` rolls the pods when they change
#
#   ./pbft keygen --replicas 4 --clients 8 --out /secure/pbft \
#       --hosts pbft-0.pbft-peers,pbft-1.pbft-peers,pbft-2.pbft-peers,pbft-3.pbft-peers --base-port 7000 \
#       --metrics-base-port 9464 --metrics-host 0.0.0.0
#   deploy/kubernetes/make-secrets.sh /secure/pbft
#   kubectl apply -k deploy/kubernetes
#
# Never read: DIR/tls/ca.key (the CA's key stays offline) and the client keys (they belong to the
# clients, not to the replicas). cluster/ holds private keys: it is ignored by git and written
# readable by its owner only; delete it once applied if this machine should not keep them.
set -euo pipefail
umask 077

if [ "$#" -ne 1 ] || [ "$1" = "-h" ] || [ "$1" = "--help" ]; then
  echo "usage: $0 DIR   (DIR: what 'pbft keygen --out DIR' wrote)" >&2
  exit 2
fi
dir="$1"
here="$(cd "$(dirname "$0")" && pwd)"
out="$here/cluster"
yaml="$dir/cluster.yaml"

die() { echo "make-secrets: $*" >&2; exit 2; }

[ -f "$yaml" ] || die "$yaml does not exist (run 'pbft keygen --out $dir ...' first)"

# n and f as keygen writes them: a top-level 'f: F' line and one '- id: I' item per replica,
# 'replicas:' coming before 'clients:'
f="$(sed -n 's/^f: *\([0-9][0-9]*\) *$/\1/p' "$yaml")"
[ -n "$f" ] || die "$yaml has no 'f: F' line"
n="$(awk '/^replicas:/ {r = 1; next} /^[^ -]/ {r = 0} r && /^- id:/ {c++} END {print c + 0}' "$yaml")"
[ "$n" -ge 1 ] || die "$yaml lists no replicas"
[ "$n" -ge $((3 * f + 1)) ] || die "$yaml: n = $n replicas cannot tolerate f = $f (n must be >= 3f + 1)"

# Each pod finds its peers at pbft-<i>.pbft-peers and its key where kube-init writes it.
for ((i = 0; i < n; i++)); do
  grep -Eq "^  address: pbft-$i\\.pbft-peers(\\.[a-z0-9.-]+)?:[0-9]+\$" "$yaml" \
    || die "$yaml: replica $i is not at pbft-$i.pbft-peers:PORT (give keygen --hosts pbft-0.pbft-peers,...,pbft-$((n - 1)).pbft-peers)"
  grep -q "^  keyFile: keys/replica-$i\\.key\$" "$yaml" \
    || die "$yaml: replica $i's keyFile is not keys/replica-$i.key, where the pod's kube-init writes it"
  [ -f "$dir/keys/replica-$i.key" ] || die "$dir/keys/replica-$i.key does not exist"
done
port="$(sed -n 's/^  address: pbft-0\.pbft-peers[^:]*:\([0-9][0-9]*\)$/\1/p' "$yaml")"
[ "$port" = 7000 ] || die "$yaml: replicas listen on port $port; the manifests use 7000 (keygen --base-port 7000)"
if grep -q '^  metrics: ' "$yaml"; then
  grep -Eq '^  metrics: 0\.0\.0\.0:9464$' "$yaml" \
    || die "$yaml: metrics must be 0.0.0.0:9464 in a pod (keygen --metrics-base-port 9464 --metrics-host 0.0.0.0)"
fi

tls=no
if [ -d "$dir/tls" ]; then
  tls=yes
  [ -f "$dir/tls/ca.crt" ] || die "$dir/tls/ca.crt does not exist"
  for ((i = 0; i < n; i++)); do
    for ext in crt key; do
      [ -f "$dir/tls/replica-$i.$ext" ] || die "$dir/tls/replica-$i.$ext does not exist"
    done
  done
else
  echo "make-secrets: no $dir/tls: this keygen wrote no TLS files; the Secrets hold the signing keys only" >&2
fi

b64() { base64 -w0 < "$1"; }
indent() { sed 's/^/    /' "$1"; }

rm -rf "$out"
mkdir -p "$out"

{
  echo "# written by make-secrets.sh from $yaml: public keys and certificates only"
  echo "apiVersion: v1"
  echo "kind: ConfigMap"
  echo "metadata:"
  echo "  name: pbft-config"
  echo "  labels:"
  echo "    app.kubernetes.io/name: pbft"
  echo "data:"
  echo "  cluster.yaml: |"
  indent "$yaml"
  if [ "$tls" = yes ]; then
    echo "  ca.crt: |"
    indent "$dir/tls/ca.crt"
  fi
} > "$out/public.yaml"

{
  echo "# written by make-secrets.sh from $dir: replica i's private keys, one Secret each"
  for ((i = 0; i < n; i++)); do
    echo "---"
    echo "apiVersion: v1"
    echo "kind: Secret"
    echo "metadata:"
    echo "  name: pbft-replica-$i"
    echo "  labels:"
    echo "    app.kubernetes.io/name: pbft"
    echo "type: Opaque"
    echo "data:"
    echo "  signing.key: $(b64 "$dir/keys/replica-$i.key")"
    if [ "$tls" = yes ]; then
      echo "  tls.crt: $(b64 "$dir/tls/replica-$i.crt")"
      echo "  tls.key: $(b64 "$dir/tls/replica-$i.key")"
    fi
  done
} > "$out/secrets.yaml"

config_sum="$(sha256sum < "$out/public.yaml" | cut -d' ' -f1)"
secrets_sum="$(sha256sum < "$out/secrets.yaml" | cut -d' ' -f1)"
names=""
for ((i = 0; i < n; i++)); do
  names="$names${names:+, }\"pbft-replica-$i\""
done

cat > "$out/size.yaml" <<YAML
# written by make-secrets.sh from $yaml: n = $n, f = $f
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: pbft
spec:
  replicas: $n
  template:
    metadata:
      annotations:
        pbft.io/config-sha256: "$config_sum"
        pbft.io/secrets-sha256: "$secrets_sum"
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: pbft
spec:
  maxUnavailable: $f
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: pbft-replica-secrets
rules:
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["get"]
  resourceNames: [$names]
YAML

echo "make-secrets: wrote $out for n = $n replicas (f = $f, TLS files: $tls)"
echo "make-secrets: next: kubectl apply -k $here   (cluster/ holds private keys; it is not in git)"
