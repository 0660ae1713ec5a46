#!/usr/bin/env bash
# Lints what users deploy: every golden expansion, the expansion of every example, and cfn/.
# Fails on any cfn-lint error or warning (exit code bits 2 and 4).
set -euo pipefail
cd "$(dirname "$0")/.."
out=tests/.tmp/examples
rm -rf "$out" && mkdir -p "$out"
cargo build -q --bin fargate-app
for t in examples/*/template.yaml; do
  name=$(basename "$(dirname "$t")")
  ./target/debug/fargate-app expand "$t" > "$out/$name.json"
done
files=(tests/macro/output/*.json "$out"/*.json)
if ls cfn/*.yaml >/dev/null 2>&1; then files+=(cfn/*.yaml); fi
set +e
.venv/bin/cfn-lint --config-file .cfnlintrc.yaml -- "${files[@]}"
rc=$?
set -e
if (( rc & 6 )); then
  echo "cfn-lint found errors or warnings (exit $rc) in ${#files[@]} templates" >&2
  exit 1
fi
echo "cfn-lint: ${#files[@]} templates, no errors or warnings"
# Security findings on the install templates; every skipped check is justified in place.
.venv/bin/checkov -d cfn --framework cloudformation --skip-download --compact --quiet
