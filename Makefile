# contactmoment — `make help` lists the targets.
.DEFAULT_GOAL := help
SHELL := /bin/bash
CM := .venv/bin/contactmoment
PY := .venv/bin/python

.PHONY: help install up run test test-tools unit integration lint typecheck schemas down status bench bench-cluster bench-volume bench-staff bench-projector soak clean

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

install: ## create .venv and install the package with its test tools
	@deploy/bootstrap.sh

up: install ## start Kafka + PostgreSQL, create topics, migrate the database
	@$(CM) dev up
	@$(CM) topics create
	@$(CM) db migrate

run: up ## the main job: the whole stack and its processes in the foreground
	@deploy/run.sh

test: up test-tools ## the whole suite (unit + integration + e2e) on the real broker and database
	@$(PY) -m pytest

test-tools: ## system tools the tests drive (Debian's chromium for the staff-page test)
	@deploy/install-test-tools.sh

unit: install ## only the pure unit tests (no stack needed)
	@$(PY) -m pytest tests/unit

lint: install ## ruff (lint + format check), mypy (strict on schemas/ and domain/), layer rules
	@.venv/bin/ruff check .
	@.venv/bin/ruff format --check .
	@.venv/bin/mypy schemas domain streams services harness benchmarks
	@.venv/bin/lint-imports --no-cache

schemas: install ## regenerate schemas/json and schemas/asyncapi.json from the models
	@$(CM) schemas export

status: install ## what runs of the local stack
	@$(CM) dev status

down: install ## stop the local stack (data stays in .local/)
	@$(CM) dev down

bench: up ## benchmarks against the local stack; JSON results in benchmarks/results/
	@$(PY) -m benchmarks.ingest
	@$(PY) -m benchmarks.view
	@$(PY) -m benchmarks.clock

bench-cluster: up ## one vs two workers on a three-broker stack of its own; ingest → visible latency
	@$(PY) -m benchmarks.cluster

VOLUME_SCALE ?= 1.0
bench-volume: up ## years of data (1 M contacts at VOLUME_SCALE=1.0) and 1/10 of it: reads, KPIs, search, ingest
	@$(PY) -m benchmarks.volume --scale $(VOLUME_SCALE)

STAFF_SCALE ?= 1.0
bench-staff: up ## server time of every staff page on a generated read model of bench-volume's size
	@$(PY) -m benchmarks.staff_pages --scale $(STAFF_SCALE)

PROJECTOR_SCALE ?= 0.05
bench-projector: up ## projector and replay catching up a sealed backlog, beside a raw asyncpg COPY
	@$(PY) -m benchmarks.projector --scale $(PROJECTOR_SCALE)

SOAK_MINUTES ?= 30
soak: up ## simulator + broker/worker/database/stack faults on a schedule, then an audit (not in CI)
	@$(PY) -m benchmarks.soak --minutes $(SOAK_MINUTES)

clean: down ## stop the stack, delete .local/ and any PostgreSQL cluster kept outside it
	@$(CM) dev clean
	rm -rf .local
