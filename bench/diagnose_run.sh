#!/usr/bin/env bash
# Whole-process `diagnose` runs for the README numbers: lines/s and peak RSS (GNU time) of the
# error-log and access-log paths, for one or more binaries side by side (interleaved runs, the
# median of RUNS).
#
# usage: bench/diagnose_run.sh WORKDIR BINARY... 
#   WORKDIR gets (once) a 4,000-server tree (examples/gen_bench_tree.rs, 400 files x 10), a
#   2M-line error.log naming its servers (gen_error_log.py 2000000 4000), and a small config
#   with a timed log_format plus a 2M-line access.log (gen_access_log.py).
set -euo pipefail
cd "$(dirname "$0")/.."
work=$1; shift
runs=${RUNS:-3}
mkdir -p "$work"
[ -f "$work/tree/nginx.conf" ] || cargo run -q --release --example gen_bench_tree -- "$work/tree" 400 10 >/dev/null
[ -f "$work/error.log" ] || python3 bench/gen_error_log.py 2000000 4000 > "$work/error.log"
if [ ! -f "$work/shop/access.log" ]; then
    mkdir -p "$work/shop"
    cat > "$work/shop/nginx.conf" <<'CONF'
events {}
http {
    log_format timed '$remote_addr - $remote_user [$time_local] "$request" $status '
                     '$body_bytes_sent "$http_referer" "$http_user_agent" '
                     'rt=$request_time urt="$upstream_response_time" host=$host sn="$server_name"';
    access_log /var/log/nginx/access.log timed;
    upstream node_app { server 10.0.0.1:3000; server 10.0.0.2:3000; }
    server {
        listen 80;
        server_name shop.example.com;
        root /var/www/shop;
        location / { try_files $uri /index.php?$args; }
        location ~ \.php$ { fastcgi_pass unix:/run/php/php8.2-fpm.sock; fastcgi_read_timeout 30s; }
        location /api/ { proxy_pass http://node_app; }
        location /static/ { }
        location /report/ { proxy_pass http://127.0.0.1:8081; proxy_read_timeout 5s; }
    }
}
CONF
    python3 bench/gen_access_log.py 2000000 > "$work/shop/access.log"
fi
: > "$work/empty.log"
measure() { # label binary args...
    local label=$1 bin=$2; shift 2
    local best=() i
    for i in $(seq "$runs"); do
        /usr/bin/time -f '%e %M' -o "$work/time.txt" "$bin" "$@" > /dev/null || true
        best+=("$(tail -1 "$work/time.txt")")
    done
    printf '%s\n' "${best[@]}" | sort -n | sed -n "$(( (runs + 1) / 2 ))p" | {
        read -r secs kb
        awk -v l="$label" -v s="$secs" -v kb="$kb" 'BEGIN { printf "%-58s %7.2f s %6.2f M lines/s %7.1f MiB\n", l, s, 2 / s, kb / 1024 }'
    }
}
for bin in "$@"; do
    measure "$bin error.log x 4k-server tree (json)" "$bin" diagnose --error-log "$work/error.log" --config-root "$work/tree" --format json
done
for bin in "$@"; do
    measure "$bin error.log x 4k-server tree (human)" "$bin" diagnose --error-log "$work/error.log" --config-root "$work/tree"
done
for bin in "$@"; do
    "$bin" diagnose --help | grep -q -- --access-log || continue
    measure "$bin access.log (timed format)" "$bin" diagnose --error-log "$work/empty.log" --access-log "$work/shop/access.log" --config-root "$work/shop/nginx.conf" --format json
done
