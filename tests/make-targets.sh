#!/usr/bin/env bash
# Papercuts of the Makefile and the lint script, as a user meets them:
# 1. `make expand > out.json` is valid JSON (make echoes no command onto stdout);
# 2. the template lint works with CARGO_TARGET_DIR set elsewhere (no ./target at all) and with a
#    generated examples/cdk/template.yaml lying around (make cdk-example used to write one that
#    failed the lint).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "make-targets: $*" >&2; exit 1; }

# 1. As typed at a shell (no outer make's flags).
env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS make --no-print-directory expand > "$tmp/out.json"
python3 -m json.tool "$tmp/out.json" > /dev/null || fail "make expand > out.json is not JSON: $(head -c 200 "$tmp/out.json")"
echo "ok: make expand > out.json is valid JSON"

# 2. A checkout without ./target (every source a symlink) whose build goes to CARGO_TARGET_DIR
#    (the existing build dir, so nothing is rebuilt), with a generated cdk template in examples/.
mkdir -p "$tmp/repo/examples/cdk"
for f in Cargo.toml Cargo.lock rust-toolchain.toml .cfnlintrc.yaml macro loadtest provider cfn tests .venv; do
  ln -s "$root/$f" "$tmp/repo/$f"
done
for d in examples/*/; do
  [[ $d == examples/cdk/ ]] || ln -s "$root/$d" "$tmp/repo/examples/$(basename "$d")"
done
# What `cdk synth` prints: a template with the CDK's BootstrapVersion parameter, unused after
# expansion (a cfn-lint warning).
cat > "$tmp/repo/examples/cdk/template.yaml" <<'YAML'
Transform: FargateApp
Parameters:
  BootstrapVersion: { Type: AWS::SSM::Parameter::Value<String>, Default: /cdk-bootstrap/hnb659fds/version }
Resources:
  Topic: { Type: AWS::SNS::Topic }
YAML
CARGO_TARGET_DIR="$root/target" "$tmp/repo/tests/lint-templates.sh" --examples-only \
  || fail "the example lint fails with CARGO_TARGET_DIR set or a generated examples/cdk/template.yaml"
echo "ok: example lint with CARGO_TARGET_DIR=$root/target, no ./target, and a generated cdk template"
