#!/usr/bin/env bash
# Builds pbft-base:local, a small Java runtime image, from the JDK on this machine: no registry
# needed. It holds a jlink'd runtime at /opt/java/openjdk (the path eclipse-temurin images use),
# the shared libraries `ldd` lists for it, /bin/sh (dash, for the image's entrypoint), a writable
# /tmp, and /etc/passwd and /etc/group entries for the non-root user pbft (uid and gid 10001).
#
#   docker/build-base-image.sh                 # JAVA_HOME or /usr/lib/jvm/java-17-openjdk-amd64
#   JDK=/path/to/jdk TAG=my-base:1 docker/build-base-image.sh
#
# Environment: JDK (a JDK 17+ with jmods/), TAG (default pbft-base:local), JAR (default
# cli/target/pbft.jar when it exists: the libraries its bundled linux-x86_64 native code links
# against are added too, e.g. RocksDB's), MODULES (comma-separated
# list of modules; default below, which covers pbft.jar: `jdeps --print-module-deps` on it also
# names java.desktop and java.compiler, reached only through optional code paths of SnakeYAML,
# Jackson and annotation-only classes).
set -euo pipefail

TAG="${TAG:-pbft-base:local}"
JDK="${JDK:-}"
if [ -z "$JDK" ]; then
  if [ -d /usr/lib/jvm/java-17-openjdk-amd64/jmods ]; then
    JDK=/usr/lib/jvm/java-17-openjdk-amd64
  elif [ -n "${JAVA_HOME:-}" ] && [ -d "$JAVA_HOME/jmods" ]; then
    JDK="$JAVA_HOME"
  else
    echo "build-base-image: no JDK with jmods/ found; set JDK=/path/to/jdk" >&2
    exit 2
  fi
fi
[ -x "$JDK/bin/jlink" ] && [ -d "$JDK/jmods" ] || { echo "build-base-image: $JDK has no bin/jlink or jmods/" >&2; exit 2; }
command -v docker >/dev/null || { echo "build-base-image: docker is not on the PATH" >&2; exit 2; }
MODULES="${MODULES:-java.base,java.logging,java.management,java.naming,java.net.http,java.security.jgss,java.sql,java.xml,jdk.crypto.ec,jdk.management,jdk.unsupported}"

work="$(mktemp -d "${TMPDIR:-/tmp}/pbft-base.XXXXXX")"
trap 'rm -rf "$work"' EXIT
root="$work/rootfs"
mkdir -p "$root"

echo "build-base-image: jlink $MODULES from $JDK" >&2
"$JDK/bin/jlink" --add-modules "$MODULES" --output "$root/opt/java/openjdk" \
  --strip-debug --no-header-files --no-man-pages --compress=2
# A class data sharing archive makes every JVM start (replicas, health checks) faster.
"$root/opt/java/openjdk/bin/java" -Xshare:dump -version >/dev/null 2>&1 || true

# Shared libraries: whatever ldd lists for the launcher, the JVM, the runtime's own libraries, dash
# and the jar's native code (extracted to /tmp at run time), plus the rest of glibc's family and
# the C++ runtime, which native code in jars commonly needs.
libs() {
  ldd "$@" 2>/dev/null | awk '/=> \//{print $3} /^[ \t]*\/[^ ]+ \(/{print $1}' | sort -u
}
objects=("$root"/opt/java/openjdk/bin/* "$root"/opt/java/openjdk/lib/*.so "$root"/opt/java/openjdk/lib/server/*.so)
dash_bin="$(command -v dash)"
objects+=("$dash_bin")
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
JAR="${JAR:-$here/../cli/target/pbft.jar}"
if [ -f "$JAR" ]; then
  JAR="$(cd "$(dirname "$JAR")" && pwd)/$(basename "$JAR")"
  mkdir -p "$work/native"
  # glibc x86-64 builds only: not musl, not other architectures or systems
  mapfile -t natives < <("$JDK/bin/jar" tf "$JAR" | grep -E '(linux64|x86[_-]64|amd64)[^/]*\.so$' | grep -v musl || true)
  if [ "${#natives[@]}" -gt 0 ]; then
    (cd "$work/native" && "$JDK/bin/jar" xf "$JAR" "${natives[@]}")
    while IFS= read -r so; do objects+=("$so"); done < <(find "$work/native" -name '*.so' -type f)
  fi
  echo "build-base-image: native code in $(basename "$JAR"): ${natives[*]:-none}" >&2
fi
extra=()
for lib in libc.so.6 libm.so.6 libpthread.so.0 libdl.so.2 librt.so.1 libresolv.so.2 libz.so.1 \
    libstdc++.so.6 libgcc_s.so.1; do
  # awk reads to the end (no early exit): under pipefail a reader that stops early leaves
  # ldconfig with SIGPIPE, and the failed substitution would end the script.
  path="$(ldconfig -p 2>/dev/null | awk -v l="$lib" '$1 == l && /x86-64|64bit/ && !found {found = $NF} END {print found}')"
  [ -n "$path" ] && extra+=("$path")
done
for so in $(libs "${objects[@]}") "${extra[@]}"; do
  mkdir -p "$root$(dirname "$so")"
  cp -L "$so" "$root$so"
done
mkdir -p "$root/bin"
cp -L "$dash_bin" "$root/bin/sh"

# /etc: users, name resolution (Docker mounts /etc/hosts and /etc/resolv.conf at run time).
mkdir -p "$root/etc" "$root/tmp" "$root/home/pbft" "$root/pbft/config" "$root/pbft/data"
chmod 1777 "$root/tmp"
cat >"$root/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
pbft:x:10001:10001:pbft:/home/pbft:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/sh
EOF
cat >"$root/etc/group" <<'EOF'
root:x:0:
pbft:x:10001:
nogroup:x:65534:
EOF
echo 'hosts: files dns' >"$root/etc/nsswitch.conf"
chown 10001:10001 "$root/home/pbft" "$root/pbft/data" 2>/dev/null || true

echo "build-base-image: importing $(du -sh "$root" | cut -f1) as $TAG" >&2
tar -C "$root" --numeric-owner -cf - . | docker import \
  --change 'ENV JAVA_HOME=/opt/java/openjdk' \
  --change 'ENV PATH=/opt/java/openjdk/bin:/usr/local/bin:/usr/bin:/bin' \
  --change 'ENV LANG=C.UTF-8' \
  --change 'CMD ["java", "-version"]' \
  --message "pbft base image: jlink runtime from $JDK ($MODULES)" \
  - "$TAG" >/dev/null
# sed reads all its input: `head -1` would exit early and, under pipefail, the SIGPIPE it leaves
# the docker client with (exit 141) would fail the script.
docker run --rm "$TAG" java -version 2>&1 | sed -n 1p >&2
docker image ls "$TAG" --format 'build-base-image: {{.Repository}}:{{.Tag}} {{.Size}}' >&2
