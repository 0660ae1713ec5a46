#!/usr/bin/env bash
# The construct package's generated props (cfn/cdk/src/app-properties.ts) are what
# schema/Fargate-App.json generates. Needs the Node tools of tests/package.json (make setup).
# tests/cdk/pack.sh (make test) packs, installs and synthesizes the package itself.
set -euo pipefail
cd "$(dirname "$0")/../.."
generated=cfn/cdk/src/app-properties.ts
if ! node tests/cdk/gen-props.mjs | diff -u "$generated" - >&2; then
  echo "$generated is not what schema/Fargate-App.json generates; regenerate it:" >&2
  echo "  node tests/cdk/gen-props.mjs > $generated" >&2
  exit 1
fi
echo "CDK props: $generated matches the schema"
