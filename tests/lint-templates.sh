#!/usr/bin/env bash
# Lints what users deploy: every golden expansion, the expansion of every example, and cfn/.
# Fails on any cfn-lint error or warning (exit code bits 2 and 4).
# --examples-only: only the examples' expansions (no goldens, no cfn/, no checkov).
set -euo pipefail
cd "$(dirname "$0")/.."
only_examples=false
[[ ${1:-} == --examples-only ]] && only_examples=true
out=tests/.tmp/examples
rm -rf "$out" && mkdir -p "$out"
# Cargo says where it put the binary (CARGO_TARGET_DIR, a config's target-dir, or ./target).
bin=$(cargo build -q --bin fargate-app --message-format=json \
  | python3 -c 'import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "fargate-app" and m.get("executable"):
        print(m["executable"])')
[[ -x $bin ]] || { echo "lint-templates: cargo reported no fargate-app binary" >&2; exit 1; }
for t in examples/*/template.yaml; do
  name=$(basename "$(dirname "$t")")
  # examples/cdk is a CDK app; a template.yaml there is cdk synth output, not an example.
  [[ $name == cdk ]] && continue
  "$bin" expand "$t" > "$out/$name.json"
done
files=("$out"/*.json)
if ! $only_examples; then
  files=(tests/macro/output/*.json "${files[@]}")
  if ls cfn/*.yaml >/dev/null 2>&1; then files+=(cfn/*.yaml); fi
fi
set +e
.venv/bin/cfn-lint --config-file .cfnlintrc.yaml -- "${files[@]}"
rc=$?
set -e
if (( rc & 6 )); then
  echo "cfn-lint found errors or warnings (exit $rc) in ${#files[@]} templates" >&2
  exit 1
fi
echo "cfn-lint: ${#files[@]} templates, no errors or warnings"
$only_examples && exit 0
# Security findings on the install templates; every skipped check is justified in place.
.venv/bin/checkov -d cfn --framework cloudformation --skip-download --compact --quiet
