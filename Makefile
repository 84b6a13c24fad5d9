# Shoal: `make run` starts the whole platform locally; `make test` runs the tests.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
# The coding-agent runtimes (Claude Code, Codex, Copilot, OpenCode and their ACP adapters), pinned by
# runtimes/package-lock.json. npm ci empties node_modules first, so a stamp from an older lock goes with it.
RUNTIMES_STAMP := runtimes/node_modules/.installed-$(shell cksum runtimes/package-lock.json | cut -d' ' -f1)

.PHONY: install runtimes run reset test eval lint format bench events image manifests clean

# The image, named once in deploy/base/kustomization.yaml (`images:`); override with IMAGE=registry/shoal:tag.
IMAGE ?= $(shell awk '/newName:/{n=$$2} /newTag:/{t=$$2} END{print n ":" t}' deploy/base/kustomization.yaml)
OVERLAY ?= aws

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

# --ignore-scripts: every runtime ships its native binary in an npm platform package, so no install
# script is needed (docs/runtimes-facts.md names the binaries); none may download anything.
$(RUNTIMES_STAMP): runtimes/package.json runtimes/package-lock.json
	npm ci --prefix runtimes --ignore-scripts --no-audit --no-fund
	touch $@

runtimes: $(RUNTIMES_STAMP)

# make run keeps its state (tables, bucket, dev token, workers' output) in SHOAL_STATE_DIR; make reset wipes it.
SHOAL_STATE_DIR ?= .shoal

run: install
	$(PY) -m shared.local

reset:
	rm -rf -- "$(SHOAL_STATE_DIR)"

test: install
	$(PY) -m pytest -n 2 --dist loadfile

# The evaluation harness (docs/evals.md). Without arguments: the deterministic plumbing run of every
# scenario (no model quality); EVAL_ARGS="--mode model --out evals/runs/NAME" for the configured model.
EVAL_ARGS ?= --fresh
eval: install
	$(PY) -m shared.evals run $(EVAL_ARGS)

lint: install
	$(VENV)/bin/ruff check .

format: install
	$(VENV)/bin/ruff check --fix .

# Every benchmark runs and prints its figures; the exit status says whether all met their targets.
BENCHES := cold_start list_latency task_create task_start get_latency chat_ttfb compat_proxy gateway_overhead console_latency memory store_scale
bench: install
	@status=0; for b in $(BENCHES); do $(PY) tests/bench/$$b.py || status=1; done; exit $$status

events: install
	$(PY) -m shared.events.registry

# Both images from the one Dockerfile: the functions' (default target) and the coding-agent runtimes'
# (target `runtimes`, named like IMAGE with `-runtimes`; SHOAL_RUNTIME_IMAGE in the manifests).
image:
	docker build -t $(IMAGE) .
	docker build --target runtimes -t $(shell echo '$(IMAGE)' | sed 's/:\([^:/]*\)$$/-runtimes:\1/') .

# The manifests of deploy/overlays/$(OVERLAY) for $(IMAGE), written to shoal-$(OVERLAY).yaml (docs/deploy.md).
manifests: install
	$(PY) -m shared.deploy.render --overlay $(OVERLAY) --image $(IMAGE) --output shoal-$(OVERLAY).yaml

clean:
	rm -rf $(VENV) .pytest_cache runtimes/node_modules
