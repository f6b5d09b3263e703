# openclaw.gcp: one command each for set-up, demo, tests and lint. `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help
ENV := source scripts/env.sh &&

.PHONY: help setup demo demo-clean test test-unit test-integration test-emulator test-molecule test-memory test-e2e test-ee ee lint build bench clean

help: ## List the entry points
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  make %-18s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

setup: ## Install what is missing: .venv, Docker engine + Compose v2, local images (idempotent)
	@scripts/setup.sh

demo: setup ## Start the local GCE emulator and run site.yml against it (a healthy gateway behind an SSH tunnel)
	@$(ENV) scripts/demo.sh

demo-clean: ## Destroy the demo's VMs and stop the emulator the demo started
	@$(ENV) scripts/demo-clean.sh

test: setup ## Every test: lint, unit, collection, emulator, integration, Molecule, end-to-end
	@scripts/test.sh

test-unit: setup ## Unit tests only
	@scripts/test.sh unit

test-emulator: setup ## Emulator tests (memory and docker backends, real gcloud)
	@scripts/test.sh emulator

test-integration: setup ## Modules and inventory against the emulator
	@scripts/test.sh integration

test-molecule: setup ## Molecule scenarios (Debian 12 and 13, real gateway)
	@scripts/test.sh molecule

test-memory: setup ## Molecule memory drill only: converge and checks in a 1 GiB VM
	@scripts/test.sh memory

test-e2e: setup ## End-to-end: the playbooks on emulated gateways (two test modules at a time)
	@scripts/test.sh e2e

test-ee: setup ## Execution environment: build it, run site.yml inside it with ansible-runner (one gateway)
	@scripts/test.sh ee

ee: setup ## Build the execution environment openclaw-gcp/ee:latest for AWX/AAP (ansible-builder; only when its recipe changed)
	@$(ENV) scripts/ee.sh

lint: setup ## yamllint, ansible-lint (production), ansible-test sanity
	@scripts/lint.sh

build: setup ## Build the collection tarball (openclaw-gcp-VERSION.tar.gz)
	@$(ENV) ansible-galaxy collection build --force .

bench: setup ## Benchmarks and fault drills (prints tables, writes bench/results/*.json)
	@$(ENV) python bench/run.py

clean: demo-clean ## Remove the demo, caches and build output (keeps .venv and images)
	rm -rf .cache/sanity .cache/collections tests/output openclaw-gcp-*.tar.gz
