#!/usr/bin/env bash
# The bucket step of make package/deploy against moto server (CloudFormation, S3, STS on a free
# loopback port): with only credentials and a region it deploys cfn/bootstrap.yaml and uses the
# bucket the stack outputs; a second run reuses it (an unchanged stack is not an error); with
# BUCKET=... no stack is made. moto reproduces CloudFormation's create of the bucket stack and its
# physical IDs, and `deploy --no-fail-on-empty-changeset` on no change. Not reproduced: the
# stack's Outputs after a change-set deploy (moto leaves them empty, hence the script reads the
# bucket's physical ID), the bucket policy, IAM.
set -euo pipefail
cd "$(dirname "$0")/.."
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
.venv/bin/moto_server -H 127.0.0.1 -p "$port" > /dev/null 2>&1 &
moto=$!
trap 'kill $moto 2>/dev/null; wait $moto 2>/dev/null || true; rm -f "${tmp:-}"' EXIT
for _ in $(seq 300); do (echo > "/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
fail() { echo "install-bootstrap: $*" >&2; exit 1; }
export AWS_CLI="$PWD/.venv/bin/aws" RELEASE=2026-12
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1
export AWS_ENDPOINT_URL="http://127.0.0.1:$port" BOOTSTRAP_STACK=fargate-app-bootstrap-test
unset BUCKET AWS_PROFILE
run() { "$@" > "$tmp" 2>&1 || fail "$* failed: $(cat "$tmp")"; tail -1 "$tmp"; }
tmp=$(mktemp)
first=$(run cfn/install.sh bucket)
[[ -n $first ]] || fail "no bucket printed"
.venv/bin/aws s3api head-bucket --bucket "$first" > /dev/null || fail "bucket $first does not exist"
echo "ok: bootstrap stack created bucket $first"
second=$(run cfn/install.sh bucket)
[[ $second == "$first" ]] || fail "second run gave $second, want $first"
echo "ok: a second run reuses $first"
given=$(run env BUCKET=my-own-bucket BOOTSTRAP_STACK=not-made cfn/install.sh bucket)
[[ $given == my-own-bucket ]] || fail "BUCKET=my-own-bucket gave $given"
if .venv/bin/aws cloudformation describe-stacks --stack-name not-made > /dev/null 2>&1; then
  fail "BUCKET was given, yet a bootstrap stack was made"
fi
echo "ok: BUCKET=my-own-bucket is used as is, no stack made"
