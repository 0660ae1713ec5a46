# FargateApp: the CloudFormation macro and provider for Fargate apps.
SHELL := /bin/bash
VENV := .venv
EXAMPLE ?= examples/002-users-products/template.yaml
FORMAT ?= json
# Lambda architecture: arm64 (default) or x86_64.
ARCH ?= arm64
# S3 bucket (in the target region) for the Lambda zips: make package deploy BUCKET=...
BUCKET ?=
VERSION ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo dev)
PROVIDER_STACK ?= fargate-app-provider
MACRO_STACK ?= fargate-app-macro
CODE_PREFIX = fargate-app/$(VERSION)/$(ARCH)
LAMBDA_ZIPS = target/lambda/fargate-app-provider/bootstrap.zip target/lambda/fargate-app-macro/bootstrap.zip

.DEFAULT_GOAL := help
.PHONY: help setup build test test-rust lint lint-templates expand bench bench-loadtest bench-lambda cdk-example package deploy clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

setup: $(VENV)/.installed tests/node_modules/.installed ## Install the test tools (cfn-lint, moto, checkov, awscli into .venv; json-schema-to-typescript, tsc into tests/node_modules)

$(VENV)/.installed: tests/requirements.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --disable-pip-version-check -r tests/requirements.txt
	touch $@

tests/node_modules/.installed: tests/package.json tests/package-lock.json
	cd tests && npm ci --no-audit --no-fund --loglevel=error
	touch $@

build: setup ## Build both Lambda zips (release, provided.al2023) with cargo-lambda: make build [ARCH=x86_64]
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" cargo lambda build --release $(if $(filter x86_64,$(ARCH)),--x86-64,--arm64) \
	  --output-format zip --bin fargate-app-provider --bin fargate-app-macro
	@ls -l $(LAMBDA_ZIPS)

package: build ## Upload the Lambda zips to S3: make package BUCKET=my-bucket [ARCH=x86_64]
	@test -n "$(BUCKET)" || { echo "make package needs BUCKET=<an S3 bucket in the target region>"; exit 2; }
	$(VENV)/bin/aws s3 cp target/lambda/fargate-app-provider/bootstrap.zip s3://$(BUCKET)/$(CODE_PREFIX)/provider.zip
	$(VENV)/bin/aws s3 cp target/lambda/fargate-app-macro/bootstrap.zip s3://$(BUCKET)/$(CODE_PREFIX)/macro.zip

deploy: setup ## Install the provider, then the macro, from the packaged zips: make deploy BUCKET=my-bucket
	@test -n "$(BUCKET)" || { echo "make deploy needs BUCKET=<the bucket make package used>"; exit 2; }
	$(VENV)/bin/aws cloudformation deploy --template-file cfn/provider.yaml --stack-name $(PROVIDER_STACK) \
	  --capabilities CAPABILITY_IAM --no-fail-on-empty-changeset \
	  --parameter-overrides CodeBucket=$(BUCKET) CodeKey=$(CODE_PREFIX)/provider.zip Architecture=$(ARCH)
	$(VENV)/bin/aws cloudformation deploy --template-file cfn/macro.yaml --stack-name $(MACRO_STACK) \
	  --capabilities CAPABILITY_IAM --no-fail-on-empty-changeset \
	  --parameter-overrides CodeBucket=$(BUCKET) CodeKey=$(CODE_PREFIX)/macro.zip Architecture=$(ARCH)

expand: ## Expand an example locally: make expand [EXAMPLE=path] [FORMAT=yaml]
	cargo run -q --bin fargate-app -- expand --format $(FORMAT) $(EXAMPLE)

test: setup ## Run every test (Rust unit, golden, property and integration tests; template lint)
	cargo test --workspace
	tests/lint-templates.sh

test-rust: ## Run only the Rust tests
	cargo test --workspace

lint: setup ## cargo fmt --check, clippy -D warnings, cfn-lint of goldens, examples (source and expansion) and cfn/
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings
	tests/lint-templates.sh

lint-templates: setup ## cfn-lint every golden output, example expansion and cfn/ template
	tests/lint-templates.sh

bench: ## Benchmarks (release build; not part of make test)
	cargo build --release -q --bin fargate-app
	cargo run --release -q -p fargate-app-macro --example bench_expand

bench-loadtest: ## Load-test engine against oha on a local target (needs oha; not part of make test)
	tests/bench-loadtest.sh

bench-lambda: ## Release Lambda sizes and cold start under the runtime API emulator (after make build)
	tests/bench-lambda.sh

cdk-example: ## Synthesize examples/cdk with the CDK (npm) and expand it (not part of make test)
	cd examples/cdk && npm install --no-audit --no-fund && npx cdk synth --no-version-reporting > template.yaml
	mkdir -p tests/.tmp && cargo run -q --bin fargate-app -- expand examples/cdk/template.yaml > tests/.tmp/cdk-expanded.json
	$(VENV)/bin/cfn-lint --ignore-checks W2001 -- tests/.tmp/cdk-expanded.json

clean: ## Remove build output, Lambda zips and the venv
	cargo clean
	rm -rf $(VENV) tests/.tmp
