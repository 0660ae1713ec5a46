#!/usr/bin/env bash
# `make deploy` / `make package` check their inputs before anything slow (venv, release build):
# with no AWS credentials or no region they exit 2 naming what is missing and how to give it.
# Run with every AWS variable unset and an empty HOME (no ~/.aws), as on a fresh machine.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "install-inputs: $*" >&2; exit 1; }
clean_env=(env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY
  -u AWS_SESSION_TOKEN -u AWS_PROFILE -u AWS_DEFAULT_PROFILE -u AWS_REGION -u AWS_DEFAULT_REGION
  -u AWS_CONFIG_FILE -u AWS_SHARED_CREDENTIALS_FILE -u AWS_CONTAINER_CREDENTIALS_RELATIVE_URI
  -u AWS_CONTAINER_CREDENTIALS_FULL_URI -u AWS_WEB_IDENTITY_TOKEN_FILE -u FARGATE_APP_INSTANCE_CREDENTIALS
  HOME="$tmp/home" PATH="$PATH")
mkdir -p "$tmp/home"

# expect TARGET EXIT_CODE PATTERN... [-- extra env]
run() {
  local target=$1; shift
  set +e
  "${clean_env[@]}" "$@" make --no-print-directory "$target" > "$tmp/out" 2>&1
  echo $? > "$tmp/rc"
  set -e
}
expect() {
  local what=$1 rc; shift
  rc=$(cat "$tmp/rc")
  [[ $rc == 2 ]] || fail "$what: exit $rc, want 2: $(cat "$tmp/out")"
  for p in "$@"; do grep -q -- "$p" "$tmp/out" || fail "$what: no '$p' in: $(cat "$tmp/out")"; done
  # Nothing slow started: no venv setup, no cargo build.
  ! grep -Eq 'python3 -m venv|pip install|cargo|Compiling' "$tmp/out" || fail "$what: started setup or a build: $(cat "$tmp/out")"
  echo "ok: $what -> exit 2: $(head -c 160 "$tmp/out" | tr '\n' ' ')"
}

run deploy
expect "make deploy with nothing" "missing AWS credentials" "AWS_ACCESS_KEY_ID" "missing AWS region" "AWS_REGION"
run package
expect "make package with nothing" "make package: missing AWS credentials" "missing AWS region"
run deploy AWS_ACCESS_KEY_ID=AKIAEXAMPLE AWS_SECRET_ACCESS_KEY=x
expect "make deploy with keys, no region" "missing AWS region"
grep -q "credentials" "$tmp/out" && fail "keys given, yet credentials reported missing: $(cat "$tmp/out")"
run deploy AWS_REGION=eu-west-1
expect "make deploy with a region, no credentials" "missing AWS credentials"
run deploy AWS_PROFILE=nosuch AWS_REGION=eu-west-1
expect "make deploy with an unknown profile" "profile 'nosuch' has none"
run deploy AWS_ACCESS_KEY_ID=AKIAEXAMPLE AWS_SECRET_ACCESS_KEY=x REGION=eu-west-1 ARCH=sparc
expect "make deploy with a bad ARCH" "ARCH must be arm64 or x86_64"
# A profile in ~/.aws/config with a region and SSO settings satisfies both checks: the check
# passes and `make check-aws` exits 0.
mkdir -p "$tmp/home/.aws"
printf '[profile dev]\nsso_session = corp\nregion = eu-west-1\n' > "$tmp/home/.aws/config"
"${clean_env[@]}" AWS_PROFILE=dev make --no-print-directory check-aws > "$tmp/out" 2>&1 \
  || fail "a profile with SSO and a region should pass the check: $(cat "$tmp/out")"
echo "ok: a profile with SSO settings and a region passes"
