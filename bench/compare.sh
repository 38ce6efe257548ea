#!/usr/bin/env bash
# Times nginx-gwlint against its peers on the same generated tree (300 files, 3000 server
# blocks; benches/support/tree.rs) and prints MB/s and ratios. Needs: hyperfine, nginx, and
# the Python peers from PyPI (installed here if missing):
#   crossplane 0.5.8 (`crossplane parse`), gixy-ng (its NginxParser, and the full `gixy` run).
# Usage: bench/compare.sh [FILES] [SERVERS_PER_FILE]
set -euo pipefail
cd "$(dirname "$0")/.."
files=${1:-300}
servers=${2:-10}

command -v hyperfine >/dev/null || apt-get install -y -qq hyperfine >/dev/null
python3 -c 'import crossplane' 2>/dev/null || pip install -q crossplane==0.5.8
python3 -c 'import gixy' 2>/dev/null || pip install -q gixy-ng
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)

cargo build -q --release --bin nginx-gwlint --example gen_bench_tree
tree=$(mktemp -d)
trap 'rm -rf "$tree"' EXIT
bytes=$(target/release/examples/gen_bench_tree "$tree" "$files" "$servers")
echo "tree: $files files, $((files * servers)) server blocks, $bytes bytes"

gixy_parse="python3 -c 'import sys; from gixy.parser.nginx_parser import NginxParser; NginxParser(cwd=sys.argv[1], allow_includes=True).parse_file(sys.argv[1] + \"/nginx.conf\")' $tree"

hyperfine --warmup 2 --min-runs 5 --export-json "$tree/results.json" \
  -n "nginx-gwlint parse (json)" "target/release/nginx-gwlint parse $tree/nginx.conf > /dev/null" \
  -n "nginx-gwlint check --select GW001 (load+resolve)" "target/release/nginx-gwlint check $tree --select GW001 --format concise > /dev/null" \
  -n "nginx-gwlint check (all rules)" "target/release/nginx-gwlint check $tree --format concise --exit-zero > /dev/null" \
  -n "crossplane parse (json)" "crossplane parse $tree/nginx.conf > /dev/null" \
  -n "gixy-ng NginxParser" "$gixy_parse" \
  -n "gixy-ng (full run)" "gixy $tree/nginx.conf > /dev/null || true" \
  -n "nginx -t" "$nginx_bin -t -q -p $tree/ -c $tree/nginx.conf -e /dev/null" \
  >/dev/null

python3 - "$tree/results.json" "$bytes" <<'PY'
import json, sys
results = json.load(open(sys.argv[1]))["results"]
size = int(sys.argv[2])
base = {r["command"]: r["mean"] for r in results}
ours = base["nginx-gwlint parse (json)"]
print(f"{'command':52} {'mean':>10} {'MB/s':>9} {'vs nginx-gwlint parse':>22}")
for r in results:
    mean = r["mean"]
    print(f"{r['command']:52} {mean*1000:8.1f}ms {size/mean/1e6:9.1f} {mean/ours:21.1f}x")
PY
