# Two commands on a fresh machine: `make demo` and `make test` (see README.md).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
PYTHON := $(BIN)/python
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=
# `make demo PORT=8001` when 8000 is taken.
PORT ?= 8000

.PHONY: install demo test lint bench replay messages clean serve worker vendor

$(STAMP): pyproject.toml
	test -x $(PYTHON) || $(PY) -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --upgrade pip
	$(PYTHON) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(PYTHON) manage.py migrate --noinput -v0
	DEMO_URL=http://127.0.0.1:$(PORT) $(PYTHON) manage.py seed_demo
	DEBUG=1 $(PYTHON) manage.py runserver 127.0.0.1:$(PORT)

test: install
	$(PYTHON) manage.py makemigrations --check --dry-run -v0
	$(BIN)/ruff check --quiet .
	$(BIN)/pytest -q -rs $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .

bench: install
	$(PYTHON) bench/run_all.py

# The replay needs a database of its own (the true-up waits for every covered entity's verification,
# the demo market's included): a fresh SQLite file unless REPLAY_DATABASE_URL names another fresh one.
REPLAY_DATABASE_URL ?= sqlite:///$(CURDIR)/bench/out/replay.sqlite3
replay: install
	mkdir -p bench/out && rm -f bench/out/replay.sqlite3
	DATABASE_URL=$(REPLAY_DATABASE_URL) $(PYTHON) manage.py migrate --noinput -v0
	DATABASE_URL=$(REPLAY_DATABASE_URL) $(PYTHON) manage.py replay_cycle --entities 2257 --years 2021 2022 --seed 1

messages: install
	$(PYTHON) manage.py makemessages -l zh_Hans --ignore=.venv --ignore=staticfiles --ignore=bench -v0
	$(PYTHON) manage.py compilemessages --ignore=.venv -v0

# Refresh the vendored Tabler and ECharts from the npm registry (versions pinned in the script).
vendor:
	static/vendor/refresh.sh

worker: install
	$(BIN)/celery -A cets worker -l info

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles
