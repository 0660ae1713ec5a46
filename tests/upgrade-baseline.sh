#!/usr/bin/env bash
# Records what a release expands, as the baseline of the next release's upgrade check
# (macro/tests/upgrade.rs): every golden input and every example template as that release's code
# expands it. Run once per release, on the release's commit:
#   tests/upgrade-baseline.sh RELEASE_NAME [REV]      (REV defaults to HEAD)
# It builds fargate-app at REV in a temporary worktree (sharing this checkout's build directory)
# and writes tests/upgrade/baseline/{RELEASE,input/,output/}. Inputs the release refused are not
# recorded (there is nothing deployed to upgrade from).
set -euo pipefail
cd "$(dirname "$0")/.."
name=${1:?usage: tests/upgrade-baseline.sh RELEASE_NAME [REV]}
rev=$(git rev-parse --verify "${2:-HEAD}^{commit}")
root=$PWD
work=$(mktemp -d)
trap 'git -C "$root" worktree remove --force "$work/src" 2>/dev/null; rm -rf "$work"' EXIT
git worktree add -q --detach "$work/src" "$rev"
target=${CARGO_TARGET_DIR:-$root/target}
(cd "$work/src" && CARGO_TARGET_DIR="$target/upgrade-baseline" cargo build -q --bin fargate-app)
bin="$target/upgrade-baseline/debug/fargate-app"

out=tests/upgrade/baseline
rm -rf "$out"
mkdir -p "$out/input" "$out/output"
kept=0 refused=0
cd "$work/src"
for f in tests/macro/input/*.yaml examples/*/template.yaml; do
  case $(basename "$f") in error_*) continue ;; esac
  # One flat name per case: golden inputs keep theirs, examples take their folder's.
  if [[ $f == examples/* ]]; then case_name="example-$(basename "$(dirname "$f")")"; else case_name=$(basename "$f" .yaml); fi
  if "$bin" expand "$f" > "$root/$out/output/$case_name.json" 2>/dev/null; then
    cp "$f" "$root/$out/input/$case_name.yaml"
    kept=$((kept + 1))
  else
    rm -f "$root/$out/output/$case_name.json"
    refused=$((refused + 1))
  fi
done
printf 'release: %s\ncommit: %s\n' "$name" "$rev" > "$root/$out/RELEASE"
echo "baseline of $name ($rev): $kept templates recorded, $refused refused by that release and left out"
