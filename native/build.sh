#!/usr/bin/env bash
# Builds libleviathan_cuda.so from every src/*.cu with nvcc: machine code for sm_80 and sm_90 plus compute_90
# PTX, the CUDA runtime linked statically so the process carries exactly one runtime (ours).
#
# Also builds leviathan_cuda_check next to it, a program that runs every kernel on a GPU against its host twin.
#
# Usage: native/build.sh [--required]
#   --required (or LEVIATHAN_NATIVE_REQUIRED=true): fail when nvcc is absent instead of skipping.
# Environment: NVCC (the compiler, default nvcc on the PATH), LEVIATHAN_NATIVE_JOBS (parallel compiles,
# default the number of CPUs), LEVIATHAN_NATIVE_OUT (output folder, default native/target/native).
# Objects are rebuilt only when their .cu or any header is newer, so a second build costs one link.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
required="${LEVIATHAN_NATIVE_REQUIRED:-false}"
for arg in "$@"; do
  case "$arg" in
    --required) required=true ;;
    --required=*) required="${arg#--required=}" ;;
    *) echo "build.sh: unknown argument: $arg" >&2; exit 2 ;;
  esac
done

nvcc="${NVCC:-nvcc}"
if ! command -v "$nvcc" >/dev/null 2>&1; then
  if [ "$required" = "true" ]; then
    echo "nvcc not found on the PATH, and the CUDA library is required (leviathan.native.required=true)" >&2
    exit 1
  fi
  echo "nvcc not found on the PATH: the CUDA library is not built; the CPU backend is unaffected"
  exit 0
fi

out="${LEVIATHAN_NATIVE_OUT:-$here/target/native}"
lib_dir="$out/linux-x86_64"
obj_dir="$out/obj"
mkdir -p "$lib_dir" "$obj_dir"

arch_flags=(
  -gencode arch=compute_80,code=sm_80
  -gencode arch=compute_90,code=sm_90
  -gencode arch=compute_90,code=compute_90
)
# -fmad=false and -ffp-contract=off: no fused multiply-add unless the source asks for one (fmaf), so a
# kernel, its host twin and the Java CPU backend round the same operations the same way.
flags=(-O3 -std=c++17 -fmad=false -Xcompiler -fPIC -Xcompiler -ffp-contract=off -cudart static
       -I"$here/include" -I"$here/src" --expt-relaxed-constexpr -Werror all-warnings)

shopt -s nullglob
sources=("$here"/src/*.cu)
headers=("$here"/include/*.h "$here"/src/*.cuh)
if [ ${#sources[@]} -eq 0 ]; then
  echo "build.sh: no sources in $here/src" >&2
  exit 1
fi

# Newest header time: any header change rebuilds every object (they are few and headers are shared).
newest_header=0
for h in "${headers[@]}"; do
  t=$(stat -c %Y "$h")
  [ "$t" -gt "$newest_header" ] && newest_header=$t
done

stale=()
for src in "${sources[@]}"; do
  obj="$obj_dir/$(basename "${src%.cu}").o"
  if [ ! -f "$obj" ] || [ "$src" -nt "$obj" ] || [ "$newest_header" -gt "$(stat -c %Y "$obj")" ]; then
    stale+=("$src")
  fi
done

start=$(date +%s)
jobs="${LEVIATHAN_NATIVE_JOBS:-$(nproc)}"
if [ ${#stale[@]} -gt 0 ]; then
  echo "nvcc: compiling ${#stale[@]} of ${#sources[@]} sources ($jobs at a time)"
  export nvcc obj_dir
  export flags_joined="${flags[*]} ${arch_flags[*]}"
  printf '%s\n' "${stale[@]}" | xargs -P "$jobs" -I{} bash -c '
    src="$1"; obj="$obj_dir/$(basename "${src%.cu}").o"
    # shellcheck disable=SC2086
    "$nvcc" $flags_joined -c "$src" -o "$obj.tmp" && mv "$obj.tmp" "$obj" || { rm -f "$obj.tmp"; echo "nvcc failed on $src" >&2; exit 255; }
  ' _ {}
fi

objects=()
for src in "${sources[@]}"; do objects+=("$obj_dir/$(basename "${src%.cu}").o"); done
# Drop objects whose source is gone so a renamed file cannot leave stale symbols behind.
for obj in "$obj_dir"/*.o; do
  base="$(basename "${obj%.o}")"
  [ -f "$here/src/$base.cu" ] || rm -f "$obj"
done

lib="$lib_dir/libleviathan_cuda.so"
# The version script exports the lv_* ABI only: the static CUDA runtime and CUB's instantiations stay private.
"$nvcc" -shared -cudart static "${arch_flags[@]}" -Xcompiler -fPIC \
  -Xlinker --version-script="$here/src/exports.map" "${objects[@]}" -o "$lib.tmp"
mv "$lib.tmp" "$lib"

# The GPU self-check: every kernel against its host twin on the device (check/device_check.cpp). It links
# against the library and carries no CUDA runtime of its own.
check="$lib_dir/leviathan_cuda_check"
"$nvcc" -O2 -std=c++17 -cudart none -Xcompiler -Wall,-Wextra -Werror all-warnings -I"$here/include" "$here/check/device_check.cpp" -L"$lib_dir" -lleviathan_cuda \
  -Xlinker -rpath='$ORIGIN' -o "$check.tmp"
mv "$check.tmp" "$check"
echo "built $lib and $check in $(( $(date +%s) - start )) s"
