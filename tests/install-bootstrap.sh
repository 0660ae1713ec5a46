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
trap 'kill $moto 2>/dev/null; wait $moto 2>/dev/null || true; rm -f "${tmp:-}"; rm -rf "${fake:-}"' EXIT
for _ in $(seq 300); do (echo > "/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
fail() { echo "install-bootstrap: $*" >&2; exit 1; }
export AWS_CLI="$PWD/.venv/bin/aws" RELEASE=2026-12
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
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

# The whole `make deploy` path after the build, with a stand-in for `make build` (the release
# build of both Lambdas is `make release`'s test): the zips are uploaded, the provider stack, the
# macro under its latest name and the macro pinned under this release's name are created, and no
# test tool (cfn-lint, checkov, npm packages) is installed on the way.
fake=$(mktemp -d)
printf '#!/usr/bin/env bash\nset -e\nfor f in provider macro; do mkdir -p %s/lambda/fargate-app-$f; printf x > %s/bootstrap; (cd %s && zip -q -o lambda/fargate-app-$f/bootstrap.zip bootstrap); done\n' "$fake" "$fake" "$fake" > "$fake/make"
chmod +x "$fake/make"
run env BUCKET="$first" MAKE="$fake/make" LAMBDA_DIR="$fake/lambda" cfn/install.sh deploy > /dev/null
for stack in fargate-app-provider fargate-app-macro fargate-app-macro-2026-12; do
  status=$(.venv/bin/aws cloudformation describe-stacks --stack-name "$stack" --query 'Stacks[0].StackStatus' --output text)
  [[ $status == CREATE_COMPLETE ]] || fail "stack $stack is $status"
done
.venv/bin/aws s3api head-object --bucket "$first" --key fargate-app/dev/arm64/provider.zip > /dev/null || fail "provider zip not uploaded"
echo "ok: deploy uploads both zips and creates the provider, FargateApp and FargateApp-2026-12 macro stacks"
# The single install template deploys on its own too.
.venv/bin/aws cloudformation deploy --template-file cfn/install.json --stack-name fargate-app-one --capabilities CAPABILITY_IAM \
  --parameter-overrides CodeBucket="$first" ProviderCodeKey=fargate-app/dev/arm64/provider.zip MacroCodeKey=fargate-app/dev/arm64/macro.zip \
  ExportName=FargateAppOne-ServiceToken MacroName=FargateApp-2026-12-1 > "$tmp" 2>&1 || fail "cfn/install.json did not deploy: $(cat "$tmp")"
echo "ok: cfn/install.json installs provider and macro in one stack"
