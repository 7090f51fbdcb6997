# Shared by scripts/test.sh and scripts/demo.sh: finds the toolchain and configures a build.
# Usage: source scripts/common.sh; descent_configure BUILD_DIR [extra cmake args...]

# nvcc lives in /usr/local/cuda/bin on these machines; make AUTO find it even if PATH lacks it.
if ! command -v nvcc >/dev/null 2>&1 && [ -x /usr/local/cuda/bin/nvcc ]; then
  export PATH="/usr/local/cuda/bin:$PATH"
fi

descent_configure() {
  local build_dir=$1
  shift
  local generator=()
  if command -v ninja >/dev/null 2>&1; then generator=(-G Ninja); fi
  # Re-use an existing build directory only if it was made with the same generator.
  if [ -f "$build_dir/CMakeCache.txt" ] && [ ${#generator[@]} -gt 0 ] &&
     ! grep -q 'CMAKE_GENERATOR:INTERNAL=Ninja' "$build_dir/CMakeCache.txt"; then
    rm -rf "$build_dir"
  fi
  cmake -S . -B "$build_dir" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release \
        -DDESCENT_CUDA="${DESCENT_CUDA:-AUTO}" -DDESCENT_MPI="${DESCENT_MPI:-AUTO}" \
        "$@"  # later -D flags override earlier ones
}
