#!/usr/bin/env bash
# The construct package (cfn/cdk) as a user gets it: `npm pack` it, install the tarball into a
# scratch copy of examples/cdk (its pinned package-lock.json, npm ci), compile with tsc (the
# example, tests/cdk/pack-app.ts and the type mistakes of tests/cdk/pack-typo.ts), `cdk synth`
# offline (no account: env-agnostic stacks, no lookups), check the templates
# (tests/cdk/pack-assert.mjs), check that a Cpu/Memory pair Fargate does not run fails synth
# naming the construct path and the property, and expand both templates with the macro and lint
# the expansions (cfn-lint of .venv, or CFN_LINT).
# Needs `make setup` (cfn/cdk/node_modules, which also fills npm's cache with the example's
# pinned versions: the scratch install reads the cache first). Prints the time of each step.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
tmp=tests/.tmp/cdk-pack
app=$tmp/app
rm -rf "$tmp"
mkdir -p "$app"
fail() { echo "tests/cdk/pack.sh: $*" >&2; exit 1; }
step() { echo "  $1: $((SECONDS - t0))s"; t0=$SECONDS; }
t0=$SECONDS

# The example and the package pin the same aws-cdk-lib and constructs.
for dep in aws-cdk-lib constructs; do
  want=$(node -p "require('./examples/cdk/package.json').dependencies['$dep']")
  have=$(node -p "require('./cfn/cdk/package.json').devDependencies['$dep']")
  [[ $want == "$have" ]] || fail "examples/cdk pins $dep $want, cfn/cdk $have"
done

tgz_name=$(cd cfn/cdk && npm pack --silent --pack-destination "$root/$tmp" | tail -n 1)
tgz=$root/$tmp/$tgz_name
step "npm pack (tsc of cfn/cdk/src)"
contents=$(tar -tzf "$tgz" | sort | tr '\n' ' ')
for f in package/lib/index.js package/lib/index.d.ts package/lib/app-properties.d.ts package/lib/task-sizes.json package/README.md; do
  [[ " $contents" == *" $f "* ]] || fail "$tgz_name lacks $f (it has: $contents)"
done
[[ $contents != *package/src/* && $contents != *node_modules* ]] || fail "$tgz_name ships sources or node_modules: $contents"

cp -r examples/cdk/bin examples/cdk/cdk.json examples/cdk/package.json examples/cdk/package-lock.json examples/cdk/tsconfig.json "$app/"
cp tests/cdk/pack-app.ts tests/cdk/pack-typo.ts "$app/bin/"
cp -r tests/cdk/asset "$app/asset"
(cd "$app" && npm ci --prefer-offline --no-audit --no-fund --loglevel=error \
  && npm install --no-save --prefer-offline --no-audit --no-fund --loglevel=error "$tgz") >/dev/null
step "npm ci of the example + npm install of the tarball"

(cd "$app" && npx tsc -p .)
step "tsc"
node tests/cdk/pack-units.mjs "$app"

synth=(npx cdk synth --no-version-reporting --no-path-metadata --no-asset-metadata --no-notices -q)
(cd "$app" && "${synth[@]}" --app 'node build/bin/app.js' -o cdk.out.example \
  && "${synth[@]}" --app 'node build/bin/pack-app.js' -o cdk.out.props)
step "cdk synth (example, pack-app)"
node tests/cdk/pack-assert.mjs "$app/cdk.out.props/Props.template.json" "$app/cdk.out.example/ShopOnFargate.template.json"

# The BadSize stack (memoryLimitMiB 4096 with cpu 256, a variable in both secrets and
# environment, registry credentials): refused at synth, each naming the construct and property.
set +e
bad=$(cd "$app" && "${synth[@]}" --app 'node build/bin/pack-app.js' -c bad=1 -o cdk.out.bad 2>&1)
rc=$?
set -e
(( rc != 0 )) || fail "cdk synth accepted the BadSize stack (cpu 256 with memoryLimitMiB 4096, ...)"
while read -r want; do
  grep -qF -- "$want" <<<"$bad" || fail "cdk synth of BadSize failed without '$want':
$bad"
done <<'EXPECTED'
[BadSize/Api] memoryLimitMiB (Memory): 4096 is not valid with cpu 256 (allowed: 512, 1024, 2048)
[BadSize/Twice] secrets.TOKEN (Secrets): also set in environment: a variable comes from one or the other
[BadSize/Private] image (Image): registry credentials are not supported by Fargate::App; use a public image or ECR
[BadSize/Private] image (Image): needs secretsmanager:GetSecretValue, secretsmanager:DescribeSecret on the execution role, which Fargate::App does not grant
EXPECTED
step "cdk synth of the BadSize stack (refused)"

# What the macro makes of them: both expand (the CDK's Fn::Join secrets would not), and the
# expansions lint clean (.cfnlintrc.yaml ignores nothing).
expanded=()
for t in "$app/cdk.out.props/Props.template.json" "$app/cdk.out.example/ShopOnFargate.template.json"; do
  cargo run -q --bin fargate-app -- expand "$t" > "${t%.json}.expanded.json" \
    || fail "fargate-app expand refused $t"
  expanded+=("${t%.json}.expanded.json")
done
"${CFN_LINT:-.venv/bin/cfn-lint}" -- "${expanded[@]}" || fail "cfn-lint finds problems in the expansions"
step "fargate-app expand and cfn-lint of both"
echo "CDK package: $tgz_name packed, installed, compiled, synthesized and checked; cpu 256 / memoryLimitMiB 4096 refused at synth; both templates expand, lint clean"
