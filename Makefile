# Two entry points: `make demo` (embedded SQLite demo on http://127.0.0.1:8000) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The suite runs as the app role (owns nothing; audit rows INSERT/SELECT) after migrating as the owner.
TEST_MIGRATE_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/cd8pet
TEST_DATABASE_URL ?= postgres://cd8pet_suite@127.0.0.1:5432/cd8pet
TEST_REDIS_URL ?= redis://127.0.0.1:6379/0
# pytest-xdist workers (one test database, Redis database and media folder each: tests/xdist_env.py); files
# stay whole on one worker (--dist loadfile) so module-scoped fixtures such as the trimmed demo load once.
TEST_WORKERS ?= 2
DEMO_ADDR ?= 127.0.0.1:8000

.PHONY: demo test install services system-deps lint bench serve-demo db-roles

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[test]"
	touch $@

install: $(VENV)/.installed

# Browser tests drive Debian's Chromium; the DICOM tests run dcmtk (dcmcjpeg, dcmcjpls, dcmcrle, dcmconv) and
# dicom3tools (dciodvfy) as independent peers. Install what is missing (as root on CI and dev machines).
system-deps:
	@missing=""; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	command -v dcmcjpeg >/dev/null 2>&1 || missing="$$missing dcmtk"; \
	command -v dciodvfy >/dev/null 2>&1 || missing="$$missing dicom3tools"; \
	if [ -n "$$missing" ]; then \
	  echo "Installing Debian packages for the tests:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

# Start PostgreSQL and Redis when they are not running and this machine has them.
services:
	@pg_isready -q -h 127.0.0.1 -p 5432 || { \
	  command -v pg_ctlcluster >/dev/null && pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql | sort -n | tail -1) main start; \
	  for i in $$(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done; }
	@redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 || { \
	  command -v redis-server >/dev/null && redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no; \
	  for i in $$(seq 1 30); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break; sleep 1; done; }

test: install services system-deps
	DATABASE_URL=$(TEST_MIGRATE_DATABASE_URL) $(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	DATABASE_URL=$(TEST_DATABASE_URL) MIGRATE_DATABASE_URL=$(TEST_MIGRATE_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) $(BIN)/pytest -q -n $(TEST_WORKERS) --dist loadfile

lint: install
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/lint-imports

demo: install
	mkdir -p var
	$(BIN)/python manage.py migrate --noinput -v0
	$(BIN)/python manage.py load_demo
	$(BIN)/python manage.py collectstatic --noinput -v0
	$(BIN)/python manage.py runserver --insecure $(DEMO_ADDR)

bench: install services
	DATABASE_URL=$(TEST_DATABASE_URL) $(BIN)/python bench/run_all.py

# Production database roles: migrate as the owner (MIGRATE_DATABASE_URL), then create/grant the app role
# named in DATABASE_URL (owns nothing; audit rows INSERT and SELECT only). Re-run after every migration.
db-roles: install
	@test -n "$(MIGRATE_DATABASE_URL)" && test -n "$(DATABASE_URL)" || { echo "Set MIGRATE_DATABASE_URL (owner) and DATABASE_URL (app role)"; exit 2; }
	DATABASE_URL="$(MIGRATE_DATABASE_URL)" $(BIN)/python manage.py migrate --noinput
	DATABASE_URL="$(MIGRATE_DATABASE_URL)" $(BIN)/python manage.py grant_app_role --app-url "$(DATABASE_URL)"
