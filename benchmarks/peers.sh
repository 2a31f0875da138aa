#!/usr/bin/env bash
# Leviathan against its peers (./leviathan bench --peers [--quick] [--out DIR]): builds the benchmarks with
# the Deep Java Library profile (-Ppeers, a reactor package, nothing installed), then runs
#   1. our training step: the dense djl model (seq 256 and 1024) and its iso-body Leviathan twin, both with
#      uniform and Zipf ids, and the small preset at the o200k vocabulary against its twin (seq 128),
#      TrainingStepBenchmark;
#   2. the same dense model through DJL 0.36 / PyTorch 2.7.1, DjlTrainingStepBenchmark, in JMH runs of its own
#      with tcmalloc preloaded (DJL's recommended setting; JMH forks inherit the environment, so ours runs without);
#   (the training steps one JMH fork at a time, the sides of each ratio taking turns fork by fork);
#   3. our GEMM against OpenBLAS at the shapes the djl model's step multiplies at seq 256, each with the
#      transpose the step uses it with (nn and nt: forward and input gradients, M = tokens; tn: weight
#      gradients, K = tokens), 1 and 2 threads;
# each writing JMH JSON into DIR, and merges them with PeersReport into DIR/report.md and DIR/report.png.
# Default about 35-45 minutes (three forks per training step; the report lists their spread), --quick (seq 256 only,
# one fork, short iterations, no small preset) about 4. JAVA_HOME must point at a JDK 25.
# Run it on a quiet machine: on an oversubscribed one PyTorch's OpenMP threads lose far more than our pool
# (2 cores at load 10: DJL 62 s per step by default, 11 s with OMP_NUM_THREADS=1; ours 13 s).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
QUICK=0
OUT="$ROOT/benchmarks/target/peers"
ARGS_SEEN=("$@")
while [ $# -gt 0 ]; do
  case "$1" in
    --peers) ;;
    --quick) QUICK=1 ;;
    --out) [ $# -ge 2 ] || { echo "bench --peers: --out needs a folder" >&2; exit 2; }; OUT="$2"; shift ;;
    -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench --peers: unknown option $1 (valid: --quick, --out DIR)" >&2; exit 2 ;;
  esac
  shift
done
JAVA="${JAVA_HOME:?set JAVA_HOME to a JDK 25}/bin/java"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
rm -f "$OUT"/*.json

echo "bench --peers: building the benchmarks with -Ppeers..." >&2
"$ROOT/mvnw" -B -q -f "$ROOT/pom.xml" -Ppeers -DskipTests -pl benchmarks -am package >&2
JAR="$ROOT/benchmarks/target/benchmarks.jar"
FLAGS=(--add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED)
JMH=("$JAVA" "${FLAGS[@]}" -jar "$JAR")

if [ "$QUICK" = 1 ]; then
  SEQS=256
  FORKS=1
  ITER=(-wi 1 -w 2s -i 2 -r 3s)
  TWIN_ITER=("${ITER[@]}")
  NN=2048x256x688
  NT=2048x688x256
  TN=256x2048x688
  THREADS=1
  GEMM_ITER=(--warmup 1 --iterations 2)
else
  SEQS=256,1024
  # three forks per case: each fork compiles the step afresh, and this machine's speed drifts by up to 20 % over
  # minutes; the cases compared with each other run fork by fork in turn (below), so a slow spell hits both sides
  FORKS=3
  # three forks per case: each fork compiles the step afresh, and one fork's plan moved the dense step between
  # 291 and 336 ms here (iterations within a fork agree within 2 %), which moves a twin/dense ratio by 0.1
  ITER=(-wi 3 -w 5s -i 3 -r 5s)
  # the twin's generator kernels take several seconds to compile (first warm-up step 6 s here); a fork whose
  # warm-up ends too early can settle on a worse plan (seen once: 881 ms against 482 on a rerun)
  TWIN_ITER=(-wi 5 -w 5s -i 3 -r 5s)
  # MxKxN as the step calls them (StepProfile lists the calls): the LM head, the SwiGLU and attention
  # projections; tn is X^T dY, so its K is the 2048 tokens of the batch
  NN=2048x8192x256,2048x256x688,2048x688x256,2048x256x256
  NT=2048x256x8192,2048x256x688,2048x688x256,2048x256x256
  TN=8192x2048x256,688x2048x256,256x2048x688,256x2048x256
  THREADS=1
  [ "$(nproc)" -ge 2 ] && THREADS=1,2
  GEMM_ITER=(--warmup 2 --iterations 3)
fi

# The GEMM target is OpenBLAS's AVX-512 kernel. An OPENBLAS_CORETYPE in the environment that names an older
# family would lower that bar (one machine here exported OPENBLAS_CORETYPE=Haswell to every process: 96-110
# GFLOP/s a thread against 169-208 for the Cooperlake kernel OpenBLAS chose itself on that Zen 5). So on a CPU
# with AVX-512 the GEMM runs drop it, and OpenBLAS detects the core, unless it names an AVX-512 family.
BLAS_ENV=(env)
CORETYPE="${OPENBLAS_CORETYPE:-}"
case "${CORETYPE,,}" in
  ""|skylakex|cooperlake|sapphirerapids) ;;
  *)
    if grep -qw avx512f /proc/cpuinfo 2>/dev/null; then
      echo "bench --peers: ignoring OPENBLAS_CORETYPE=$OPENBLAS_CORETYPE for the GEMM runs: this CPU has AVX-512," \
        "and the target is OpenBLAS's AVX-512 kernel" >&2
      BLAS_ENV=(env -u OPENBLAS_CORETYPE)
    fi ;;
esac

TCMALLOC=/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4
PRELOAD=none
if [ -f "$TCMALLOC" ]; then
  PRELOAD="$TCMALLOC"
else
  echo "bench --peers: $TCMALLOC not found (Debian: apt-get install libtcmalloc-minimal4); DJL runs with glibc malloc" >&2
fi

# Each training step case runs one JMH fork at a time (-f 1, a file per fork), and the cases that a ratio compares
# take turns: for each fork, each (seq, ids) runs the dense model then its twin, and each seq DJL's step. A drift of
# the machine's speed then lands on both sides of a ratio instead of on whichever ran during it. PeersReport merges
# a case's fork files (NAME-forkN.json) into one result, scored as JMH scores several forks: their mean.
# JMH's include is a regular expression found anywhere in the name: anchor at the dot, or it also matches
# DjlTrainingStepBenchmark and runs DJL here, without its allocator.
djl_step() { # $1 seq, $2 fork
  if [ "$PRELOAD" = none ]; then
    "${JMH[@]}" 'DjlTrainingStepBenchmark.step$' -p seq="$1" -f 1 "${ITER[@]}" -rf json -rff "$OUT/djl-s$1-fork$2.json"
  else
    LD_PRELOAD="$PRELOAD" "${JMH[@]}" 'DjlTrainingStepBenchmark.step$' -p seq="$1" -f 1 "${ITER[@]}" \
      -rf json -rff "$OUT/djl-s$1-fork$2.json"
  fi
}
for FORK in $(seq 1 "$FORKS"); do
  for SEQ in ${SEQS//,/ }; do
    for IDS in zipf uniform; do
      echo "bench --peers: fork $FORK of $FORKS, seq $SEQ, $IDS ids: our dense step, then its Leviathan twin..." >&2
      "${JMH[@]}" '\.TrainingStepBenchmark\.step$' -p model=djl -p seq="$SEQ" -p ids="$IDS" -f 1 "${ITER[@]}" \
        -rf json -rff "$OUT/ours-dense-s$SEQ-$IDS-fork$FORK.json"
      "${JMH[@]}" '\.TrainingStepBenchmark\.step$' -p model=leviathan -p seq="$SEQ" -p ids="$IDS" -f 1 \
        "${TWIN_ITER[@]}" -rf json -rff "$OUT/ours-leviathan-s$SEQ-$IDS-fork$FORK.json"
    done
    echo "bench --peers: fork $FORK of $FORKS, seq $SEQ: Deep Java Library's step (LD_PRELOAD=$PRELOAD)..." >&2
    djl_step "$SEQ" "$FORK"
  done
  if [ "$QUICK" = 0 ]; then
    for IDS in zipf uniform; do
      echo "bench --peers: fork $FORK of $FORKS: the small preset (o200k vocabulary), $IDS ids, and its twin..." >&2
      "${JMH[@]}" '\.TrainingStepBenchmark\.step$' -p model=small,small-leviathan -p seq=128 -p ids="$IDS" -f 1 \
        "${TWIN_ITER[@]}" -rf json -rff "$OUT/ours-small-$IDS-fork$FORK.json"
    done
  fi
done

echo "bench --peers: GEMM against OpenBLAS..." >&2
for TRANS in nn nt tn; do
  case "$TRANS" in nn) SHAPES="$NN" ;; nt) SHAPES="$NT" ;; tn) SHAPES="$TN" ;; esac
  "${BLAS_ENV[@]}" "$JAVA" "${FLAGS[@]}" -cp "$JAR" io.leviathan.benchmarks.MatmulReport --shapes "$SHAPES" --trans "$TRANS" \
    --threads "$THREADS" "${GEMM_ITER[@]}" --out "$OUT/matmul-$TRANS.md" --json "$OUT/matmul-$TRANS.json"
done

"${BLAS_ENV[@]}" "$JAVA" "${FLAGS[@]}" -cp "$JAR" io.leviathan.benchmarks.PeersReport --dir "$OUT" \
  --command "./leviathan bench ${ARGS_SEEN[*]}" --djl-preload "$PRELOAD"
