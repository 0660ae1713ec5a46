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
  if ls cfn/*.yaml >/dev/null 2>&1; then files+=(cfn/*.yaml cfn/*.json); fi
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

# A sample of the model generator's templates (macro/tests/gen/), expanded, with every rule but
# W8001: the generator declares all its conditions in every template, used or not; and W2001:
# a parameter the macro resolves at expansion (`Name`, `Deployment.Strategy`) is no longer
# referenced by the expansion, and the generator keeps an image parameter beside a given
# `TaskDefinition`. The goldens and examples above are linted with W2001.
rm -rf "$out/generated" && mkdir -p "$out/generated"
MODEL_CASES=256 MODEL_EXPANSIONS_DIR="$PWD/$out/generated" MODEL_EXPANSIONS_MAX=48 \
  cargo test -q -p fargate-app-macro --test model_generated generated > /dev/null
generated=("$out"/generated/*.json)
set +e
.venv/bin/cfn-lint --config-file .cfnlintrc.yaml --ignore-checks W8001 W2001 -- "${generated[@]}"
rc=$?
set -e
if (( rc & 6 )); then
  echo "cfn-lint found errors or warnings (exit $rc) in the generated templates" >&2
  exit 1
fi
echo "cfn-lint: ${#generated[@]} generated expansions, no errors or warnings"
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
# Findings expected on sources, one FILE:RULE a line (none today). AssignPublicIp is a boolean
# in the schema, also inside Fn::If, whose branches the macro maps to ECS's ENABLED/DISABLED
# (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-ecs-service-awsvpcconfiguration.html).
expected_findings=''
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
# the resource count, the Url the gate needs, resource attributes outside Properties, rules over
# two properties: one subnet for a created ALB, DesiredCount with Scaling, a health-check Timeout
# against the default Interval, a Statistic needed for a metric the macro does not know; what a
# Ref stands for: an ambiguous Standby or secret; a strategy against the routing or the 33-hour
# CloudFormation limit; the gate against the listener and the ALB: Host with HTTPS, a Path outside
# the rule, vpc workers behind an internet-facing ALB; parameter values; two claims of one
# priority or port; a strategy on a listener with other actions; HTTP on an HTTPS listener;
# names under conditions that can both hold, one namespace named two ways, one record name
# twice, a certificate not covering a Domain, a wildcard Domain; TaskDefinition against the
# container properties and what a load balancer needs beside it; a ScalingCheck against its
# App's Scaling and LoadBalancer, and its load against the listener and the ALB as the gate's).
not_shape='error_discovery_name_twice error_load_test_host_wildcard_rule error_rule_shadowed_by_neighbour
  error_template_rule_on_app_listener error_load_test_https_no_host error_load_test_path_outside_rule error_load_test_vpc_internet_facing
  error_load_test_vpc_template_alb error_parameter_values error_priority_and_port_claimed_twice
  error_protocol_in_template_listener error_strategy_mixed_listener_actions
  error_attribute_unavailable error_id_collision error_load_test_unknown_url error_resource_attributes error_too_many_resources error_unknown_attribute
  error_dedicated_alb_one_subnet error_desired_count_with_scaling error_health_check_timeout_default_interval
  error_failover_trigger_statistic_unknown error_failover_standby_ambiguous error_failover_datapoints_over_periods error_secrets_intrinsic_unknown
  error_strategy_routing error_strategy_too_long error_service_connect_names_twice error_branch_names error_branch_names_twice
  error_names_under_conditions_and_domains error_domain_wildcard_and_certificate
  error_trial3_parameter_collisions error_trial3_gate_internet_to_internal_alb error_task_definition_arn error_scaling_check error_scaling_check_reach'
shape_cases=()
for f in tests/macro/input/error_*; do
  [[ " ${not_shape//$'\n'/ } " == *" $(basename "${f%.*}") "* ]] || shape_cases+=("$f")
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
