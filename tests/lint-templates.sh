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
# The source templates, as their authors lint them: every example and golden input against the
# Fargate::App registry schema (schema/), and every golden error case whose problem is a property's
# shape must be rejected. tests/cfn-lint-source.py is cfn-lint with the registry schema applied to
# properties (cfn-lint 1.58 only uses it to know the type). Ignored on sources only, since the
# expansions above are linted with every rule: E3004 (the cycle Users -> Products -> Users that
# `!Sub ${Products.DiscoveryName}` makes in the source graph; the macro resolves DiscoveryName to
# a literal, so the expansion has no such edge), E6101 (Outputs naming generated resources such as
# UsersLoadTestGate, which exist only after expansion), W3005 (DependsOn an App waits for all of
# its resources, not only the service a Ref reaches, so it is not redundant).
src_lint=(.venv/bin/python3 tests/cfn-lint-source.py --registry-schemas schema --ignore-checks E3004 E6101 W3005)
sources=(examples/*/template.yaml)
for f in tests/macro/input/*; do [[ $(basename "$f") == error_* ]] || sources+=("$f"); done
# intrinsics_everywhere.yaml sets AssignPublicIp to !If [.., DISABLED, ENABLED]: the macro passes
# an intrinsic through to ECS, which takes ENABLED/DISABLED, while a literal is a boolean. The
# schema documents the boolean, so E3012 is expected there until the macro maps intrinsics too.
expected_findings='intrinsics_everywhere.yaml:E3012'
set +e
found=$("${src_lint[@]}" --format parseable -- "${sources[@]}")
set -e
unexpected=$(while IFS=: read -r file _ _ _ _ rule _; do
  if [[ -n $file ]] && ! grep -qx "$(basename "$file"):$rule" <<<"$expected_findings"; then echo "$file $rule"; fi
done <<<"$found")
if [[ -n $unexpected ]]; then
  echo "cfn-lint with schema/ rejects source templates:" >&2
  grep -F "$(cut -d' ' -f1 <<<"$unexpected")" <<<"$found" >&2
  exit 1
fi
# Golden error cases whose problem is not a single property's shape (references, generated IDs,
# the resource count, the Url the gate needs, resource attributes outside Properties).
not_shape='error_attribute_unavailable error_id_collision error_load_test_unknown_url error_resource_attributes error_too_many_resources error_unknown_attribute'
shape_cases=()
for f in tests/macro/input/error_*; do
  [[ " $not_shape " == *" $(basename "${f%.*}") "* ]] || shape_cases+=("$f")
done
set +e
found=$("${src_lint[@]}" --format parseable -- "${shape_cases[@]}")
set -e
missed=()
for f in "${shape_cases[@]}"; do
  grep -q "^$f:[0-9:]*:E30[0-9][0-9]:" <<<"$found" || missed+=("$f")
done
if (( ${#missed[@]} )); then
  echo "schema/Fargate-App.json accepts these golden error cases: ${missed[*]}" >&2
  exit 1
fi
echo "cfn-lint --registry-schemas schema: ${#sources[@]} source templates valid, every property-shape error case rejected"
# The CDK example's typed props are generated from the same schema.
tests/cdk/check.sh
# Security findings on the install templates; every skipped check is justified in place.
.venv/bin/checkov -d cfn --framework cloudformation --skip-download --compact --quiet
