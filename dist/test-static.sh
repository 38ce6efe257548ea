#!/usr/bin/env bash
# Builds the static binary (dist/build-static.sh) and runs it in an empty root, as in the
# FROM scratch image: no shared library, no /etc, no /tmp. On the bundled examples it must
# give the development build's exit codes and findings; with copies of this machine's
# /etc/hosts, passwd and group in the root, byte-identical JSON. Needs root (chroot).
# Usage: dist/test-static.sh [TARGET]   (a target of another architecture runs under
# qemu-user when binfmt is set up, e.g. Debian's qemu-user-static)
set -euo pipefail
cd "$(dirname "$0")/.."
command -v jq >/dev/null || { echo "test-static.sh: needs jq (apt-get install -y jq)" >&2; exit 2; }
target=${1:-$(uname -m)-unknown-linux-musl}
static=$(dist/build-static.sh "$target" | tail -1)
cargo build -q --bin nginx-gwlint
dev=$PWD/target/debug/nginx-gwlint

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
# The examples at the same absolute path inside the root as outside it, so both builds print
# the same paths.
mkdir -p "$root$root"
cp -a examples "$root/"
cp -a examples "$root$root/"
cp "$static" "$root/nginx-gwlint"
echo "static binary: $static ($(stat -c %s "$static") bytes)"

runs=(
    "check $root/examples/node-proxy"
    "check --sysroot $root/examples/php-fpm-wordpress"
    "check $root/examples/grpc"
)
fail=0
compare() { # label
    for args in "${runs[@]}"; do
        # shellcheck disable=SC2086
        set +e
        # From / as well: paths are shown relative to the current directory.
        want=$(cd / && "$dev" $args --nginx-version 1.22.1 --format json 2>/dev/null); want_code=$?
        got=$(chroot "$root" /nginx-gwlint $args --nginx-version 1.22.1 --format json 2>/dev/null); got_code=$?
        set -e
        if [ "$want_code" != "$got_code" ]; then
            echo "$1: $args: exit $got_code, development build $want_code"; fail=1; continue
        fi
        if [ "$1" = "with /etc" ]; then
            if [ "$want" != "$got" ]; then
                echo "$1: $args: the JSON differs"; diff <(echo "$want") <(echo "$got") | head -20 || true; fail=1
                continue
            fi
        else
            # Without /etc the messages that quote this machine's files differ; the findings
            # (rule, file, line) must not.
            key='[.diagnostics[] | [.rule, .file, .line]]'
            if [ "$(jq -c "$key" <<<"$want")" != "$(jq -c "$key" <<<"$got")" ]; then
                echo "$1: $args: the findings differ"; fail=1; continue
            fi
        fi
        echo "$1: $args: exit $got_code, same $([ "$1" = "with /etc" ] && echo JSON || echo findings)"
    done
}
compare "empty root"
mkdir -p "$root/etc"
cp /etc/hosts /etc/passwd /etc/group "$root/etc/"
compare "with /etc"
exit $fail
