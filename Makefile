# Relcal: `make run` starts the portal with demo data, `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test test-deps install lint format lock clean

# Debian and Ubuntu ship Python without ensurepip unless python3-venv is installed: then make
# the venv without pip and bootstrap pip from its wheel on PyPI.
define BOOTSTRAP_PIP
import json, subprocess, sys, tempfile, urllib.parse, urllib.request
index = "https://pypi.org/pypi/pip/json"
info = json.load(urllib.request.urlopen(index, timeout=60))
url = next(u["url"] for u in info["urls"] if u["packagetype"] == "bdist_wheel")
wheel = tempfile.mkdtemp() + "/" + url.rsplit("/", 1)[-1]
urllib.request.urlretrieve(urllib.parse.urljoin(index, url), wheel)
subprocess.check_call([sys.executable, wheel + "/pip", "install", "--quiet", wheel])
endef
export BOOTSTRAP_PIP

$(STAMP): requirements.lock
	test -x $(PY) || $(PYTHON) -m venv $(VENV) || { \
	  rm -rf $(VENV) && $(PYTHON) -m venv --without-pip $(VENV) && $(PY) -c "$$BOOTSTRAP_PIP"; }
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.lock
	touch $(STAMP)

install: $(STAMP)

# Another address or port: make run ADDR=127.0.0.1:8080 (links in feeds and e-mails follow it).
run: $(STAMP)
	$(PY) manage.py migrate --no-input
	$(PY) manage.py seed_demo
	$(PY) manage.py rundev $(ADDR)

# The OpenID provider the sign-in tests run (node's oidc-provider), installed from its lock file
# when npm is on PATH; without npm those tests skip (CI requires them: RELCAL_REQUIRE_OIDC=1).
OIDC := tests/oidc
NPM := $(shell command -v npm 2>/dev/null)

$(OIDC)/node_modules/.package-lock.json: $(OIDC)/package-lock.json
	npm ci --prefix $(OIDC) --no-audit --no-fund --ignore-scripts --loglevel=error >/dev/null
	touch $@

# axe-core for the browser tests' accessibility checks, installed the same way.
AXE := tests/browser

$(AXE)/node_modules/.package-lock.json: $(AXE)/package-lock.json
	npm ci --prefix $(AXE) --no-audit --no-fund --ignore-scripts --loglevel=error >/dev/null
	touch $@

NODE_DEPS := $(if $(NPM),$(OIDC)/node_modules/.package-lock.json $(AXE)/node_modules/.package-lock.json)

# Everything `make test` needs installed (CI installs it once, then runs two suites at once).
test-deps: $(STAMP) $(NODE_DEPS)

test: test-deps
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# Re-resolve the pinned set from pyproject.toml's ranges (run after changing a dependency).
lock:
	rm -rf var/lockenv && $(PYTHON) -m venv var/lockenv
	var/lockenv/bin/pip install --quiet '.[dev]'
	var/lockenv/bin/pip freeze --exclude relcal > requirements.lock
	rm -rf var/lockenv

clean:
	rm -rf $(VENV) var $(OIDC)/node_modules $(AXE)/node_modules
