#!/usr/bin/env bash
# Benchmark of the load-test engine (release build; not part of `make test`).
# 1. Closed model, 50 connections, 10 s, `fargate-app loadtest` against oha 1.16 on a local nginx
#    (one worker): the load tool pinned to core 0, nginx to core 1; three interleaved pairs;
#    requests/s, CPU microseconds per request, peak RSS.
# 2. Open model at 10x the capacity of a slow target (the example target handling 10 requests
#    at a time, 10 ms each: 1,000 req/s; 10,000 req/s asked) for 5 s and 60 s: wall time against
#    the bound duration + timeout, peak RSS; and the peak RSS at two connection limits, which
#    gives the memory per request in flight.
# Needs oha (`cargo install oha --version 1.16.0 --locked`, or OHA=path), nginx, taskset, GNU time.
set -euo pipefail
cd "$(dirname "$0")/.."
OHA=${OHA:-$(command -v oha || true)}
NGINX=${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}
[ -n "$OHA" ] && [ -x "$OHA" ] || { echo "oha not found (cargo install oha --version 1.16.0 --locked): fargate-app runs only" >&2; OHA=; }
[ -x "$NGINX" ] || { echo "nginx not found: apt-get install nginx" >&2; exit 2; }
cargo build --release -q --bin fargate-app
cargo build --release -q -p fargate-app-loadtest --example target
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

nginx_port=$(free_port)
cat > "$work/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $work/nginx.pid;
error_log $work/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 10000000;
  server { listen 127.0.0.1:$nginx_port; location / { return 200 "ok"; } }
}
EOF
taskset -c 1 "$NGINX" -p "$work" -c "$work/nginx.conf" &
pids+=($!)
slow_port=$(free_port)
MAX_CONCURRENT=10 TARGET_THREADS=1 taskset -c 1 target/release/examples/target "$slow_port" 10 2>/dev/null &
pids+=($!)
sleep 1
out="$work/out.json"; tm="$work/time"

# run NAME CMD...: requests, req/s, CPU microseconds per request, peak RSS of the load tool.
run() {
  local name=$1; shift
  /usr/bin/time -f "%e %U %S %M" -o "$tm" taskset -c 0 "$@" > "$out" 2>/dev/null || true
  python3 - "$name" "$out" "$tm" <<'PY'
import json, sys
name, out, tm = sys.argv[1:4]
wall, user, sys_, rss = open(tm).read().split()[-4:]
d = json.load(open(out))
if "summary" in d:  # oha
    reqs = sum(d.get("statusCodeDistribution", {}).values())
    rps = d["summary"]["requestsPerSec"]
else:
    reqs = d["Requests"]; rps = d["Rps"]
cpu = (float(user) + float(sys_)) * 1e6 / max(reqs, 1)
print(f"| {name} | {rps:,.0f} | {cpu:.2f} us | {int(rss)/1024:.1f} MB |")
PY
}

echo "closed model, 50 connections, 10 s, nginx (load tool on core 0, nginx on core 1)"
echo "| tool | requests/s | CPU per request | peak RSS |"
echo "| --- | --- | --- | --- |"
url="http://127.0.0.1:$nginx_port/"
for i in 1 2 3; do
  run "fargate-app loadtest, run $i" target/release/fargate-app loadtest "$url" --concurrency 50 --duration 10s --threads 1 --json --quiet --no-default-thresholds
  [ -z "$OHA" ] || run "oha 1.16, run $i" "$OHA" -z 10s -c 50 --no-tui --output-format json "$url"
done

# overload NAME DURATION MAX_CONNECTIONS: wall time against the bound, peak RSS, what completed.
overload() {
  local name=$1 duration=$2 conns=$3
  /usr/bin/time -f "%e %U %S %M" -o "$tm" taskset -c 0 target/release/fargate-app loadtest \
    "http://127.0.0.1:$slow_port/" --rate 10000 --duration "$duration" --timeout 5s \
    --max-connections "$conns" --threads 1 --json --quiet > "$out" 2>/dev/null || true
  python3 - "$name" "$out" "$tm" <<'PY'
import json, sys
name, out, tm = sys.argv[1:4]
wall, user, sys_, rss = open(tm).read().split()[-4:]
d = json.load(open(out))
bound = d["DurationS"] + 5
print(f"| {name} | {float(wall):.1f} s (reported {d['ElapsedS']:.1f} s, bound {bound:.0f} s) "
      f"| {int(rss)/1024:.1f} MB | {d['MaxInFlight']} | {d['Requests']:,} sent, {d['NotSent']:,} not sent "
      f"| {d['Rps']:,.0f} | {d['Passed']} |")
PY
}

echo
echo "open model, 10,000 req/s asked of a target serving 1,000 req/s, timeout 5 s"
echo "| run | wall time | peak RSS | most in flight | requests | completed/s | passed |"
echo "| --- | --- | --- | --- | --- | --- | --- |"
overload "5 s, 2000 connections" 5s 2000
overload "5 s, 200 connections" 5s 200
overload "60 s, 2000 connections" 60s 2000
