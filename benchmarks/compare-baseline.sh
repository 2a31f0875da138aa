#!/usr/bin/env bash
# Runs benchmarks side by side: the code at BASE (default 7b92424, before the device-ready core) and the
# working tree. The baseline's benchmarks are built in a temporary worktree with benchmarks/baseline/*.java
# (the same benchmarks written against that commit's API) copied in. Usage:
#   benchmarks/compare-baseline.sh [BASE] [JMH args...]     e.g. benchmarks/compare-baseline.sh 7b92424 TrainingStepBenchmark -prof gc
# The default JMH args pin TrainingStepBenchmark to the baseline's djl setting (seq 256, Zipf ids; the baseline
# ignores parameters it lacks); for the small model pass "TrainingStepBenchmark -p model=small -p seq=128".
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BASE="${1:-7b92424}"; shift || true
if [ $# -gt 0 ]; then ARGS=("$@"); else ARGS=(TrainingStepBenchmark -p model=djl -p seq=256 -p ids=zipf); fi
JAVA_HOME="${JAVA_HOME:-$(ls -d /usr/lib/jvm/*25* 2>/dev/null | head -1)}"
export JAVA_HOME
WT="$(mktemp -d)/baseline"
trap 'git -C "$ROOT" worktree remove --force "$WT" >/dev/null 2>&1 || true' EXIT
git -C "$ROOT" worktree add -q --detach "$WT" "$BASE"
cp "$ROOT"/benchmarks/baseline/*.java "$WT/benchmarks/src/main/java/io/leviathan/benchmarks/"
(cd "$WT" && ./mvnw -q -B -o -DskipTests -pl benchmarks -am package) >&2
(cd "$ROOT" && ./mvnw -q -B -o -DskipTests -pl benchmarks -am package) >&2
FLAGS=(--add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED)
OUT="${COMPARE_OUT:-$ROOT/benchmarks/target/compare}"
mkdir -p "$OUT"
for round in 1 2; do   # alternate, so drift on a noisy machine hits both sides
  "$JAVA_HOME/bin/java" "${FLAGS[@]}" -jar "$WT/benchmarks/target/benchmarks.jar" "${ARGS[@]}" -rff "$OUT/baseline-$round.csv" >&2
  "$JAVA_HOME/bin/java" "${FLAGS[@]}" -jar "$ROOT/benchmarks/target/benchmarks.jar" "${ARGS[@]}" -rff "$OUT/current-$round.csv" >&2
done
echo "results: $OUT/{baseline,current}-{1,2}.csv"
for f in "$OUT"/baseline-*.csv "$OUT"/current-*.csv; do echo "== $(basename "$f")"; cat "$f"; done
