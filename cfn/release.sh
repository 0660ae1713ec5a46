#!/usr/bin/env bash
# make release: the artifacts a release page (or a user's own bucket) holds, in dist/$RELEASE/:
#   fargate-app-provider-<arch>.zip, fargate-app-macro-<arch>.zip   (arch: x86_64, arm64)
#   fargate-app-<host triple>      the CLI, release build
#   install.json                   one template: provider + macro (cfn/install.json)
#   macro.yaml                     the macro alone, to pin a release (MacroName=FargateApp-$RELEASE)
#   SHA256SUMS
# Then the shipped artifact is tested: the provider's and the macro's end-to-end tests run the
# `bootstrap` taken out of the x86_64 zips under the Lambda runtime API emulator (the tests'
# BOOTSTRAP_* variables), and those of the arm64 zips under qemu-user where it is installed. ARCHS="x86_64" builds one architecture only. Exits non-zero when an
# architecture did not build or a test of the shipped binary failed, after building the rest.
set -uo pipefail
cd "$(dirname "$0")/.."
: "${RELEASE:?RELEASE (the Makefile sets it)}" "${BUILD_VENV:=.venv-build}" "${ARCHS:=x86_64 arm64}"
out="dist/$RELEASE"
rm -rf "$out"
mkdir -p "$out"
failed=()
export PATH="$PWD/$BUILD_VENV/bin:$PATH"
for arch in $ARCHS; do
  flag=--arm64
  [[ $arch == x86_64 ]] && flag=--x86-64
  start=$(date +%s)
  if cargo lambda build --release "$flag" --output-format zip --bin fargate-app-provider --bin fargate-app-macro; then
    for f in provider macro; do cp "target/lambda/fargate-app-$f/bootstrap.zip" "$out/fargate-app-$f-$arch.zip"; done
    echo "release: $arch zips built in $(( $(date +%s) - start )) s"
  else
    echo "release: the $arch build failed (arm64 needs the aarch64-unknown-linux-gnu standard library: rustup target add aarch64-unknown-linux-gnu)" >&2
    failed+=("build $arch")
  fi
done
host=$(rustc -vV | sed -n 's/^host: //p')
cargo build --release -q --bin fargate-app && cp target/release/fargate-app "$out/fargate-app-$host" || failed+=("CLI")
cp cfn/install.json cfn/macro.yaml "$out/"
(cd "$out" && sha256sum -- * > SHA256SUMS)
ls -l "$out"

if [[ -f $out/fargate-app-provider-x86_64.zip && $(uname -m) == x86_64 ]]; then
  shipped="$out/shipped"
  mkdir -p "$shipped/provider" "$shipped/macro"
  unzip -q -o "$out/fargate-app-provider-x86_64.zip" -d "$shipped/provider"
  unzip -q -o "$out/fargate-app-macro-x86_64.zip" -d "$shipped/macro"
  BOOTSTRAP_FARGATE_APP_PROVIDER="$PWD/$shipped/provider/bootstrap" \
    cargo test -q -p fargate-app-provider --test e2e_lambda || failed+=("provider e2e on the shipped bootstrap")
  BOOTSTRAP_FARGATE_APP_MACRO="$PWD/$shipped/macro/bootstrap" \
    cargo test -q -p fargate-app-macro --test e2e_lambda || failed+=("macro e2e on the shipped bootstrap")
  rm -rf "$shipped"
fi
# The arm64 zips under qemu-user (Debian: qemu-user and libc6-arm64-cross), the same tests.
if [[ -f $out/fargate-app-provider-arm64.zip ]] && command -v qemu-aarch64 >/dev/null && [[ -d /usr/aarch64-linux-gnu ]]; then
  shipped="$PWD/$out/shipped-arm64"
  mkdir -p "$shipped/provider" "$shipped/macro"
  unzip -q -o "$out/fargate-app-provider-arm64.zip" -d "$shipped/provider"
  unzip -q -o "$out/fargate-app-macro-arm64.zip" -d "$shipped/macro"
  for f in provider macro; do
    printf '#!/bin/sh\nexec qemu-aarch64 -L /usr/aarch64-linux-gnu %s/%s/bootstrap "$@"\n' "$shipped" "$f" > "$shipped/$f.sh"
    chmod +x "$shipped/$f.sh"
  done
  BOOTSTRAP_FARGATE_APP_PROVIDER="$shipped/provider.sh" \
    cargo test -q -p fargate-app-provider --test e2e_lambda || failed+=("provider e2e on the arm64 bootstrap (qemu)")
  BOOTSTRAP_FARGATE_APP_MACRO="$shipped/macro.sh" \
    cargo test -q -p fargate-app-macro --test e2e_lambda || failed+=("macro e2e on the arm64 bootstrap (qemu)")
  rm -rf "$shipped"
else
  echo "release: arm64 zips not tested (needs qemu-aarch64 and /usr/aarch64-linux-gnu: apt-get install qemu-user libc6-arm64-cross)"
fi
if (( ${#failed[@]} )); then
  printf 'release: failed: %s\n' "${failed[@]}" >&2
  exit 1
fi
echo "release: dist/$RELEASE is complete"
