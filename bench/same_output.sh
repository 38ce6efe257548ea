#!/usr/bin/env bash
# Output identity for performance work: runs two nginx-gwlint binaries (OLD, a build of main,
# and NEW) over the same inputs and diffs what they print. Per input: `check --format json`,
# `check --diff --unsafe-fixes`, and `parse` (files only), each with stdout, stderr and the exit
# code compared. Inputs: every nginx file of ../shared/corpus (MANIFEST.tsv), the examples, and
# generated trees (benches/support/tree.rs: every shape, small sizes).
# Usage: bench/same_output.sh OLD NEW   (prints "N inputs, M runs compared, K differ"; exit 1
# when any differ, the differing outputs kept under $KEEP or a temp dir it names).
set -uo pipefail
cd "$(dirname "$0")/.."
old=$(realpath "$1")
new=$(realpath "$2")
shared=${SHARED:-../shared}
[ -d "$shared/corpus" ] || shared=/work/shared
out=${KEEP:-$(mktemp -d)}
mkdir -p "$out"

cargo build -q --release --example gen_bench_tree
gen=target/release/examples/gen_bench_tree
trees="$out/trees"
rm -rf "$trees"
mkdir -p "$trees"
for shape in sites deep oneline members findings includes; do
    "$gen" "$trees/$shape" 8 5 "$shape" >/dev/null
done

inputs=()
while IFS=$'\t' read -r repo _ path _ kind; do
    case $kind in nginx-*) inputs+=("file:$shared/corpus/${repo//\//__}/$path") ;; esac
done < <(tail -n +2 "$shared/corpus/MANIFEST.tsv")
inputs+=("dir:examples/node-proxy" "dir:examples/grpc" "sysroot:examples/php-fpm-wordpress")
for t in "$trees"/*; do inputs+=("dir:$t"); done

# Runs one command with both binaries; records a difference.
runs=0
differ=0
compare() {
    local label=$1
    shift
    local a b
    a=$("$old" "$@" 2>"$out/old.err"; echo "exit $?")
    b=$("$new" "$@" 2>"$out/new.err"; echo "exit $?")
    runs=$((runs + 1))
    if [ "$a" != "$b" ] || ! cmp -s "$out/old.err" "$out/new.err"; then
        differ=$((differ + 1))
        local keep="$out/diff-$differ"
        mkdir -p "$keep"
        printf '%s\n' "$label: $*" >"$keep/cmd"
        printf '%s\n' "$a" >"$keep/old.out"
        printf '%s\n' "$b" >"$keep/new.out"
        cp "$out/old.err" "$keep/old.err"
        cp "$out/new.err" "$keep/new.err"
        echo "DIFFERS: $label: $*"
    fi
}

for input in "${inputs[@]}"; do
    kind=${input%%:*}
    path=${input#*:}
    case $kind in
        file)
            compare json check --format json "$path"
            compare diff check --diff --unsafe-fixes --no-verify "$path"
            compare parse parse "$path"
            ;;
        dir)
            compare json check --format json "$path"
            compare diff check --diff --unsafe-fixes --no-verify "$path"
            [ -f "$path/nginx.conf" ] && compare parse parse "$path/nginx.conf"
            ;;
        sysroot)
            compare json check --format json --sysroot "$path"
            compare diff check --diff --unsafe-fixes --no-verify --sysroot "$path"
            ;;
    esac
done
# Baselines round trip on the findings tree.
"$old" check --write-baseline "$out/old.baseline" "$trees/findings" >/dev/null 2>&1
"$new" check --write-baseline "$out/new.baseline" "$trees/findings" >/dev/null 2>&1
runs=$((runs + 1))
if ! cmp -s "$out/old.baseline" "$out/new.baseline"; then
    differ=$((differ + 1))
    echo "DIFFERS: --write-baseline on $trees/findings"
fi
compare baseline check --format json --baseline "$out/old.baseline" "$trees/findings"

echo "${#inputs[@]} inputs, $runs runs compared, $differ differ (outputs in $out)"
[ "$differ" -eq 0 ]
