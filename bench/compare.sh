#!/usr/bin/env bash
# nginx-gwlint against its peers on the same generated trees (benches/support/tree.rs: sites of
# 20 server blocks each), in one run: per size and command the median wall time of interleaved
# runs, its CPU time (user+sys, from getrusage of the child), MB/s of CPU time, peak RSS
# (ru_maxrss) and the CPU ratio against `nginx-gwlint check`. Whole processes, output to /dev/null.
#
# Peers: crossplane 0.5.8 (`crossplane parse`), gixy-ng (its NginxParser alone, and the full
# `gixy` run), `nginx -t` (Debian's), and walf443/nginx-lint when NGINX_LINT names its binary
# (it is not on a package registry; build it from its repository yourself; `-p` makes it
# follow the includes). The Python peers
# are installed from PyPI when missing.
#
# Usage: bench/compare.sh [SERVERS...]      (default: 1000 4000 16000; 64000 takes minutes)
#   BIN=path/to/nginx-gwlint   another build of ours (default: target/release, built here)
#   BASE=path/to/nginx-gwlint  also time this build (say, main's) as "base check"/"base parse"
#   GEN=path/to/gen_bench_tree a built tree generator (default: built here)
#   RUNS=N                     runs per command (default 5; commands slower than 3 s run once)
#   SKIP=REGEX                 leave out the commands whose name matches (Python re.search), as
#                              SKIP='full run' at 64,000 servers, where gixy-ng takes hours
#   LIMIT=SECONDS              stop a run after this long (killed; its row says so)
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1000 4000 16000)

python3 -c 'import crossplane' 2>/dev/null || pip install -q crossplane==0.5.8
python3 -c 'import gixy' 2>/dev/null || pip install -q gixy-ng
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)
# Without nginx its row would time a shell's "not found" (about 1 ms): leave it out instead.
[ -x "$nginx_bin" ] || { echo "no nginx binary ($nginx_bin): the nginx -t rows are left out" >&2; nginx_bin=; }
# The real scripts, not pyenv's shims (a shell script each: ~30 ms more per run).
real() { pyenv which "$1" 2>/dev/null || command -v "$1"; }
crossplane=$(real crossplane)
gixy=$(real gixy)

gen=${GEN:-}
if [ -z "$gen" ]; then
    cargo build -q --release --example gen_bench_tree
    gen=target/release/examples/gen_bench_tree
fi
if [ -z "${BIN:-}" ]; then
    cargo build -q --release --bin nginx-gwlint
    BIN=target/release/nginx-gwlint
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

specs="$work/specs.tsv"
: >"$specs"
for servers in "${sizes[@]}"; do
    files=$(((servers + 19) / 20))
    tree="$work/t$servers"
    bytes=$("$gen" "$tree" "$files" 20)
    add() { printf '%s\t%s\t%s\t%s\n' "$servers" "$bytes" "$1" "$2" >>"$specs"; }
    add "nginx-gwlint check" "$BIN check $tree --format json --exit-zero"
    add "nginx-gwlint check (one core)" "taskset -c 0 $BIN check $tree --format json --exit-zero"
    add "nginx-gwlint parse" "$BIN parse $tree/nginx.conf"
    if [ -n "${BASE:-}" ]; then
        add "base check" "$BASE check $tree --format json --exit-zero"
        add "base parse" "$BASE parse $tree/nginx.conf"
    fi
    add "crossplane parse" "$crossplane parse $tree/nginx.conf"
    add "gixy-ng NginxParser" "python3 -c 'import sys; from gixy.parser.nginx_parser import NginxParser; NginxParser(cwd=sys.argv[1], allow_includes=True).parse_file(sys.argv[1] + \"/nginx.conf\")' $tree"
    add "gixy-ng (full run)" "$gixy $tree/nginx.conf"
    if [ -n "$nginx_bin" ]; then
        add "nginx -t" "$nginx_bin -t -q -p $tree/ -c $tree/nginx.conf -e /dev/null"
    fi
    if [ -n "${NGINX_LINT:-}" ]; then
        add "walf443/nginx-lint" "$NGINX_LINT -p $tree $tree/nginx.conf"
    fi
done

python3 - "$specs" "${RUNS:-5}" "${SKIP:-}" "${LIMIT:-0}" <<'PY'
import os, re, subprocess, sys, time, statistics
from collections import defaultdict

rows = [line.rstrip("\n").split("\t") for line in open(sys.argv[1])]
runs = int(sys.argv[2])
if sys.argv[3]:
    rows = [r for r in rows if not re.search(sys.argv[3], r[2])]
limit = float(sys.argv[4])
devnull = open(os.devnull, "wb")
timed_out = set()

def once(key, cmd):
    if limit > 0:
        # coreutils timeout waits for the command, so the rusage below still covers it.
        cmd = f"timeout -s KILL {limit:g} {cmd}"
    t = time.perf_counter()
    p = subprocess.Popen(cmd, shell=True, stdout=devnull, stderr=devnull)
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t
    if limit > 0 and os.waitstatus_to_exitcode(status) in (124, 137, -9):
        timed_out.add(key)
    # The shell execs the last command of a simple line, so this is the tool's own rusage
    # (for `python3 -c`, the interpreter's; threads included in the CPU time).
    return wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss * 1024

times = defaultdict(list)
cpus = defaultdict(list)
rss = defaultdict(int)
slow = set()
for r in range(runs):
    # Interleaved: every command once per round, so load on the machine hits all alike.
    for servers, size, name, cmd in rows:
        key = (servers, name)
        if key in slow:
            continue
        wall, cpu, peak = once(key, cmd)
        times[key].append(wall)
        cpus[key].append(cpu)
        rss[key] = max(rss[key], peak)
        if wall > 3.0 or key in timed_out:
            slow.add(key)

print("wall: median of interleaved runs; cpu: median user+sys (what a busy machine does not skew)")
print(f"{'servers':>7} {'MB':>6}  {'command':30} {'wall':>10} {'cpu':>10} {'MB/s cpu':>8} {'peak RSS':>9} {'RSS/input':>9} {'vs check':>9}")
for servers in dict.fromkeys(r[0] for r in rows):
    group = [r for r in rows if r[0] == servers]
    size = int(group[0][1])
    ours = statistics.median(cpus[(servers, "nginx-gwlint check")])
    for _, _, name, _ in group:
        t = statistics.median(times[(servers, name)])
        c = statistics.median(cpus[(servers, name)])
        peak = rss[(servers, name)]
        n = len(times[(servers, name)])
        if (servers, name) in timed_out:
            print(f"{servers:>7} {size/1e6:6.1f}  {name:30} stopped after {limit:g} s (LIMIT)")
            continue
        print(f"{servers:>7} {size/1e6:6.1f}  {name:30} {t*1000:8.1f}ms {c*1000:8.1f}ms {size/max(c, 1e-6)/1e6:8.1f} {peak/2**20:7.1f}Mi {peak/size:9.1f} {c/ours:8.1f}x" + ("" if n == runs else f"  ({n} run)"))
    print()
PY
