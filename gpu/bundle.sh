#!/usr/bin/env bash
# Builds the GPU check bundle: everything gpu/check.sh needs on a machine with no Java and no network.
#
#   gpu/bundle.sh
#
# Writes target/gpu-bundle/ (for a local dry run) and target/gpu-bundle.tar.xz (what travels; gpu/check.sh
# unpacks it). Inside:
#   jdk/          a jlink'ed JDK runtime with only the modules the jars below need (see MODULES)
#   lib/          the project's jars and every runtime and test dependency (JUnit itself excepted)
#   junit/        JUnit's console launcher (standalone jar, the version of the root pom's JUnit BOM)
#   tests/<m>/    each module's compiled tests, run from that module's folder as surefire would
#   native/       libleviathan_cuda.so and its GPU self-check leviathan_cuda_check, when nvcc built them
#   check.sh, torch_peer.py, compare.py, MANIFEST.txt
# It builds first: `./mvnw -B -o package -DskipTests` plus the dependency copy, in one reactor run so that the
# modules resolve each other's fresh jars (set MVN_OFFLINE= to let Maven download what ~/.m2 lacks).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
OUT_DIR="$ROOT/target/gpu-bundle"
ARCHIVE="$ROOT/target/gpu-bundle.tar.xz"
MAX_MB=40
# The runtime's modules: what jdeps finds the jars below need (checked after the copy), and java.xml for the
# console launcher's XML reports. Left out on purpose: java.desktop, which only the loss plot needs (the trainer
# says it could not draw the plot and carries on; the plotting jars stay behind too), and java.compiler, which
# only JMH's annotation processor needs at build time. That keeps the bundle under its size limit.
MODULES=java.base,java.logging,java.management,java.sql,java.xml,jdk.incubator.vector,jdk.management,jdk.unsupported
OPTIONAL_MODULES=java.desktop,java.compiler
# Dependencies the check never loads: the loss plot's (xchart and what it draws with), build-time ones, and the
# export tests' loaders with everything they bring (DJL's Hugging Face tokenizers: 54 MiB of native libraries;
# Jlama), which only TokenizerJsonTest and JlamaLoadsTheExportTest use.
LEFT_OUT=xchart,VectorGraphics2D,animated-gif-lib,graphics2d,pdfbox,pdfbox-io,fontbox,commons-logging,jmh-generator-annprocess
LEFT_OUT=$LEFT_OUT,tokenizers,api,gson,jna,commons-compress,commons-codec,commons-io
LEFT_OUT=$LEFT_OUT,jlama-core,guava,failureaccess,listenablefuture,jsr305,checker-qual,error_prone_annotations
LEFT_OUT=$LEFT_OUT,j2objc-annotations,jctools-core,jinjava,javassist,re2j,commons-lang3,commons-net,java-ipv6
LEFT_OUT=$LEFT_OUT,annotations,jackson-dataformat-yaml,snakeyaml,big-math,jemoji,jspecify,jafama,slf4j-api

say() { printf 'bundle: %s\n' "$*" >&2; }
die() { printf 'bundle: error: %s\n' "$*" >&2; exit 1; }

for a in "$@"; do
  case "$a" in
    -h|--help) sed -n '2,17p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) die "unexpected argument '$a'; valid: --help" ;;
  esac
done

# ---- a JDK 25 with jlink and jdeps
if [ -z "${JAVA_HOME:-}" ]; then
  for c in /usr/lib/jvm/temurin-25-jdk-amd64 /usr/lib/jvm/*25* /usr/lib/jvm/*; do
    if [ -x "$c/bin/jlink" ] && "$c/bin/java" -version 2>&1 | grep -q 'version "2[5-9]'; then JAVA_HOME="$c"; break; fi
  done
fi
[ -n "${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/jlink" ] && [ -x "$JAVA_HOME/bin/jdeps" ] \
  || die "no JDK 25+ with jlink and jdeps found; set JAVA_HOME"
export JAVA_HOME
[ "$(uname -m)" = x86_64 ] || die "the GPU machine is x86-64 and this is $(uname -m): a jlink'ed runtime from here would not run there"

MVN=("$ROOT/mvnw" -B -q ${MVN_OFFLINE--o})
rm -rf "$OUT_DIR" "$ARCHIVE"
mkdir -p "$OUT_DIR"/{lib,junit,tests,native}

# ---- modules in reactor order, from the root pom
mapfile -t MODULE_DIRS < <(sed -n 's:.*<module>\(.*\)</module>.*:\1:p' pom.xml)
[ "${#MODULE_DIRS[@]}" -gt 0 ] || die "no <module> entries in pom.xml"

# ---- build, and copy every runtime and test dependency: without JUnit (the console launcher brings its own)
# and without our own modules (their jars are copied from target/ below)
say "building: ./mvnw -B ${MVN_OFFLINE--o} package -DskipTests, and copying dependencies"
"${MVN[@]}" package -DskipTests org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies \
  -DincludeScope=test -DexcludeGroupIds=io.leviathan,org.junit.jupiter,org.junit.platform,org.opentest4j,org.apiguardian \
  -DexcludeArtifactIds="$LEFT_OUT" -DoutputDirectory="$OUT_DIR/lib" >&2 || die "the Maven build failed (offline? run once with MVN_OFFLINE= to fetch what is missing)"

# zstd-jni carries its native library for a dozen platforms; the GPU machine needs linux/amd64's alone
for jar in "$OUT_DIR"/lib/zstd-jni-*.jar; do
  [ -e "$jar" ] || continue
  python3 - "$jar" <<'EOF' || die "could not slim $jar"
import os, sys, zipfile
src = sys.argv[1]
tmp = src + ".tmp"
with zipfile.ZipFile(src) as zin, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zout:
    for item in zin.infolist():
        native = item.filename.endswith((".so", ".dll", ".dylib", ".jnilib"))
        if native and not item.filename.startswith("linux/amd64/"):
            continue
        zout.writestr(item, zin.read(item.filename))
os.replace(tmp, src)
EOF
done

for m in "${MODULE_DIRS[@]}"; do
  found=0
  for jar in "$m"/target/*.jar; do
    [ -e "$jar" ] || continue
    case "$(basename "$jar")" in
      original-*|*-sources.jar|*-javadoc.jar|*-tests.jar|benchmarks.jar) continue ;; # benchmarks.jar: shaded copy of lib/
    esac
    cp "$jar" "$OUT_DIR/lib/"; found=1
  done
  [ "$found" = 1 ] || die "module $m has no jar in $m/target after the build"
  if [ -d "$m/target/test-classes" ]; then
    mkdir -p "$OUT_DIR/tests/$m"
    cp -r "$m/target/test-classes/." "$OUT_DIR/tests/$m/"
  fi
done

# ---- JUnit's console launcher: platform 1.x goes with Jupiter 5.x; from JUnit 6 the versions are the same
jupiter="$(sed -n 's:.*<junit.version>\(.*\)</junit.version>.*:\1:p' pom.xml | head -1)"
[ -n "$jupiter" ] || die "no <junit.version> in pom.xml"
case "$jupiter" in
  5.*) platform="1.${jupiter#5.}" ;;
  *) platform="$jupiter" ;;
esac
say "JUnit console launcher $platform (Jupiter $jupiter)"
"${MVN[@]}" org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy \
  -Dartifact="org.junit.platform:junit-platform-console-standalone:$platform" \
  -DoutputDirectory="$OUT_DIR/junit" >&2 || die "could not fetch junit-platform-console-standalone $platform (offline? MVN_OFFLINE=)"
mv "$OUT_DIR"/junit/junit-platform-console-standalone-*.jar "$OUT_DIR/junit/console-standalone.jar"

# ---- our CUDA library, where nvcc built it
so="native/target/native/linux-x86_64/libleviathan_cuda.so"
if [ -f "$so" ]; then
  cp "$so" "$OUT_DIR/native/"
  say "kernel library: $so ($(du -h "$so" | cut -f1))"
  # its GPU self-check, linked to it through $ORIGIN: it stays beside the library
  self_check="$(dirname "$so")/leviathan_cuda_check"
  if [ -x "$self_check" ]; then cp "$self_check" "$OUT_DIR/native/"; else say "no $self_check"; fi
else
  say "no $so (nvcc absent, or the native module not built): the check will report CUDA unavailable"
fi

# ---- the runtime: check that jdeps asks for nothing beyond MODULES (and the deliberately left-out ones);
# trainer/target/lib (the trainer's full runtime, plotting jars included) resolves the trainer module
say "jdeps over lib/, junit/ and tests/"
need="$("$JAVA_HOME/bin/jdeps" --multi-release 25 --ignore-missing-deps --print-module-deps -q \
        --module-path "$OUT_DIR/lib:$ROOT/trainer/target/lib" --class-path "$OUT_DIR/lib/*:$OUT_DIR/junit/*" "$OUT_DIR"/lib/*.jar \
        "$OUT_DIR/junit/console-standalone.jar" "$OUT_DIR"/tests/* 2>&1 | tail -1)" || die "jdeps failed: $need"
case "$need" in java.base*) ;; *) die "jdeps: $need" ;; esac
jdk_modules=",$("$JAVA_HOME/bin/java" --list-modules | sed 's/@.*//' | paste -sd, -),"
missing=""
for mod in ${need//,/ }; do
  case "$jdk_modules" in *",$mod,"*) ;; *) continue ;; esac  # an application module (the plotting jars)
  case ",$MODULES,$OPTIONAL_MODULES," in
    *",$mod,"*) ;;
    *) missing="$missing $mod" ;;
  esac
done
[ -z "$missing" ] || die "jdeps says the jars need module(s)$missing, not in MODULES; add them to gpu/bundle.sh"
say "jdeps: $need (left out on purpose: ${OPTIONAL_MODULES//,/ })"

say "jlink"
"$JAVA_HOME/bin/jlink" --add-modules "$MODULES" --strip-debug --no-header-files --no-man-pages \
  --compress zip-0 --output "$OUT_DIR/jdk" 2> >(grep -v 'Using incubator modules' >&2)
# The JVM library ships with its symbols; the stripped copy runs the same and is a fifth smaller.
if command -v strip >/dev/null 2>&1; then
  strip --strip-unneeded "$OUT_DIR/jdk/lib/server/libjvm.so"
fi
"$OUT_DIR/jdk/bin/java" --add-modules jdk.incubator.vector -version >/dev/null 2>&1 \
  || die "the jlink'ed runtime does not start"

# ---- the scripts, and what is inside
cp gpu/check.sh gpu/torch_peer.py gpu/compare.py "$OUT_DIR/"
{
  echo "Leviathan GPU check bundle"
  echo "built $(date -u +%Y-%m-%dT%H:%M:%SZ) from commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$( [ -n "$(git status --porcelain 2>/dev/null)" ] && echo ' (with uncommitted changes)')"
  echo "runtime: $("$OUT_DIR/jdk/bin/java" -version 2>&1 | head -1); modules $MODULES"
  echo "junit console launcher $platform"
  echo "kernel library: $( [ -f "$OUT_DIR/native/libleviathan_cuda.so" ] && echo present || echo absent)"
  echo "test folders: $(cd "$OUT_DIR/tests" && ls | tr '\n' ' ')"
  echo "jars:"; (cd "$OUT_DIR/lib" && ls | sed 's/^/  /')
} > "$OUT_DIR/MANIFEST.txt"

say "compressing"
tar -C "$ROOT/target" -cf - gpu-bundle | xz -T0 -9 > "$ARCHIVE"
dir_mb=$(du -sm "$OUT_DIR" | cut -f1)
bytes=$(stat -c %s "$ARCHIVE")
mb=$(( (bytes + 1048575) / 1048576 ))
say "target/gpu-bundle/ ${dir_mb} MiB unpacked; target/gpu-bundle.tar.xz $(awk -v b="$bytes" 'BEGIN{printf "%.1f", b/1048576}') MiB"
[ "$mb" -le "$MAX_MB" ] || die "the archive is over ${MAX_MB} MiB: the device tool carries at most 64 MiB with the working tree"
echo "carry: target/gpu-bundle.tar.xz   (run: bash gpu/check.sh)"
