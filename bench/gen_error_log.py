#!/usr/bin/env python3
"""Writes a large nginx error.log for `diagnose` throughput runs (see README "Performance").

usage: gen_error_log.py LINES [SERVERS [SERVERS_PER_FILE]] > error.log

With SERVERS, lines name the server blocks of examples/gen_bench_tree.rs's tree
(`siteN.example.com` on port 10000+N, `/api/` through `upstream app_F` with F = N / SERVERS_PER_FILE,
default 10), so that mapping is exercised against every server block; without it, one
shop.example.com.

A deterministic mix of the line shapes of the lab captures: requests retried over an upstream
block (two lines, same connection), refused and timed-out single servers, php-fpm resets,
invalid headers, no live upstreams, plus the noise a real log has (missing static files, client
timeouts, notices). Paths and hosts vary so that grouping is exercised.
"""
import sys

n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
servers = int(sys.argv[2]) if len(sys.argv) > 2 else 0
per_file = int(sys.argv[3]) if len(sys.argv) > 3 else 10
out = sys.stdout
conn = 0
i = 0
sec = 0
tail0 = ', client: 10.0.{a}.{b}, server: shop.example.com, request: "{m} {p} HTTP/1.1", upstream: "{u}{p}", host: "shop.example.com"\n'
tail = tail0
while i < n:
    sec += 1 if i % 50 == 0 else 0
    t = "2026/11/26 %02d:%02d:%02d" % (2 + sec // 3600 % 20, sec // 60 % 60, sec % 60)
    conn += 1
    k = i % 10
    a, b = conn % 250, conn // 250 % 250
    p = "/api/items/%d?page=%d" % (conn % 997, conn % 7)
    if servers:
        sn = conn * 7919 % servers
        f = sn // per_file
        tail = (', client: 10.0.{a}.{b}, server: site%d.example.com, request: "{m} {p} HTTP/1.1", upstream: "{u}{p}", host: "site%d.example.com:%d"\n'
                % (sn, sn, 10000 + sn % 50000))
        up1, up2 = "http://127.0.0.1:%d" % (3000 + f % 1000), "http://127.0.0.1:%d" % (4000 + f % 1000)
    else:
        up1, up2 = "http://10.0.0.1:3000", "http://10.0.0.2:3000"
    if k in (0, 1):
        out.write(t + " [error] 4242#4242: *%d connect() failed (111: Connection refused) while connecting to upstream" % conn
                  + tail.format(a=a, b=b, m="GET", p=p, u=up1))
        out.write(t + " [error] 4242#4242: *%d upstream timed out (110: Connection timed out) while reading response header from upstream" % conn
                  + tail.format(a=a, b=b, m="GET", p=p, u=up2))
        i += 2
        continue
    if k == 2:
        out.write(t + " [error] 4242#4242: *%d connect() failed (111: Connection refused) while connecting to upstream" % conn
                  + tail.format(a=a, b=b, m="GET", p=p, u=up1))
    elif k == 3:
        out.write(t + " [error] 4242#4242: *%d recv() failed (104: Connection reset by peer) while reading response header from upstream" % conn
                  + tail.format(a=a, b=b, m="POST", p="/index.php", u="fastcgi://unix:/run/php/php8.2-fpm.sock:"))
    elif k == 4:
        out.write(t + " [error] 4242#4242: *%d upstream sent invalid header: \"X-Bad: a\\x0d...\" while reading response header from upstream" % conn
                  + tail.format(a=a, b=b, m="GET", p=p, u=up2))
    elif k == 5:
        out.write(t + " [error] 4242#4242: *%d no live upstreams while connecting to upstream" % conn
                  + tail.format(a=a, b=b, m="GET", p=p, u="http://node_app"))
    elif k == 6:
        out.write(t + " [error] 4242#4242: *%d open() \"/var/www/shop/favicon%d.ico\" failed (2: No such file or directory), client: 10.0.%d.%d, server: shop.example.com, request: \"GET /favicon.ico HTTP/1.1\", host: \"shop.example.com\"\n" % (conn, conn % 13, a, b))
    elif k == 7:
        out.write(t + " [info] 4242#4242: *%d client timed out (110: Connection timed out) while waiting for request, client: 10.0.%d.%d, server: 0.0.0.0:443\n" % (conn, a, b))
    elif k == 8:
        out.write(t + " [warn] 4242#4242: *%d an upstream response is buffered to a temporary file /var/cache/nginx/proxy_temp/1/00/%010d while reading upstream" % (conn, conn)
                  + tail.format(a=a, b=b, m="GET", p=p, u=up2))
    else:
        out.write(t + " [error] 4242#4242: *%d upstream timed out (110: Connection timed out) while reading response header from upstream" % conn
                  + tail.format(a=a, b=b, m="GET", p="/report/%d" % (conn % 31), u="http://127.0.0.1:8081"))
    i += 1
