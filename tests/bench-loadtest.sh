#!/usr/bin/env bash
# Benchmark of the load-test engine against oha (not part of `make test`): one local target
# pinned to core 1, the load tool pinned to core 0; closed model at concurrency 50 for 10 s,
# twice each; then the open model at 2000 req/s for 10 s. Needs oha (`cargo install oha
# --locked`), taskset and GNU time.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v oha >/dev/null || { echo "oha not found: cargo install oha --locked" >&2; exit 2; }
cargo build --release -q --bin fargate-app
cargo build --release -q -p fargate-app-loadtest --example target
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
TARGET_THREADS=1 taskset -c 1 target/release/examples/target "$port" 2>/dev/null &
target_pid=$!
trap 'kill $target_pid 2>/dev/null' EXIT
sleep 0.5
url="http://127.0.0.1:$port/"
out=$(mktemp); tm=$(mktemp)

# run NAME CMD...: prints requests, req/s, CPU microseconds per request, peak RSS.
run() {
  local name=$1; shift
  /usr/bin/time -f "%U %S %M" -o "$tm" taskset -c 0 "$@" > "$out" 2>/dev/null || true
  python3 - "$name" "$out" "$tm" <<'PY'
import json, sys
name, out, tm = sys.argv[1:4]
user, sys_, rss = open(tm).read().split()[-3:]
d = json.load(open(out))
if "summary" in d:  # oha
    reqs = sum(d.get("statusCodeDistribution", {}).values())
    rps = d["summary"]["requestsPerSec"]
else:
    reqs = d["Requests"]; rps = d["Rps"]
cpu = (float(user) + float(sys_)) * 1e6 / max(reqs, 1)
print(f"{name:<22} {reqs:>9} requests {rps:>10.0f} req/s {cpu:>7.2f} us CPU/request {int(rss)/1024:>7.1f} MB peak")
PY
}

echo "closed model, 50 connections, 10 s (load tool on core 0, target on core 1)"
for i in 1 2; do
  run "fargate-app run $i" target/release/fargate-app loadtest "$url" --concurrency 50 --duration 10s --threads 1 --json --quiet
  run "oha run $i" oha -z 10s -c 50 --no-tui --output-format json "$url"
done
echo "open model, 2000 req/s, 10 s"
taskset -c 0 target/release/fargate-app loadtest "$url" --rate 2000 --duration 10s --threads 1 --json --quiet > "$out" || true
python3 -c "
import json; d = json.load(open('$out'))
print(f\"sent {d['SentRps']:.1f} req/s of {d['TargetRps']} asked ({abs(d['SentRps'] - d['TargetRps']) / d['TargetRps'] * 100:.2f}% off), completed {d['Rps']:.1f} req/s, p99 {d['P99Ms']:.2f} ms\")"
