#!/usr/bin/env bash
# Static Linux binaries (musl) for the bastion: one file to copy, no glibc version to match.
#
#   scripts/build-static.sh [x86_64|aarch64|all] [--no-pgo]     (default: x86_64)
#
# The x86_64 binary is built twice when the build machine is x86_64: once instrumented, which
# then runs the cockpit's own workload in a pseudo-terminal (scripts/measure_budgets.py: the
# demo idle, keys, a 100,000-line step, the cockpit alone, 500 services on the panels), and
# again with that profile (profile-guided optimisation), linked by the toolchain's rust-lld with
# every function that ran placed first (scripts/pgo_order.py). The kernel keeps a process's
# code resident in 64 KiB windows around what it ran, so code that runs together costs less
# memory: an idle cockpit 3.7 MiB less (BENCHMARKS.md, "Idle memory"). Needs python3 and
# rustup's llvm-tools (installed here); `--no-pgo` builds once without it. aarch64 is never
# trained (it cannot run here).
#
# Installs what is missing: the rustup targets, and on Debian/Ubuntu `musl-tools` (x86_64) and
# `gcc-aarch64-linux-gnu` (aarch64: ring, under rustls, compiles C and assembly, so it needs a C
# compiler for the target; Rust's musl targets bring their own libc and start files, so the GNU
# cross compiler also links). The linker and C compiler are set here through environment
# variables, never in a .cargo/config, so normal builds are untouched.
#
# Output: $CARGO_TARGET_DIR (default ./target)/<triple>/dist/drcockpit, with its size and
# `file` line printed. The `dist` profile (Cargo.toml) strips symbols and uses fat LTO.
set -euo pipefail
shopt -s inherit_errexit

cd "$(dirname "$0")/.."
which=x86_64
pgo=1
for arg in "$@"; do
  case "$arg" in
    --no-pgo) pgo=0 ;;
    *) which="$arg" ;;
  esac
done
case "$which" in
  x86_64) arches=(x86_64) ;;
  aarch64) arches=(aarch64) ;;
  all) arches=(x86_64 aarch64) ;;
  *) echo "usage: $0 [x86_64|aarch64|all] [--no-pgo]" >&2; exit 2 ;;
esac

# apt-get install, as root or through sudo; says what to install by hand otherwise.
apt_install() {
  local pkgs=("$@")
  if ! command -v apt-get >/dev/null; then
    echo "missing: ${pkgs[*]} (no apt-get here: install a musl / cross C toolchain by hand)" >&2
    exit 1
  fi
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null; then sudo=(sudo); else
      echo "missing: ${pkgs[*]}; run as root: apt-get install ${pkgs[*]}" >&2
      exit 1
    fi
  fi
  echo "installing ${pkgs[*]}" >&2
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "${pkgs[@]}" >/dev/null
}

need_target() {
  if ! rustup target list --installed | grep -qx "$1"; then
    rustup target add "$1"
  fi
}

target_dir="${CARGO_TARGET_DIR:-target}"

# Profile-guided build of the x86_64 binary: instrument, train, merge; prints the RUSTFLAGS
# the final build adds. The instrumented build has its own target directory so the final one
# is never confused with it. Both builds must use the same cargo profile settings: they go into
# the symbol hashes the profile is keyed by, RUSTFLAGS do not (a final build with only
# `strip = false` changed came out 2 MB larger and laid out as if untrained).
pgo_flags() {
  local triple="$1"
  local sysroot host profdata gen_dir data merged
  command -v python3 >/dev/null || { echo "PGO needs python3 (or pass --no-pgo)" >&2; exit 1; }
  sysroot="$(rustc --print sysroot)"
  host="$(rustc -vV | sed -n 's/^host: //p')"
  profdata="$sysroot/lib/rustlib/$host/bin/llvm-profdata"
  if [ ! -x "$profdata" ]; then
    rustup component add llvm-tools >&2
  fi
  gen_dir="$(cd "$target_dir" 2>/dev/null && pwd || echo "$PWD/$target_dir")/pgo-generate"
  data="$gen_dir/profiles"
  merged="$gen_dir/drcockpit.profdata"
  rm -rf "$data" "$merged"
  mkdir -p "$data"
  echo "building $triple instrumented for profile-guided optimisation" >&2
  CARGO_TARGET_DIR="$gen_dir" RUSTFLAGS="${RUSTFLAGS:-} -Cprofile-generate=$data" \
    cargo build --profile dist --locked --target "$triple" --bin drcockpit >&2
  local bin="$gen_dir/$triple/dist/drcockpit"
  echo "training: scripts/measure_budgets.py on the instrumented binary (a few minutes)" >&2
  # The figures of an instrumented binary mean nothing; only the profile is kept.
  env -u LLVM_PROFILE_FILE python3 scripts/measure_budgets.py "$bin" >/dev/null
  env -u LLVM_PROFILE_FILE python3 scripts/measure_budgets.py "$bin" --flood-only --big >/dev/null
  "$profdata" merge -o "$merged" "$data" >&2
  # hot-cold-split outlines the cold parts of hot functions, which then go with the cold code.
  local flags="-Cprofile-use=$merged -Cllvm-args=-hot-cold-split=true"
  local gcc_ld="$sysroot/lib/rustlib/$host/bin/gcc-ld"
  if [ -x "$gcc_ld/ld.lld" ]; then
    local order="$gen_dir/order.txt"
    "$profdata" show --all-functions --counts "$merged" | python3 scripts/pgo_order.py > "$order"
    echo "link order: $(wc -l < "$order") functions that ran in training first" >&2
    flags="$flags -Clink-arg=-fuse-ld=lld -Clink-arg=-B$gcc_ld"
    flags="$flags -Clink-arg=-Wl,--symbol-ordering-file=$order -Clink-arg=-Wl,--no-warn-symbol-ordering"
  else
    echo "no rust-lld in this toolchain ($gcc_ld): linking without the function order" >&2
  fi
  echo "$flags"
}

built=()
for arch in "${arches[@]}"; do
  triple="$arch-unknown-linux-musl"
  need_target "$triple"
  case "$arch" in
    x86_64)
      command -v musl-gcc >/dev/null || apt_install musl-tools
      export CC_x86_64_unknown_linux_musl=musl-gcc
      ;;
    aarch64)
      command -v aarch64-linux-gnu-gcc >/dev/null || apt_install gcc-aarch64-linux-gnu
      export CC_aarch64_unknown_linux_musl=aarch64-linux-gnu-gcc
      export AR_aarch64_unknown_linux_musl=aarch64-linux-gnu-ar
      export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_LINKER=aarch64-linux-gnu-gcc
      ;;
  esac
  extra=""
  if [ "$arch" = x86_64 ] && [ "$pgo" = 1 ] && [ "$(uname -m)" = x86_64 ]; then
    extra="$(pgo_flags "$triple")"
  fi
  echo "building $triple (profile dist, --locked${extra:+, profile-guided})" >&2
  RUSTFLAGS="${RUSTFLAGS:-} $extra" cargo build --profile dist --locked --target "$triple" --bin drcockpit
  built+=("$target_dir/$triple/dist/drcockpit")
done

for bin in "${built[@]}"; do
  bytes=$(stat -c %s "$bin")
  printf '%s: %s bytes (%s MiB)\n' "$bin" "$bytes" "$(awk "BEGIN{printf \"%.2f\", $bytes/1048576}")"
  file "$bin"
done
