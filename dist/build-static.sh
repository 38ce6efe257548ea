#!/usr/bin/env sh
# Builds the static nginx-gwlint binary for one Linux target: musl libc linked in, no shared
# library needed at run time, so it runs on any Linux of that architecture (and FROM scratch).
# The one build command: the Dockerfile, the release workflow and the maintainers run this.
#
# Usage: dist/build-static.sh [TARGET] [OUT]
#   TARGET  x86_64-unknown-linux-musl (default on x86_64) or aarch64-unknown-linux-musl
#   OUT     where to copy the binary (default: dist/out/nginx-gwlint-TARGET)
# Needs: rustup with the target added, and a musl C compiler for the C parts (PCRE2 and
# mimalloc): Debian's musl-tools (musl-gcc) when building on a machine of that architecture.
set -eu
cd "$(dirname "$0")/.."

target=${1:-$(uname -m)-unknown-linux-musl}
out=${2:-dist/out/nginx-gwlint-$target}
case "$target" in
    *-linux-musl) ;;
    *) echo "build-static.sh: $target is not a musl target" >&2; exit 2 ;;
esac

# The C compiler for the target: musl-gcc natively; CC_<target> from the caller wins.
cc_var="CC_$(echo "$target" | tr '-' '_')"
if [ -z "$(printenv "$cc_var" || true)" ] && [ "$target" = "$(uname -m)-unknown-linux-musl" ]; then
    export "$cc_var=musl-gcc"
fi
# PCRE2 from its bundled sources, never a system library of the build machine.
export PCRE2_SYS_STATIC=1
# A release artifact: no debug info, symbols stripped (the profile keeps line tables for
# profiling local builds).
export CARGO_PROFILE_RELEASE_DEBUG=0 CARGO_PROFILE_RELEASE_STRIP=symbols

cargo build --release --locked --target "$target" --bin nginx-gwlint

bin="target/$target/release/nginx-gwlint"
mkdir -p "$(dirname "$out")"
cp "$bin" "$out"

# A static binary has no interpreter (no PT_INTERP) and no needed shared libraries.
if command -v readelf >/dev/null 2>&1; then
    if readelf -l "$out" | grep -q 'Requesting program interpreter'; then
        echo "build-static.sh: $out is dynamically linked" >&2
        exit 1
    fi
    if readelf -d "$out" | grep -q '(NEEDED)'; then
        echo "build-static.sh: $out needs shared libraries" >&2
        exit 1
    fi
fi
echo "$out"
