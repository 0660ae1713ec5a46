#!/bin/sh
# The stack name of a branch environment: stack-name.sh PROJECT BRANCH
# (my-project, feature/test123 -> my-project-feature-test123).
# CloudFormation: a stack name holds only letters, digits and hyphens, starts with a letter and
# is at most 128 characters
# (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateStack.html).
# A longer name keeps 119 characters and ends with 8 hex digits of the branch's SHA-256, so two
# long branches with one prefix get two stacks.
set -eu
[ $# -eq 2 ] || { echo "usage: $0 PROJECT BRANCH" >&2; exit 2; }
slug() { printf '%s' "$1" | tr 'A-Z' 'a-z' | sed 's/[^a-z0-9]/-/g; s/--*/-/g; s/^-//; s/-$//'; }
name="$(slug "$1")-$(slug "$2")"
name="${name#-}"; name="${name%-}"
case "$name" in [a-z]*) ;; *) name="env-$name" ;; esac
if [ "${#name}" -gt 128 ]; then
  hash=$(printf '%s' "$2" | sha256sum | cut -c1-8)
  name="$(printf '%s' "$name" | cut -c1-119 | sed 's/-*$//')-$hash"
fi
printf '%s\n' "$name"
