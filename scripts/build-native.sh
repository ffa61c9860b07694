#!/usr/bin/env bash
# Builds the core as native firmware (docs/runtimes.md):
#   build/core.wasm --wasm2c--> build/native/ferry-core.{c,h}
#   + native/board.c native/elf.c native/serve.c native/core-world.c + wasm2c's runtime
#   --gcc -O2--> build/native/ferry-native
# How the core's memory accesses are bounds-checked (docs/runtimes.md, "Bounds checks"),
# FERRY_NATIVE_BOUNDS:
#   guard     (default) by the MMU: guard pages around the linear memory and a SIGSEGV
#             handler (wasm2c's own default on 64-bit hosts); into build/native/
#   explicit  a compare before every access (WASM_RT_MEMCHECK_SIGNAL_HANDLER=0): no
#             guard pages, no address-space reservation, as a target without an MMU
#             needs; into build/native-explicit/
#
# Usage: bash scripts/build-native.sh [core.wasm]   (default build/core.wasm, the release build)
# Environment: CC (default gcc), WASM2C_RUNTIME_DIR (where wasm-rt-impl.c lives),
# FERRY_NATIVE_BOUNDS.
set -euo pipefail
cd "$(dirname "$0")/.."

core=${1:-build/core.wasm}
cc=${CC:-gcc}
bounds=${FERRY_NATIVE_BOUNDS:-guard}
case "$bounds" in
  guard) out=build/native; memcheck=1 ;;
  explicit) out=build/native-explicit; memcheck=0 ;;
  *) echo "build:native: FERRY_NATIVE_BOUNDS must be guard or explicit, not '$bounds'" >&2; exit 1 ;;
esac

for tool in wasm2c "$cc"; do
  if ! command -v "$tool" >/dev/null; then
    echo "build:native: $tool not found (on Debian: apt-get install wabt gcc)" >&2
    exit 1
  fi
done
if [ ! -f "$core" ]; then
  echo "build:native: $core is not built yet: run \`npm run build:core\`" >&2
  exit 1
fi

# wabt's runtime is not on the compiler's include path: find it beside wasm2c.
runtime=${WASM2C_RUNTIME_DIR:-}
if [ -z "$runtime" ]; then
  prefix=$(dirname "$(dirname "$(command -v wasm2c)")")
  for dir in "$prefix/share/wabt/wasm2c" /usr/share/wabt/wasm2c /usr/local/share/wabt/wasm2c; do
    if [ -f "$dir/wasm-rt-impl.c" ]; then runtime=$dir; break; fi
  done
fi
if [ -z "$runtime" ] || [ ! -f "$runtime/wasm-rt-impl.c" ]; then
  echo "build:native: cannot find wasm2c's runtime (wasm-rt-impl.c); set WASM2C_RUNTIME_DIR" >&2
  exit 1
fi

mkdir -p "$out/obj"
# Build in a private directory and move the results into place file by file (each
# mv is atomic): test runs and benchmarks may build and run ferry-native at once.
tmp=$(mktemp -d "$out/.build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/obj"
# -n fixes the symbol prefix (Z_ferry_core...) whatever the file is called.
wasm2c "$core" -n ferry_core -o "$tmp/ferry-core.c"
# One object per part, so bench:size can say what the firmware's text is made of:
# the core (ferry-core.o), wasm2c's runtime (wasm-rt-impl.o), the board (board.o, elf.o,
# serve.o, core-world.o).
cflags=(-O2 -std=gnu11 -DWASM_RT_MEMCHECK_SIGNAL_HANDLER=$memcheck -I"$tmp" -I"$runtime" -Inative)
pids=()
for source in "$tmp/ferry-core.c" "$runtime/wasm-rt-impl.c" native/board.c native/elf.c native/serve.c native/core-world.c; do
  "$cc" "${cflags[@]}" -c "$source" -o "$tmp/obj/$(basename "$source" .c).o" &
  pids+=($!)
done
for pid in "${pids[@]}"; do wait "$pid"; done
"$cc" -o "$tmp/ferry-native" "$tmp"/obj/{ferry-core,wasm-rt-impl,board,elf,serve,core-world}.o -lm

mv -f "$tmp/ferry-core.c" "$tmp/ferry-core.h" "$out/"
mv -f "$tmp"/obj/*.o "$out/obj/"
mv -f "$tmp/ferry-native" "$out/ferry-native"
echo "build:native: $out/ferry-native ($(wc -c < "$out/ferry-native") bytes, $bounds bounds checks) from $core"
