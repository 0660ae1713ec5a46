# FargateApp: the CloudFormation macro and provider for Fargate apps.
SHELL := /bin/bash
VENV := .venv
EXAMPLE ?= examples/002-users-products/template.yaml
FORMAT ?= json

.DEFAULT_GOAL := help
.PHONY: help setup build test test-rust lint lint-templates expand bench bench-loadtest package deploy clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

setup: $(VENV)/.installed ## Install the test tools (cfn-lint, moto, checkov, awscli) into .venv

$(VENV)/.installed: tests/requirements.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --disable-pip-version-check -r tests/requirements.txt
	touch $@

expand: ## Expand an example locally: make expand [EXAMPLE=path] [FORMAT=yaml]
	cargo run -q --bin fargate-app -- expand --format $(FORMAT) $(EXAMPLE)

test: setup ## Run every test (Rust unit, golden, property and integration tests; template lint)
	cargo test --workspace
	tests/lint-templates.sh

test-rust: ## Run only the Rust tests
	cargo test --workspace

lint: setup ## cargo fmt --check, clippy -D warnings, cfn-lint of goldens, examples and cfn/
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

clean: ## Remove build output and the venv
	cargo clean
	rm -rf $(VENV) tests/.tmp
