#!/usr/bin/env bash
# make package / make deploy. Checks the inputs first (in well under a second, before the
# release build), then: credential check with STS, artifact bucket (BUCKET, or the bootstrap
# stack's), cargo-lambda build (make build installs cargo-lambda alone, never the test tools),
# upload, and for deploy the provider stack, the macro under its latest name (FargateApp) and the
# same macro pinned under this release's name (FargateApp-$RELEASE, a stack of its own that later
# releases leave in place). Needs the AWS CLI on PATH (or AWS_CLI=/path/to/aws).
# Usage: cfn/install.sh check|bucket|package|deploy   (settings come from the Makefile's environment;
# `bucket` stops after printing the artifact bucket, for tests)
set -euo pipefail
cd "$(dirname "$0")/.."
step=${1:?usage: cfn/install.sh check|bucket|package|deploy}
: "${LAMBDA_DIR:=target/lambda}" "${ARCH:=arm64}" "${VERSION:=dev}" "${MAKE:=make}" "${RELEASE:?RELEASE (the Makefile sets it)}"
: "${BOOTSTRAP_STACK:=fargate-app-bootstrap}" "${PROVIDER_STACK:=fargate-app-provider}" "${MACRO_STACK:=fargate-app-macro}"
[[ -n "${REGION:-}" ]] && export AWS_REGION="$REGION"
# The venv's AWS CLI (v1) reads only AWS_DEFAULT_REGION (docs.aws.amazon.com/cli/v1/userguide/
# cli-configure-envvars.html); SDKs and CLI v2 read AWS_REGION first.
[[ -n "${AWS_REGION:-}" ]] && export AWS_DEFAULT_REGION="$AWS_REGION"

# key=value lines of one [section] of an AWS config/credentials file.
ini_section() {
  [[ -f "$1" ]] || return 0
  awk -v want="[$2]" '
    { line = $0; gsub(/^[ \t]+|[ \t]+$/, "", line) }
    line ~ /^\[/ { gsub(/[ \t]+/, " ", line); inside = (line == want); next }
    inside && line ~ /=/ {
      k = substr(line, 1, index(line, "=") - 1); v = substr(line, index(line, "=") + 1)
      gsub(/[ \t]+$/, "", k); gsub(/^[ \t]+/, "", v); print k "=" v
    }' "$1"
}

check_inputs() {
  local config=${AWS_CONFIG_FILE:-$HOME/.aws/config} creds=${AWS_SHARED_CREDENTIALS_FILE:-$HOME/.aws/credentials}
  local profile=${AWS_PROFILE:-${AWS_DEFAULT_PROFILE:-default}} section profile_keys missing=()
  if [[ $profile == default ]]; then section=default; else section="profile $profile"; fi
  profile_keys=$( { ini_section "$config" "$section"; ini_section "$creds" "$profile"; } )
  # The credential sources the AWS CLI and SDKs read without a network call.
  if [[ -n "${AWS_ACCESS_KEY_ID:-}" && -z "${AWS_SECRET_ACCESS_KEY:-}" ]]; then
    missing+=("AWS_SECRET_ACCESS_KEY (AWS_ACCESS_KEY_ID is set without it)")
  elif [[ -z "${AWS_ACCESS_KEY_ID:-}" && -z "${AWS_CONTAINER_CREDENTIALS_RELATIVE_URI:-}${AWS_CONTAINER_CREDENTIALS_FULL_URI:-}" \
          && -z "${AWS_WEB_IDENTITY_TOKEN_FILE:-}" && "${FARGATE_APP_INSTANCE_CREDENTIALS:-}" != 1 ]] \
       && ! grep -Eq '^(aws_access_key_id|sso_session|sso_start_url|credential_process|role_arn|web_identity_token_file|login_session)=' <<<"$profile_keys"; then
    if [[ -n "${AWS_PROFILE:-}" ]]; then
      missing+=("AWS credentials: profile '$AWS_PROFILE' has none in $config or $creds (aws configure --profile $AWS_PROFILE, or aws sso login --profile $AWS_PROFILE)")
    else
      missing+=("AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE=<profile> (aws configure / aws sso login); on EC2 with an instance role, FARGATE_APP_INSTANCE_CREDENTIALS=1")
    fi
  fi
  if [[ -z "${AWS_REGION:-}${AWS_DEFAULT_REGION:-}" ]] && ! grep -q '^region=.' <<<"$profile_keys"; then
    missing+=("AWS region: set AWS_REGION=<region> (or REGION=<region> on the make command line, or region in the profile '$profile')")
  fi
  if (( ${#missing[@]} )); then
    for m in "${missing[@]}"; do echo "make $TARGET: missing $m" >&2; done
    exit 2
  fi
  if [[ $ARCH != arm64 && $ARCH != x86_64 ]]; then
    echo "make $TARGET: ARCH must be arm64 or x86_64, not '$ARCH'" >&2
    exit 2
  fi
}

TARGET=$step
[[ $step == check ]] && TARGET=${CHECK_FOR:-deploy}
check_inputs
[[ $step == check ]] && exit 0

aws_cli=${AWS_CLI:-$(command -v aws || true)}
if [[ -z $aws_cli ]]; then
  echo "make $step: the AWS CLI is not on PATH (https://docs.aws.amazon.com/cli/latest/userguide/getting-started-install.html), or set AWS_CLI=/path/to/aws" >&2
  exit 2
fi
aws() { "$aws_cli" "$@"; }
who=$(aws sts get-caller-identity --query Arn --output text) || {
  echo "make $step: the AWS credentials found do not work (aws sts get-caller-identity failed above)" >&2
  exit 2
}
echo "Installing as $who in $(aws configure get region 2>/dev/null || echo "${AWS_REGION:-${AWS_DEFAULT_REGION:-}}")"

bucket=${BUCKET:-}
# A bucket's physical ID is its name (what the stack's output also gives).
bootstrap_bucket() {
  aws cloudformation describe-stack-resource --stack-name "$BOOTSTRAP_STACK" --logical-resource-id ArtifactBucket \
    --query StackResourceDetail.PhysicalResourceId --output text 2>/dev/null
}
if [[ -z $bucket ]]; then
  # Made once per account and region, then reused as it is.
  if ! bucket=$(bootstrap_bucket); then
    aws cloudformation deploy --template-file cfn/bootstrap.yaml --stack-name "$BOOTSTRAP_STACK" --no-fail-on-empty-changeset
    bucket=$(bootstrap_bucket)
  fi
fi
[[ -n $bucket && $bucket != None ]] || { echo "make $step: stack $BOOTSTRAP_STACK has no ArtifactBucket" >&2; exit 1; }
if [[ $step == bucket ]]; then echo "$bucket"; exit 0; fi
prefix="fargate-app/$VERSION/$ARCH"

"$MAKE" --no-print-directory build ARCH="$ARCH"
aws s3 cp "$LAMBDA_DIR/fargate-app-provider/bootstrap.zip" "s3://$bucket/$prefix/provider.zip"
aws s3 cp "$LAMBDA_DIR/fargate-app-macro/bootstrap.zip" "s3://$bucket/$prefix/macro.zip"
[[ $step == package ]] && exit 0

aws cloudformation deploy --template-file cfn/provider.yaml --stack-name "$PROVIDER_STACK" \
  --capabilities CAPABILITY_IAM --no-fail-on-empty-changeset \
  --parameter-overrides CodeBucket="$bucket" CodeKey="$prefix/provider.zip" Architecture="$ARCH"
# The latest (FargateApp) and this release pinned (FargateApp-$RELEASE): a template that names the
# pinned transform keeps this release's expansion when a later release updates FargateApp.
for name in FargateApp "FargateApp-$RELEASE"; do
  stack=$MACRO_STACK
  [[ $name == FargateApp ]] || stack="$MACRO_STACK-$RELEASE"
  aws cloudformation deploy --template-file cfn/macro.yaml --stack-name "$stack" \
    --capabilities CAPABILITY_IAM --no-fail-on-empty-changeset \
    --parameter-overrides CodeBucket="$bucket" CodeKey="$prefix/macro.zip" Architecture="$ARCH" MacroName="$name"
done
