#!/usr/bin/env bash
# The one-shot GPU check. Runs on the GPU machine from the repository root, with the bundle that
# gpu/bundle.sh built (target/gpu-bundle.tar.xz, or the unpacked target/gpu-bundle/):
#
#   bash gpu/check.sh            # everything, about 6 minutes
#   bash gpu/check.sh --dry-run  # the same steps on the CPU (--device cpu, tiny shapes): checks the script
#   bash gpu/check.sh --only abi,cuda-tests   # a rerun of some groups: probe, abi, kernels, cuda-tests, bench, train
#
# Steps: nvidia-smi; the bundle's runtime; the CUDA libraries (PyTorch's nvidia wheels); the availability
# probe; the ABI checks against the headers and the loaded libraries' symbols; the kernel library's own
# self-check (every kernel against its host twin); every CUDA test (-Dleviathan.cuda.required=true); GEMM, attention,
# generator and training-step benchmarks (ours, then PyTorch's at the same shapes); 200 training steps on
# CUDA and on the CPU from one seed, compared. A failing step is recorded and the next one runs; the exit
# status is 1 if any step failed. Results go to $OUT (else target/gpu-results/) as they are written:
#   check.log      every step's output       summary.txt   the closing table (also printed last)
#   steps.tsv      step, status, seconds, key figure
#   figures.jsonl  every benchmark figure, ours ("impl": "leviathan") and PyTorch's ("impl": "torch")
#   details.tar.gz JUnit reports, the training runs' metrics and configs, each step's log
# Environment: CHECK_BUDGET_S (default 560: fits a 600 s run with the cuDNN steps) caps the whole check; steps that no longer fit are skipped.
set -u

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
DRY=0
ONLY=""
GROUPS_VALID="probe abi kernels cuda-tests bench train"
while [ $# -gt 0 ]; do
  case "$1" in
    --dry-run) DRY=1 ;;
    --only)
      ONLY=",${2:-},"; shift
      for g in ${ONLY//,/ }; do
        case " $GROUPS_VALID " in *" $g "*) ;; *) echo "check: --only: unknown group '$g'; valid: ${GROUPS_VALID// /, }" >&2; exit 2 ;; esac
      done ;;
    -h|--help) sed -n '2,20p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "check: unexpected argument '$1'; valid: --dry-run, --only GROUP[,GROUP...]" >&2; exit 2 ;;
  esac
  shift
done
# want GROUP: whether this run includes GROUP (every group without --only)
want() { [ -z "$ONLY" ] || [[ "$ONLY" == *",$1,"* ]]; }

RES="${OUT:-$ROOT/target/gpu-results}"
mkdir -p "$RES"
LOG="$RES/check.log"; STEPS="$RES/steps.tsv"; FIG="$RES/figures.jsonl"; SUMMARY="$RES/summary.txt"
: > "$LOG"; : > "$STEPS"; : > "$FIG"
WORK="$(mktemp -d /tmp/leviathan-gpu-check.XXXXXX)"
BUDGET="${CHECK_BUDGET_S:-560}"
B="$ROOT/target/gpu-bundle"
START=$(date +%s)
FAILED=0
if [ "$DRY" = 1 ]; then DEVICE=cpu; CUDA_REQUIRED=false; else DEVICE=cuda; CUDA_REQUIRED=true; fi
# what the steps (run in child shells, below) read
export ROOT B WORK FIG DEVICE DRY CUDA_REQUIRED
export JAVA="$B/jdk/bin/java" CP="$B/lib/*"

log() { printf '%s\n' "$*" | tee -a "$LOG"; }
elapsed() { echo $(( $(date +%s) - START )); }

# run_step NAME LIMIT_S COMMAND...: runs COMMAND (a program or an exported function) with its output in
# check.log and $WORK/NAME.log, within LIMIT_S seconds and what is left of the budget. `record` follows.
run_step() {
  local name="$1" limit="$2"; shift 2
  local left=$(( BUDGET - $(elapsed) )) t0
  LAST_NAME="$name"; LAST_SECONDS=0; SKIPPED=0
  if [ "$left" -lt 10 ]; then
    log ""; log "=== $name: skipped, the check's budget of ${BUDGET}s is spent"
    : > "$WORK/$name.log"; LAST_RC=124; SKIPPED=1
    return 124
  fi
  [ "$limit" -gt "$left" ] && limit=$left
  log ""; log "=== $name (limit ${limit}s, $(elapsed)s into the check)"
  t0=$(date +%s)
  # timeout signals the whole process group it starts, so a step's JVMs and Python go with it
  timeout --kill-after=10 "$limit" bash -c '"$@"' step "$@" 2>&1 | tee -a "$LOG" > "$WORK/$name.log"
  LAST_RC=${PIPESTATUS[0]}
  LAST_SECONDS=$(( $(date +%s) - t0 ))
  return "$LAST_RC"
}

# record [FIGURE]: the last step's line in steps.tsv, its status from its exit code.
record() {
  local status=ok figure="${1:-}"
  if [ "$SKIPPED" = 1 ]; then status=SKIPPED; figure="time budget spent"; FAILED=1
  elif [ "$LAST_RC" = 124 ] || [ "$LAST_RC" = 137 ]; then status=TIMEOUT; FAILED=1
  elif [ "$LAST_RC" != 0 ]; then status="FAIL($LAST_RC)"; FAILED=1; fi
  figure="$(printf '%s' "$figure" | tr '\t\n' '  ' | cut -c1-160)"
  printf '%s\t%s\t%s\t%s\n' "$LAST_NAME" "$status" "$LAST_SECONDS" "$figure" >> "$STEPS"
  log "--- $LAST_NAME: $status in ${LAST_SECONDS}s${figure:+: $figure}"
}

# jrun ARGS...: the bundle's Java with the flags every run needs (our kernel library named explicitly).
jrun() {
  local native=()
  [ -f "$B/native/libleviathan_cuda.so" ] && native=(-Dleviathan.cuda.library="$B/native/libleviathan_cuda.so")
  "$JAVA" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -Xss4m -XX:+UseParallelGC \
    -Djava.awt.headless=true -Dleviathan.cuda.required="$CUDA_REQUIRED" "${native[@]}" "$@"
}
export -f jrun

# ------------------------------------------------------------------------------------------------ the machine
machine() {
  if [ "$DRY" = 1 ]; then
    uname -a; nproc; free -g | head -2
    command -v nvidia-smi >/dev/null && nvidia-smi -L || echo "no nvidia-smi (dry run)"
  else
    nvidia-smi && nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.max.sm --format=csv
  fi
}
export -f machine
run_step machine 30 machine
if [ "$DRY" = 1 ]; then record "dry run on $(nproc) CPUs"
else record "$(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null | head -1)"; fi

# ------------------------------------------------------------------------------------------------ the bundle
unpack() {
  if [ -x "$B/jdk/bin/java" ]; then
    echo "bundle already unpacked at $B"
  elif [ -f "$ROOT/target/gpu-bundle.tar.xz" ]; then
    if command -v xz >/dev/null 2>&1; then
      tar -C "$ROOT/target" -xJf "$ROOT/target/gpu-bundle.tar.xz" || return 1
    else  # Python's tarfile reads xz without the xz tool
      python3 -c 'import sys, tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2])' \
        "$ROOT/target/gpu-bundle.tar.xz" "$ROOT/target" || return 1
    fi
  else
    echo "no target/gpu-bundle.tar.xz and no target/gpu-bundle/: run gpu/bundle.sh here and carry its archive"
    return 1
  fi
  head -6 "$B/MANIFEST.txt"
  "$JAVA" -version
}
export -f unpack
run_step bundle 60 unpack
record "$(sed -n 2p "$B/MANIFEST.txt" 2>/dev/null)"
if [ ! -x "$JAVA" ]; then
  log "no Java runtime: nothing further can run"
  python3 "$ROOT/gpu/compare.py" table "$STEPS" "$FIG" | tee "$SUMMARY"
  exit 1
fi

# ------------------------------------------------------------------------------------------------ libraries
# PyTorch's virtualenv holds cuBLAS, cuBLASLt, cuDNN and NCCL as pip wheels (nvidia/*/lib in site-packages).
# Discovery looks under $VIRTUAL_ENV and in the site-packages of the python3 on the PATH; LD_LIBRARY_PATH also
# lets the system loader find them by versioned name.
PY="$(command -v python3 || true)"
if [ -z "${VIRTUAL_ENV:-}" ]; then
  for v in /opt/torch/.venv "$(dirname "$(dirname "${PY:-/none/bin/python3}")")"; do
    if [ -f "$v/pyvenv.cfg" ]; then export VIRTUAL_ENV="$v"; break; fi
  done
fi
SITE="$(timeout 20 python3 -c 'import site; print(site.getsitepackages()[0])' 2>/dev/null || true)"
WHEEL_LIBS=""
if [ -n "$SITE" ] && [ -d "$SITE/nvidia" ]; then
  for d in "$SITE"/nvidia/*/lib; do [ -d "$d" ] && WHEEL_LIBS="$WHEEL_LIBS${WHEEL_LIBS:+:}$d"; done
fi
[ -n "$WHEEL_LIBS" ] && export LD_LIBRARY_PATH="$WHEEL_LIBS${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export PY SITE WHEEL_LIBS
libraries() {
  echo "python3: ${PY:-none}; VIRTUAL_ENV=${VIRTUAL_ENV:-unset}; site-packages: ${SITE:-none}"
  echo "nvidia wheel library folders: ${WHEEL_LIBS:-none}"
  local found=0 lib hit d
  for lib in libcuda.so.1 libcublas.so.13 libcublasLt.so.13 libcudnn.so.9 libnccl.so.2 libnvrtc.so.13; do
    hit="$(ldconfig -p 2>/dev/null | awk -v l="$lib" '$1 == l {print $NF; exit}')"
    for d in ${WHEEL_LIBS//:/ }; do [ -z "$hit" ] && [ -e "$d/$lib" ] && hit="$d/$lib"; done
    printf '  %-22s %s\n' "$lib" "${hit:-not found}"
    [ -n "$hit" ] && found=$((found + 1))
  done
  if [ -f "$B/native/libleviathan_cuda.so" ]; then
    printf '  %-22s %s\n' libleviathan_cuda.so "$B/native/libleviathan_cuda.so"; found=$((found + 1))
  else
    echo "  libleviathan_cuda.so   not in the bundle (was nvcc present where it was built?)"
  fi
  echo "$found of 7 found"
  [ "$DRY" = 1 ] || [ "$found" = 7 ]
}
export -f libraries
run_step libraries 30 libraries
record "$(tail -1 "$WORK/libraries.log")"

# ------------------------------------------------------------------------------------------------ the probe
if want probe; then
  run_step probe 60 jrun -cp "$CP" io.leviathan.cli.Main info
  record "$(grep -iE '^\s*cuda' "$WORK/probe.log" | head -1 | tr -s ' ')"
fi

# ------------------------------------------------------------------------------------------------ ABI
# Our binding tables (io.leviathan.bindings.cuda.CudaBindingTables) against the headers, compiled: cuda.h of the
# toolkit, our leviathan_cuda.h, cuBLAS's headers from the wheel (absent where the bundle was built); then every
# bound symbol looked up in the libraries the search really loads (versioned names such as cuMemAlloc_v2).
abi_headers() {
  local args=() d
  for d in /usr/local/cuda/include "$ROOT/native/include" "$SITE"/nvidia/*/include; do
    [ -d "$d" ] && args+=(--include "$d")
  done
  # on the GPU machine a table the compiler could not check is a failure, not a skip
  [ "$DRY" = 1 ] || args+=(--require "CUDA driver" --require "Leviathan CUDA library (probe)"
                           --require "Leviathan CUDA library" --require "cuBLASLt" --require "cuBLAS"
                           --require "cuDNN")
  jrun -cp "$CP" io.leviathan.bindings.cuda.CudaHeaderCheck "${args[@]}" --out "$WORK/header-check"
}
export -f abi_headers
if want abi; then
  run_step abi-headers 120 abi_headers
  record "$(grep -cE '^(OK|PASSED)' "$WORK/abi-headers.log") ok, $(grep -c '^FAILED' "$WORK/abi-headers.log") failed, $(grep -c '^SKIPPED' "$WORK/abi-headers.log") skipped"
  run_step abi-symbols 60 jrun -cp "$CP" io.leviathan.bindings.cuda.CudaSymbolCheck
  record "$(grep -c 'MISSING\|NOT FOUND' "$WORK/abi-symbols.log") missing of $(( $(wc -l < "$WORK/abi-symbols.log") - 1 )) rows"
fi

# ------------------------------------------------------------------------------------------------ kernels
# The kernel library's self-check (native/check/device_check.cpp; no Java): every kernel on the GPU against its
# host twin on the same random data, at small, odd and large shapes.
kernels() {
  if [ ! -x "$B/native/leviathan_cuda_check" ]; then
    echo "no native/leviathan_cuda_check in the bundle (nvcc absent where it was built?)"; return 1
  fi
  "$B/native/leviathan_cuda_check"
}
export -f kernels
if want kernels; then
  run_step kernels 120 kernels
  record "$(tail -1 "$WORK/kernels.log")"
fi

# ------------------------------------------------------------------------------------------------ CUDA tests
# Every test class whose name contains Cuda or ends in DeviceTest (the kernels against their host twins on the
# GPU). Each module's tests run from that module's folder, as surefire runs them. With -Dleviathan.cuda.required=true
# a CUDA test that would skip fails instead (the dry run leaves it false: the tests must be found and skip).
cuda_tests() {
  local rc=0 t m dir
  for t in "$B"/tests/*/; do
    m="$(basename "$t")"
    dir="$ROOT/$m"; [ -d "$dir" ] || dir="$t"
    echo "--- $m"
    (cd "$dir" && jrun -cp "$B/junit/console-standalone.jar:$t:$CP" org.junit.platform.console.ConsoleLauncher \
        execute --disable-banner --details=tree --details-theme=ascii --scan-class-path "$t" \
        --include-classname '^(.*Cuda.*|.*DeviceTest)$' --reports-dir "$WORK/junit/$m") || rc=1
  done
  return $rc
}
export -f cuda_tests
if want cuda-tests; then
  run_step cuda-tests 200 cuda_tests
  record "$(python3 - "$WORK/junit" <<'EOF'
import glob, sys, xml.etree.ElementTree as ET
t = f = s = 0
for path in glob.glob(sys.argv[1] + "/*/TEST-*.xml"):
    for case in ET.parse(path).getroot().iter("testcase"):
        t += 1
        f += any(case.find(x) is not None for x in ("failure", "error"))
        s += case.find("skipped") is not None
print(f"{t} tests: {t - f - s} passed, {f} failed, {s} skipped")
EOF
)"
fi

# ------------------------------------------------------------------------------------------------ training
# 200 steps of the tiny Leviathan model on the embedded corpus, bf16 policy, one seed: on CUDA with our attention
# kernel, on CUDA with cuDNN's fused attention, then on the CPU. The first 10 steps' losses of each CUDA run must
# agree with the CPU's within 2 % (bf16 operands, other summation orders); the difference over all 200 steps is
# reported.
if want train; then
  run_step data 90 jrun -cp "$CP" io.leviathan.cli.Main data default --cache "$WORK/data"
  DATA="$(sed -n 's/^Dataset //p' "$WORK/data.log" | head -1)"
  record "${DATA:-no dataset}"
  TRAIN=(train --data "${DATA:-$WORK/data}" --model tiny --family leviathan --steps 200 --batch 8 --seq 128
         --precision bf16 --seed 7 --set sampleTokens=0 --set evalEvery=0 --set evalBatches=2 --set checkpointEvery=0)
  run_step train-cuda 120 jrun -cp "$CP" io.leviathan.cli.Main "${TRAIN[@]}" --device "$DEVICE" \
    --set attention=native --out "$WORK/run-cuda"
  record "$(grep -o 'done: .*' "$WORK/train-cuda.log" | head -1)"
  # the dry run has no GPU: cuDNN attention there is the CPU's refusal, so it trains with auto (our CPU attention)
  CUDNN_ATT=cudnn; [ "$DRY" = 1 ] && CUDNN_ATT=auto
  run_step train-cudnn 120 jrun -cp "$CP" io.leviathan.cli.Main "${TRAIN[@]}" --device "$DEVICE" \
    --set attention="$CUDNN_ATT" --out "$WORK/run-cudnn"
  record "$(grep -o 'done: .*' "$WORK/train-cudnn.log" | head -1); $(grep -m1 '^attention:' "$WORK/train-cudnn.log")"
  run_step train-cpu 150 jrun -cp "$CP" io.leviathan.cli.Main "${TRAIN[@]}" --device cpu --out "$WORK/run-cpu"
  record "$(grep -o 'done: .*' "$WORK/train-cpu.log" | head -1)"
  run_step agreement 20 python3 "$ROOT/gpu/compare.py" losses "$WORK/run-cuda/metrics.jsonl" \
    "$WORK/run-cpu/metrics.jsonl" --first 10 --rtol 0.02
  grep '^{' "$WORK/agreement.log" >> "$FIG"
  record "$(grep '^first' "$WORK/agreement.log")"
  run_step agreement-cudnn 20 python3 "$ROOT/gpu/compare.py" losses "$WORK/run-cudnn/metrics.jsonl" \
    "$WORK/run-cpu/metrics.jsonl" --first 10 --rtol 0.02
  record "$(grep '^first' "$WORK/agreement-cudnn.log")"
fi

# ------------------------------------------------------------------------------------------------ benchmarks
# bench [JVM flags...] -- [args...]: ours, one JSON line per figure into figures.jsonl
bench() {
  local jvm=()
  while [ $# -gt 0 ] && [ "$1" != -- ]; do jvm+=("$1"); shift; done
  shift
  local quick=(); [ "$DRY" = 1 ] && quick=(--quick)
  # figures reach figures.jsonl as they are printed, so a timeout keeps those measured before it
  jrun "${jvm[@]}" -cp "$CP" io.leviathan.benchmarks.DeviceBenchmarks --device "$DEVICE" "${quick[@]}" "$@" \
    | tee -a "$WORK/bench.out" | grep --line-buffered '^{' >> "$FIG"
  return "${PIPESTATUS[0]}"
}
# PyTorch at the shapes of our figures (its defaults are ours where a figure of ours is missing)
peer() {
  local quick=(); [ "$DRY" = 1 ] && quick=(--quick --steps 2)
  # --like reads our figures first; PyTorch's are appended once it has planned its work
  PYTHONUNBUFFERED=1 python3 "$ROOT/gpu/torch_peer.py" --device "$DEVICE" --like "$FIG" "${quick[@]}" \
    | tee "$WORK/peer.out" | grep --line-buffered '^{' >> "$FIG"
  return "${PIPESTATUS[0]}"
}
export -f bench peer
if want bench; then
  run_step bench-ours 120 bench -- --only gemm,attention,generator,step --attention native
  record "$(grep '"impl": "leviathan"' "$FIG" | grep -vc '"bench": "agreement"') figures"
  # cuDNN's fused attention: attention (bf16) and the training steps again, beside our kernel's figures
  CUDNN_ATT=cudnn; [ "$DRY" = 1 ] && CUDNN_ATT=auto
  run_step bench-ours-cudnn 100 bench -- --only attention,step --attention "$CUDNN_ATT"
  record "$(grep -c '"attention": "'"$CUDNN_ATT"'"' "$FIG") figures with attention $CUDNN_ATT"
  run_step bench-ours-tf32 40 bench -Dleviathan.cuda.tf32=true -- --only gemm --gemm-dtypes f32 --label tf32
  record "$(grep -c '"dtype": "tf32"' "$FIG") tf32 figures"
  run_step bench-torch 120 peer
  record "$(grep -c '"impl": "torch"' "$FIG") figures"
fi

# ------------------------------------------------------------------------------------------------ the end
(cd "$WORK" && tar czf "$RES/details.tar.gz" --ignore-failed-read junit run-cuda/metrics.jsonl run-cuda/config.json \
   run-cudnn/metrics.jsonl run-cpu/metrics.jsonl run-cpu/config.json ./*.log ./*.out 2>/dev/null)
log ""; log "=== summary after $(elapsed)s"
python3 "$ROOT/gpu/compare.py" table "$STEPS" "$FIG" > "$SUMMARY"
tee -a "$LOG" < "$SUMMARY"
rm -rf "$WORK"
exit "$FAILED"
