#!/usr/bin/env bash
# Static Linux binaries (musl) for the bastion: one file to copy, no glibc version to match.
#
#   scripts/build-static.sh [x86_64|aarch64|all]     (default: x86_64)
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

cd "$(dirname "$0")/.."
which="${1:-x86_64}"
case "$which" in
  x86_64) arches=(x86_64) ;;
  aarch64) arches=(aarch64) ;;
  all) arches=(x86_64 aarch64) ;;
  *) echo "usage: $0 [x86_64|aarch64|all]" >&2; exit 2 ;;
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
  echo "building $triple (profile dist, --locked)" >&2
  cargo build --profile dist --locked --target "$triple" --bin drcockpit
  built+=("$target_dir/$triple/dist/drcockpit")
done

for bin in "${built[@]}"; do
  bytes=$(stat -c %s "$bin")
  printf '%s: %s bytes (%s MiB)\n' "$bin" "$bytes" "$(awk "BEGIN{printf \"%.2f\", $bytes/1048576}")"
  file "$bin"
done
