#!/usr/bin/env bash
# Benchmark of the load-test engine (release build; not part of `make test`).
# The engine runs as `loadgen` (loadtest/examples/loadgen.rs): the same `fargate_loadtest::run`
# as `fargate-app loadtest --threads 1`, built without the whole CLI, with a counting allocator
# that reports the peak of live heap bytes.
# 1. Closed model, 50 connections, 10 s, the engine beside wrk (one thread) and oha 1.16 (if
#    installed) on a local nginx (one worker): the load tool pinned to core 0, nginx to core 1;
#    ROUNDS interleaved rounds (default 3); requests/s, CPU microseconds per request (user + sys
#    of the process), peak RSS, and the load average when the run started.
# 2. Open model at 10x the capacity of a slow target (the example target handling 10 requests
#    at a time, 10 ms each: 1,000 req/s; 10,000 req/s asked) for 5 s at two connection limits
#    and 60 s at the default: wall time against the bound duration + timeout, peak RSS, peak
#    live heap, and both per request in flight.
# Needs wrk, nginx, taskset, GNU time; oha optional (`cargo install oha --version 1.16.0 --locked`,
# or OHA=path). BASELINE=path: a `loadgen` built from an earlier commit, run in each round and
# beside each open-model run too (before and after a change, interleaved).
set -euo pipefail
cd "$(dirname "$0")/.."
OHA=${OHA:-$(command -v oha || true)}
NGINX=${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}
WRK=${WRK:-$(command -v wrk || true)}
ROUNDS=${ROUNDS:-3}
BASELINE=${BASELINE:-}
[ -n "$OHA" ] && [ -x "$OHA" ] || { echo "oha not found (cargo install oha --version 1.16.0 --locked): no oha rows" >&2; OHA=; }
[ -n "$WRK" ] && [ -x "$WRK" ] || { echo "wrk not found: apt-get install wrk" >&2; exit 2; }
[ -x "$NGINX" ] || { echo "nginx not found: apt-get install nginx" >&2; exit 2; }
cargo build --release -q -p fargate-app-loadtest --example target --example loadgen
engine=${CARGO_TARGET_DIR:-target}/release/examples/loadgen
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
MAX_CONCURRENT=10 TARGET_THREADS=1 taskset -c 1 "${CARGO_TARGET_DIR:-target}/release/examples/target" "$slow_port" 10 2>/dev/null &
pids+=($!)
sleep 1
out="$work/out.json"; tm="$work/time"

load() { cut -d' ' -f1 /proc/loadavg; }

# run NAME CMD...: requests, req/s, CPU microseconds per request, peak RSS of the load tool.
run() {
  local name=$1; shift
  local la; la=$(load)
  /usr/bin/time -f "%e %U %S %M" -o "$tm" taskset -c 0 "$@" > "$out" 2>/dev/null || true
  python3 - "$name" "$out" "$tm" "$la" <<'PY'
import json, re, sys
name, out, tm, la = sys.argv[1:5]
wall, user, sys_, rss = open(tm).read().split()[-4:]
text = open(out).read()
if text.lstrip().startswith("{"):
    d = json.loads(text)
    if "summary" in d:  # oha
        reqs = sum(d.get("statusCodeDistribution", {}).values())
        rps = d["summary"]["requestsPerSec"]
    else:
        reqs = d["Requests"]; rps = d["Rps"]
else:  # wrk
    reqs = int(re.search(r"(\d+) requests in", text).group(1))
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
cpu = (float(user) + float(sys_)) * 1e6 / max(reqs, 1)
print(f"| {name} | {rps:,.0f} | {cpu:.2f} us | {int(rss)/1024:.1f} MB | {la} |")
PY
}

echo "closed model, 50 connections, 10 s, nginx (load tool on core 0, nginx on core 1)"
echo "| tool | requests/s | CPU per request | peak RSS | load average |"
echo "| --- | --- | --- | --- | --- |"
url="http://127.0.0.1:$nginx_port/"
for i in $(seq "$ROUNDS"); do
  [ -z "$BASELINE" ] || run "baseline engine, round $i" "$BASELINE" "$url" --concurrency 50 --duration 10s
  run "engine, round $i" "$engine" "$url" --concurrency 50 --duration 10s
  run "wrk, round $i" "$WRK" -t1 -c50 -d10s "$url"
  [ -z "$OHA" ] || run "oha 1.16, round $i" "$OHA" -z 10s -c 50 --no-tui --output-format json "$url"
done

# overload NAME DURATION MAX_CONNECTIONS: wall time against the bound, peak RSS and live heap,
# both per request in flight, what completed.
overload() {
  local name=$1 duration=$2 conns=$3 bin=${4:-$engine}
  local la; la=$(load)
  /usr/bin/time -f "%e %U %S %M" -o "$tm" taskset -c 0 "$bin" \
    "http://127.0.0.1:$slow_port/" --rate 10000 --duration "$duration" --timeout 5s \
    --max-connections "$conns" > "$out" 2>/dev/null || true
  python3 - "$name" "$out" "$tm" "$la" <<'PY'
import json, sys
name, out, tm, la = sys.argv[1:5]
wall, user, sys_, rss = open(tm).read().split()[-4:]
d = json.load(open(out))
bound = d["DurationS"] + 5
n = max(d["MaxInFlight"], 1)
rss_kb = int(rss)
heap = d["PeakHeapBytes"]
print(f"| {name} | {float(wall):.1f} s (bound {bound:.0f} s) | {rss_kb/1024:.1f} MB "
      f"| {heap/2**20:.1f} MB | {d['MaxInFlight']} | {rss_kb/n:.1f} KB | {heap/1024/n:.1f} KB "
      f"| {d['Requests']:,} / {d['NotSent']:,} | {d['Completed']/d['ElapsedS']:,.0f} | {la} |")
PY
}

echo
echo "open model, 10,000 req/s asked of a target serving 1,000 req/s, timeout 5 s"
echo "| run | wall time | peak RSS | peak heap | most in flight | RSS per in flight | heap per in flight | sent / not sent | completed/s | load average |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
for spec in "5s 2000" "5s 200" "60s 2000"; do
  set -- $spec
  [ -z "$BASELINE" ] || overload "baseline, $1, $2 connections" "$1" "$2" "$BASELINE"
  overload "$1, $2 connections" "$1" "$2"
done
