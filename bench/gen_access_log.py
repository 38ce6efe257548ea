#!/usr/bin/env python3
"""Writes a large nginx access.log for `diagnose --access-log` throughput runs.

usage: gen_access_log.py LINES [SERVERS] > access.log

Lines use the `timed` format below (the combined fields plus $request_time,
$upstream_response_time, $host and $server_name); declare it in the config the run reads:

    log_format timed '$remote_addr - $remote_user [$time_local] "$request" $status '
                     '$body_bytes_sent "$http_referer" "$http_user_agent" '
                     'rt=$request_time urt="$upstream_response_time" host=$host sn="$server_name"';
    access_log /var/log/nginx/access.log timed;

A deterministic mix: mostly 200s with short upstream times, some slow ones, 502s (refused,
`urt="0.000"`), 504s at 60 s, retried requests (`"0.001, 0.120"`), static files (`urt="-"`).
Hosts are `siteN.example.com` (the server names of examples/gen_bench_tree.rs's tree) when
SERVERS is given, else shop.example.com.
"""
import sys

n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
servers = int(sys.argv[2]) if len(sys.argv) > 2 else 0
out = sys.stdout
w = out.write
for i in range(n):
    sec = i // 200
    t = "26/Nov/2026:%02d:%02d:%02d +0000" % (2 + sec // 3600 % 20, sec // 60 % 60, sec % 60)
    host = ("site%d.example.com" % (i * 7919 % servers)) if servers else "shop.example.com"
    k = i % 100
    if k < 70:
        path, status, rt, urt = "/api/items/%d?page=%d" % (i % 997, i % 7), 200, "0.%03d" % (i % 250 + 5), "0.%03d" % (i % 250 + 3)
    elif k < 85:
        path, status, rt, urt = "/static/app.%d.js" % (i % 31), 200, "0.000", "-"
    elif k < 92:
        path, status, rt, urt = "/api/report/%d" % (i % 101), 200, "%d.%03d" % (i % 40 + 1, i % 1000), "%d.%03d" % (i % 40 + 1, i % 1000 - 1 if i % 1000 else 0)
    elif k < 95:
        path, status, rt, urt = "/api/items/%d" % (i % 997), 200, "0.121", "0.001, 0.120"
    elif k < 98:
        path, status, rt, urt = "/api/items/%d" % (i % 997), 502, "0.001", "0.000"
    else:
        path, status, rt, urt = "/api/export", 504, "60.002", "60.001"
    w('10.0.%d.%d - - [%s] "GET %s HTTP/1.1" %d %d "-" "Mozilla/5.0 (X11; Linux x86_64) bench/%d" rt=%s urt="%s" host=%s sn="%s"\n'
      % (i % 250, i // 250 % 250, t, path, status, 157 + i % 5000, i % 9, rt, urt, host, host))
