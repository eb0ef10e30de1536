# Two commands set everything up on a fresh machine: `make chat` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
LOTSE  := $(BIN)/lotse

.PHONY: chat run webhook test bench install install-dev migrate demo clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV) || ($(PYTHON) -m pip install --quiet virtualenv && $(PYTHON) -m virtualenv $(VENV))
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(VENV)/.installed $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

migrate: install
	$(LOTSE) db upgrade

demo: migrate
	$(LOTSE) content load --if-empty

chat: demo          ## terminal chat on the demo content
	$(LOTSE) chat

run: demo           ## Telegram long polling (needs BOT_TOKEN)
	$(LOTSE) run

webhook: demo       ## Telegram webhook server (needs BOT_TOKEN, WEBHOOK_URL, WEBHOOK_SECRET)
	$(LOTSE) run --webhook

test: install-dev   ## the whole suite, one worker per core (the end-to-end tests mostly wait)
	$(BIN)/python -m pytest -n auto

bench: install-dev  ## benchmarks; figures go to bench-results/ and the README
	$(BIN)/python -m tests.bench

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache
