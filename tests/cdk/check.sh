#!/usr/bin/env bash
# The CDK example's props types are what schema/Fargate-App.json generates, and tsc rejects
# misspelt properties with them. Needs the Node tools of tests/package.json (make setup).
set -euo pipefail
cd "$(dirname "$0")/../.."
generated=examples/cdk/lib/fargate-app-props.ts
if ! node tests/cdk/gen-props.mjs | diff -u "$generated" - >&2; then
  echo "$generated is not what schema/Fargate-App.json generates; regenerate it:" >&2
  echo "  node tests/cdk/gen-props.mjs > $generated" >&2
  exit 1
fi
tests/node_modules/.bin/tsc -p tests/cdk
echo "CDK props: $generated matches the schema; tsc rejects misspelt and mistyped properties"
