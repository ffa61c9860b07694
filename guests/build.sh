#!/usr/bin/env bash
# Builds Ferry's guest images into guests/build/*.elf (they are committed).
#
#   bash guests/build.sh            build into guests/build/
#   bash guests/build.sh --check    rebuild into a temp dir and fail (exit 1,
#                                   listing the files) if any image differs
#                                   from the committed one
#   bash guests/build.sh --out DIR  build into DIR instead
#
# Needs clang and ld.lld (Debian: apt-get install -y clang lld llvm; clang 14
# is what the committed images were built with). Without them the build is
# skipped with a message and exit 0 - except `--check` with CI=true, which
# fails, because then nothing would be checked. The guest built by the second
# toolchain (gcc-hello.elf) needs Debian's riscv64-unknown-elf-gcc with
# picolibc (apt-get install -y gcc-riscv64-unknown-elf picolibc-riscv64-unknown-elf);
# without it that one image is skipped the same way.
#
# The build is reproducible: no debug info, no build id, no timestamps, and
# source paths are relative to the repository root (-ffile-prefix-map), so
# the same sources and compiler give the same bytes anywhere.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

CHECK=0
OUT="guests/build"
while [ $# -gt 0 ]; do
  case "$1" in
    --check) CHECK=1 ;;
    --out) OUT="$2"; shift ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    *) echo "guests/build.sh: unknown argument: $1" >&2; exit 2 ;;
  esac
  shift
done

CC="${CLANG:-clang}"
if ! command -v "$CC" >/dev/null 2>&1 || ! command -v ld.lld >/dev/null 2>&1; then
  if [ "$CHECK" = 1 ] && [ "${CI:-}" = "true" ]; then
    echo "guests/build.sh: ERROR: clang/ld.lld not found; --check cannot verify the guest images in CI" >&2
    echo "guests/build.sh: install them with: apt-get install -y clang lld llvm" >&2
    exit 1
  fi
  echo "guests/build.sh: SKIPPED: clang and/or ld.lld not found (apt-get install -y clang lld llvm);"
  echo "guests/build.sh: the committed images in guests/build/ are left as they are."
  exit 0
fi

# Iteration counts of the CPU benchmark guests (cpu.elf, cpu-small.elf).
# shellcheck source=cpu/iterations.sh
. guests/cpu/iterations.sh

# Guests are built for rv32imac, as embedded toolchains build firmware: compressed
# instructions wherever they fit. The CPU benchmark is built uncompressed too
# (MARCH_UNCOMPRESSED), to compare the two.
MARCH=rv32imac
MARCH_UNCOMPRESSED=rv32im
CFLAGS=(
  --target=riscv32 -mabi=ilp32 -mcmodel=medany -mno-relax
  -O2 -g0 -std=gnu11 -Wall -Wextra -Werror
  -ffreestanding -fno-builtin -fno-common -fno-pic -fno-stack-protector
  -fno-asynchronous-unwind-tables -fno-unwind-tables
  -ffunction-sections -fdata-sections
  "-ffile-prefix-map=$ROOT/="
  -Iguests/lib
)
LDFLAGS=(
  -nostdlib -fuse-ld=lld -Wl,-T,guests/lib/link.ld
  -Wl,--build-id=none -Wl,--gc-sections -Wl,--no-undefined
)

LIB_COMMON=(guests/lib/start.S guests/lib/console.c guests/lib/string.c guests/lib/divdi3.c)
LIB_SBI=("${LIB_COMMON[@]}" guests/lib/runtime_sbi.c)               # paravirtual
LIB_VIRT=("${LIB_COMMON[@]}" guests/lib/runtime_virt.c guests/lib/htif.c)  # machine
# The guest RTOS (guests/rtos/) and the control application on it (guests/control/).
RTOS=(-Iguests/rtos guests/rtos/task.c guests/rtos/sched.c guests/rtos/time.c)
CONTROL=(guests/control/control.c guests/control/plant.c guests/control/pid.c
         guests/control/fixed.c guests/control/link.c)

if [ "$CHECK" = 1 ]; then
  DEST="$(mktemp -d "${TMPDIR:-/tmp}/ferry-guests.XXXXXX")"
  trap 'rm -rf "$DEST"' EXIT
else
  DEST="$OUT"
  mkdir -p "$DEST"
fi

# Checks that NAME.elf was built with compressed instructions iff WANT is 1
# (EF_RISCV_RVC = 0x1 in e_flags), so that neither build of a guest is mislabelled.
check_rvc() {
  local name="$1" want="$2" flags
  flags="$(od -An -tx4 -j36 -N4 "$DEST/$name.elf" | tr -d ' ')"
  if [ $((16#$flags & 1)) -ne "$want" ]; then
    echo "guests/build.sh: $name.elf: EF_RISCV_RVC is $((16#$flags & 1)), expected $want" >&2
    exit 1
  fi
  [ "$CHECK" = 1 ] || echo "  built $DEST/$name.elf ($(wc -c < "$DEST/$name.elf") bytes)"
}

# build NAME [extra cflags...] -- sources...   (compressed, $MARCH)
build() {
  build_for "$MARCH" 1 "$@"
}

# build_uncompressed NAME [extra cflags...] -- sources...   ($MARCH_UNCOMPRESSED)
build_uncompressed() {
  build_for "$MARCH_UNCOMPRESSED" 0 "$@"
}

build_for() {
  local march="$1" rvc="$2" name="$3"; shift 3
  local extra=()
  while [ "$1" != "--" ]; do extra+=("$1"); shift; done
  shift
  "$CC" "${CFLAGS[@]}" "-march=$march" "${extra[@]}" "${LDFLAGS[@]}" -o "$DEST/$name.elf" "$@"
  check_rvc "$name" "$rvc"
}

# The second toolchain: Debian's riscv64-unknown-elf-gcc with picolibc, its
# rv32imac/ilp32 multilib (printf, malloc, setjmp/longjmp from picolibc), as a
# machine guest. Skipped with a message when it is not installed, except in CI.
GCC_RISCV="${GCC_RISCV:-riscv64-unknown-elf-gcc}"
build_gcc() {
  local name="$1"; shift
  if ! command -v "$GCC_RISCV" >/dev/null 2>&1; then
    if [ "$CHECK" = 1 ] && [ "${CI:-}" = "true" ]; then
      echo "guests/build.sh: ERROR: $GCC_RISCV not found; --check cannot verify $name.elf in CI" >&2
      exit 1
    fi
    echo "guests/build.sh: SKIPPED $name.elf: $GCC_RISCV not found" \
      "(apt-get install -y gcc-riscv64-unknown-elf picolibc-riscv64-unknown-elf)"
    [ "$CHECK" = 1 ] && cp "guests/build/$name.elf" "$DEST/$name.elf" 2>/dev/null
    return 0
  fi
  # picolibc's own crt0 and linker script, its "flash" and "ram" placed in guest RAM.
  # crt0-hosted: main's return value goes to exit(), which ends the VM (board.c _exit).
  "$GCC_RISCV" -march=rv32imac -mabi=ilp32 -mcmodel=medany --specs=picolibc.specs --crt0=hosted \
    -O2 -g0 -std=gnu11 -Wall -Wextra -Werror -ffunction-sections -fdata-sections \
    "-ffile-prefix-map=$ROOT/=" -Iguests/lib '-DHTIF_SECTION=".bss.tohost"' \
    -Wl,--defsym=__flash=0x80000000 -Wl,--defsym=__flash_size=0x40000 \
    -Wl,--defsym=__ram=0x80040000 -Wl,--defsym=__ram_size=0x80000 \
    -Wl,--build-id=none -Wl,--gc-sections -Wl,--strip-debug \
    -o "$DEST/$name.elf" "$@"
  check_rvc "$name" 1
}

# Paravirtual guests (S-mode, SBI).
build hello     -- "${LIB_SBI[@]}" guests/hello/hello.c
build fail      -- "${LIB_SBI[@]}" guests/fail/fail.c
build timer     -- "${LIB_SBI[@]}" guests/timer/timer.c
build cpu       "-DITERATIONS=$CPU_ITERATIONS" -- "${LIB_SBI[@]}" guests/cpu/cpu.c guests/cpu/workload.c
build cpu-small "-DITERATIONS=$CPU_SMALL_ITERATIONS" -- "${LIB_SBI[@]}" guests/cpu/cpu.c guests/cpu/workload.c
build_uncompressed cpu-rv32im       "-DITERATIONS=$CPU_ITERATIONS" -- "${LIB_SBI[@]}" guests/cpu/cpu.c guests/cpu/workload.c
build_uncompressed cpu-small-rv32im "-DITERATIONS=$CPU_SMALL_ITERATIONS" -- "${LIB_SBI[@]}" guests/cpu/cpu.c guests/cpu/workload.c
build control    -- "${LIB_SBI[@]}" "${RTOS[@]}" "${CONTROL[@]}"
build control-tx -DCTL_TX -- "${LIB_SBI[@]}" "${RTOS[@]}" "${CONTROL[@]}"
build control-rx -DCTL_RX -- "${LIB_SBI[@]}" "${RTOS[@]}" "${CONTROL[@]}"
build memcheck   -- "${LIB_SBI[@]}" guests/memcheck/memcheck.c
build memcheck-finite -DMEMCHECK_ROUNDS=100 -- "${LIB_SBI[@]}" guests/memcheck/memcheck.c
build memwriter  -- "${LIB_SBI[@]}" guests/memwriter/memwriter.c
# The guarantee tests' probe: memory, gaps, and channel order checked from inside.
build probe         -Iguests/rtos -- "${LIB_SBI[@]}" guests/probe/probe.c
build probe-tx      -Iguests/rtos -DPROBE_TX -- "${LIB_SBI[@]}" guests/probe/probe.c
build probe-rx      -Iguests/rtos -DPROBE_RX -- "${LIB_SBI[@]}" guests/probe/probe.c
build probe-rx-sampling -Iguests/rtos -DPROBE_RX -DPROBE_SAMPLING -- "${LIB_SBI[@]}" guests/probe/probe.c
# ... and the napping probes of the property test: a step every 200 us, gaps over 400 us.
NAP=(-Iguests/rtos -DPROBE_NAP_US=200 -DPROBE_GAP_US=400 -DPROBE_KIB=32)
build probe-nap    "${NAP[@]}" -- "${LIB_SBI[@]}" guests/probe/probe.c
build probe-nap-tx "${NAP[@]}" -DPROBE_TX -- "${LIB_SBI[@]}" guests/probe/probe.c
build probe-nap-rx "${NAP[@]}" -DPROBE_RX -- "${LIB_SBI[@]}" guests/probe/probe.c
build probe-nap-rx-sampling "${NAP[@]}" -DPROBE_RX -DPROBE_SAMPLING -- "${LIB_SBI[@]}" guests/probe/probe.c

# Machine guests (M-mode, QEMU-virt devices).
build isa       -- "${LIB_VIRT[@]}" guests/isa/isa.S guests/isa/main.c
build virt      -- "${LIB_VIRT[@]}" guests/virt/virt.c
build virt-fail -- "${LIB_VIRT[@]}" guests/virt/virt-fail.c

# Built by the second toolchain (gcc + picolibc).
build_gcc gcc-hello guests/gcc/gcc-hello.c guests/gcc/board.c guests/lib/htif.c

if [ "$CHECK" = 1 ]; then
  bad=()
  for f in "$DEST"/*.elf; do
    name="$(basename "$f")"
    if [ ! -f "guests/build/$name" ] || ! cmp -s "$f" "guests/build/$name"; then
      bad+=("guests/build/$name")
    fi
  done
  for f in guests/build/*.elf; do
    [ -e "$f" ] || continue
    [ -f "$DEST/$(basename "$f")" ] || bad+=("$f (no longer built)")
  done
  if [ "${#bad[@]}" -gt 0 ]; then
    echo "guests/build.sh --check: these committed images differ from a fresh build:" >&2
    printf '  %s\n' "${bad[@]}" >&2
    echo "run 'bash guests/build.sh' (clang $("$CC" -dumpversion)) and commit guests/build/" >&2
    exit 1
  fi
  echo "guests/build.sh --check: all $(ls "$DEST"/*.elf | wc -l) guest images match the sources"
fi
