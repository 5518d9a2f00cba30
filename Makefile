# The verbs people look for. Only Python 3.11, make and git are needed on the machine.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
STAMP := $(VENV)/.installed

.PHONY: run test lint bench demo install clean e2e-browser

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python requirements.txt requirements-dev.txt
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP)

## make run: install, migrate SQLite, load demo data (once), start the web app and the job worker.
run: install
	@mkdir -p var
	$(BIN)/python manage.py migrate --no-input -v0
	$(BIN)/python manage.py createcachetable
	$(BIN)/python manage.py seed_demo --if-empty
	PORT=$(PORT) $(BIN)/python manage.py rundev

## make demo: load the demo data into an empty development database (it refuses to duplicate data).
demo: install
	@mkdir -p var
	$(BIN)/python manage.py migrate --no-input -v0
	$(BIN)/python manage.py createcachetable
	$(BIN)/python manage.py seed_demo

## make test: install and run the whole suite (DATABASE_URL picks the database; SQLite by default).
test: install
	$(BIN)/pytest -n 2 --dist loadfile

## make lint: ruff, formatting, type checks on domain and services, migrations in step with models.
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy billing_site/money.py billing_site/clock.py billing_site/errors.py billing_site/services catalog/domain catalog/services subscriptions/domain invoicing/domain
	DJANGO_SETTINGS_MODULE=billing_site.settings.test DATABASE_URL=sqlite://:memory: $(BIN)/python manage.py makemigrations --check --dry-run

## make bench: measure throughput; prints a table and writes bench-results/bench.json.
bench: install
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache .mypy_cache
