# FargateApp: the CloudFormation macro and provider for Fargate apps.
SHELL := /bin/bash
VENV := .venv
EXAMPLE ?= examples/002-users-products/template.yaml
FORMAT ?= json
# Lambda architecture: arm64 (default) or x86_64.
ARCH ?= arm64
# S3 bucket (in the target region) for the Lambda zips; empty: the bootstrap stack's bucket.
BUCKET ?=
# AWS region; empty: AWS_REGION, AWS_DEFAULT_REGION or the profile's region.
REGION ?=
VERSION ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo dev)
# The release: the pinned macro name FargateApp-$(RELEASE) and the upgrade baseline's name.
RELEASE ?= 2026-12
# Only what building the Lambda zips needs (cargo-lambda), apart from the test tools.
BUILD_VENV := .venv-build
PROVIDER_STACK ?= fargate-app-provider
MACRO_STACK ?= fargate-app-macro
BOOTSTRAP_STACK ?= fargate-app-bootstrap
# What cfn/install.sh reads.
INSTALL_ENV = BUCKET="$(BUCKET)" REGION="$(REGION)" ARCH="$(ARCH)" VERSION="$(VERSION)" RELEASE="$(RELEASE)" \
  BOOTSTRAP_STACK="$(BOOTSTRAP_STACK)" PROVIDER_STACK="$(PROVIDER_STACK)" MACRO_STACK="$(MACRO_STACK)" MAKE="$(MAKE)"
LAMBDA_ZIPS = target/lambda/fargate-app-provider/bootstrap.zip target/lambda/fargate-app-macro/bootstrap.zip

.DEFAULT_GOAL := help
.PHONY: help setup build release upgrade-baseline test test-rust sim-long lint lint-templates expand diff-example model-long check-aws bench bench-loadtest bench-lambda cdk-example package deploy clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

setup: $(VENV)/.installed tests/node_modules/.installed cfn/cdk/node_modules/.installed ## Install the test tools (cfn-lint, moto, checkov, awscli into .venv; json-schema-to-typescript, tsc into tests/node_modules; the CDK package's build tools into cfn/cdk/node_modules)

$(VENV)/.installed: tests/requirements.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --disable-pip-version-check -r tests/requirements.txt
	touch $@

tests/node_modules/.installed: tests/package.json tests/package-lock.json
	cd tests && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# aws-cdk-lib, constructs, the cdk CLI and tsc at the versions examples/cdk pins (tests/cdk/pack.sh
# installs the example from npm's cache that this fills).
cfn/cdk/node_modules/.installed: cfn/cdk/package.json cfn/cdk/package-lock.json
	cd cfn/cdk && npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(BUILD_VENV)/.installed: cfn/build-requirements.txt
	python3 -m venv $(BUILD_VENV)
	$(BUILD_VENV)/bin/pip install -q --disable-pip-version-check -r cfn/build-requirements.txt
	touch $@

build: $(BUILD_VENV)/.installed ## Build both Lambda zips (release, provided.al2023) with cargo-lambda: make build [ARCH=x86_64]
	PATH="$(CURDIR)/$(BUILD_VENV)/bin:$$PATH" cargo lambda build --release $(if $(filter x86_64,$(ARCH)),--x86-64,--arm64) \
	  --output-format zip --bin fargate-app-provider --bin fargate-app-macro
	@ls -l $(LAMBDA_ZIPS)

release: $(BUILD_VENV)/.installed ## Release artifacts in dist/$(RELEASE)/: both zips per architecture, the CLI, cfn/install.json, SHA256SUMS
	RELEASE="$(RELEASE)" BUILD_VENV="$(BUILD_VENV)" cfn/release.sh

upgrade-baseline: ## Record this commit's expansions as the next release's upgrade baseline: make upgrade-baseline RELEASE=...
	tests/upgrade-baseline.sh $(RELEASE)

check-aws: ## Check for AWS credentials and a region (no network; what package and deploy do first)
	@$(INSTALL_ENV) CHECK_FOR=deploy cfn/install.sh check

package: ## Build the Lambda zips and upload them: make package [BUCKET=my-bucket] [ARCH=x86_64] [REGION=...]
	@$(INSTALL_ENV) cfn/install.sh package

deploy: ## Install everything with only AWS credentials and a region: bucket stack (unless BUCKET=...), zips, provider, macro
	@$(INSTALL_ENV) cfn/install.sh deploy

expand: ## Expand an example locally: make expand [EXAMPLE=path] [FORMAT=yaml] > out.json
	@cargo run -q --bin fargate-app -- expand --format $(FORMAT) $(EXAMPLE)

diff-example: ## What a Port change of example 001 would replace (fargate-app diff --fail-on replacement: exit 2)
	@mkdir -p tests/.tmp
	@sed 's/Port: 8448/Port: 9090/' examples/001-app-behind-alb/template.yaml > tests/.tmp/001-port-9090.yaml
	@cargo run -q --bin fargate-app -- diff --fail-on replacement examples/001-app-behind-alb/template.yaml tests/.tmp/001-port-9090.yaml; \
	  rc=$$?; echo "(fargate-app diff exit code $$rc: 2 is a replacement)"; [ $$rc -eq 2 ]

test: setup ## Run every test (Rust unit, golden, property and integration tests; template lint)
	tests/install-inputs.sh
	tests/install-bootstrap.sh
	cargo test --workspace
	$(VENV)/bin/python tests/create-only.py --check
	tests/make-targets.sh
	$(VENV)/bin/python tests/example-probe.py
	tests/lint-templates.sh
	tests/cdk/pack.sh

test-rust: ## Run only the Rust tests
	cargo test --workspace

sim-long: ## The provider simulation, release build, 10,000 schedules per handler (SIM_SCHEDULES=N, SIM_FAMILY=gate for one family; prints progress, faults by kind, violations and time)
	SIM_SCHEDULES=$${SIM_SCHEDULES:-10000} cargo test --release -p fargate-app-provider --test sim -- --nocapture

lint: setup ## cargo fmt --check, clippy -D warnings, cfn-lint of goldens, examples (source and expansion) and cfn/
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings
	tests/lint-templates.sh

lint-templates: setup ## cfn-lint every golden output, example expansion and cfn/ template
	tests/lint-templates.sh

model-long: ## The model over 10,000 generated templates (count, refusals by reason, known defects, failures, time)
	MODEL_CASES=$${MODEL_CASES:-10000} cargo test -p fargate-app-macro --test model_generated generated -- --nocapture

bench: ## Benchmarks (release build; not part of make test)
	cargo build --release -q --bin fargate-app
	cargo run --release -q -p fargate-app-macro --example bench_expand

bench-loadtest: ## Load-test engine beside wrk (and oha if installed) on a local nginx (needs wrk, nginx; not part of make test)
	tests/bench-loadtest.sh

bench-lambda: ## Release Lambda sizes and cold start under the runtime API emulator (after make build)
	tests/bench-lambda.sh

cdk-example: cfn/cdk/node_modules/.installed ## Pack cfn/cdk, synthesize examples/cdk with it into tests/.tmp/cdk/ and expand it (make test runs tests/cdk/pack.sh instead)
	mkdir -p tests/.tmp/cdk
	cd cfn/cdk && npm pack --silent --pack-destination ../../tests/.tmp/cdk >/dev/null
	cd examples/cdk && npm ci --no-audit --no-fund --loglevel=error && npm install --no-save --no-audit --no-fund --loglevel=error ../../tests/.tmp/cdk/fargate-app-cdk-*.tgz \
	  && npx cdk synth --no-version-reporting > ../../tests/.tmp/cdk/template.yaml
	cargo run -q --bin fargate-app -- expand tests/.tmp/cdk/template.yaml > tests/.tmp/cdk-expanded.json
	$(VENV)/bin/cfn-lint -- tests/.tmp/cdk-expanded.json

clean: ## Remove build output, Lambda zips and the venv
	cargo clean
	rm -rf $(VENV) $(BUILD_VENV) tests/.tmp dist
