#!/usr/bin/env bash
# Release Lambda binaries: sizes, and cold start (process start to the first answered event)
# under the Lambda runtime API emulator (cargo lambda watch --only-lambda-apis). Run after
# `make build` (any ARCH runnable here). Not part of `make test`.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
for fn in fargate-app-macro fargate-app-provider; do
  zip=target/lambda/$fn/bootstrap.zip
  [ -f "$zip" ] || { echo "$zip missing: run make build ARCH=x86_64" >&2; exit 2; }
  mkdir -p "tests/.tmp/lambda/$fn"
  python3 -c "import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])" "$zip" "tests/.tmp/lambda/$fn"
  boot=tests/.tmp/lambda/$fn/bootstrap
  chmod +x "$boot"
  printf '%-22s bootstrap %6.1f MB, zip %5.1f MB\n' "$fn" "$(stat -c %s "$boot" | awk '{print $1/1048576}')" "$(stat -c %s "$zip" | awk '{print $1/1048576}')"
done
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
setsid cargo lambda watch --only-lambda-apis -A 127.0.0.1 -P "$port" > /dev/null 2>&1 &
emu=$!
trap 'kill -KILL -- -$emu 2>/dev/null || true' EXIT
until (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do sleep 0.1; done
# A ResponseURL that accepts the provider's PUT.
rport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
python3 -c '
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_PUT(self):
        self.rfile.read(int(self.headers.get("content-length", 0))); self.send_response(200); self.end_headers()
    def log_message(self, *a): pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()' "$rport" &
rsrv=$!
trap 'kill -KILL -- -$emu 2>/dev/null || true; kill $rsrv 2>/dev/null || true' EXIT
until (exec 3<>"/dev/tcp/127.0.0.1/$rport") 2>/dev/null; do sleep 0.1; done
delete_event='{"RequestType":"Delete","ServiceToken":"x","ResponseURL":"http://127.0.0.1:'$rport'/x","StackId":"s","RequestId":"r","ResourceType":"Custom::FargateListenerPort","LogicalResourceId":"L","PhysicalResourceId":"L-not-created-r","ResourceProperties":{}}'
for fn in fargate-app-macro fargate-app-provider; do
  if [ $fn = fargate-app-macro ]; then event=$(cat tests/macro/events/success.json); else event=$delete_event; fi
  for run in 1 2 3; do
    start=$(date +%s%N)
    AWS_LAMBDA_RUNTIME_API="http://127.0.0.1:$port/.rt" AWS_LAMBDA_FUNCTION_NAME=_ AWS_LAMBDA_FUNCTION_VERSION=1 \
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE=1769 AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=x \
      "tests/.tmp/lambda/$fn/bootstrap" > /dev/null 2>&1 &
    pid=$!
    curl -sS -o /dev/null -X POST "http://127.0.0.1:$port/2015-03-31/functions/_/invocations" --data-binary "$event"
    end=$(date +%s%N)
    kill $pid 2>/dev/null; wait $pid 2>/dev/null || true
    printf '%-22s run %d: process start to first answer %.1f ms\n' "$fn" "$run" "$(( end - start ))e-6"
  done
done
