# edgekit — one command from nothing to a verified Swift package.
#   make setup        create .venv with pinned dependencies (idempotent)
#   make ios-package  build both default models and build/ios/HRVKit
#   make test         the package build, then unit tests (those that check the bundled models read
#                     $(BUILD)), the parity suite, and swift build/test of the package
#   make bench        side-by-side benchmarks (build/bench/bench.json); BENCH_REF=DIR shows another
#                     build's stage times (e.g. main's) beside this one's
#   make ios-typecheck IOS_SDK=…  type-check the package for iOS against an iOS SDK
#   make clean        remove build outputs

PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.edgekit-installed
BUILD  ?= build

# A registry that fails to answer (a DNS hiccup) is retried: 4 tries, 30/60/90 s apart.
retry = for attempt in 1 2 3 4; do $(1) && break; [ $$attempt = 4 ] && { echo "error: failed 4 times (is the package registry reachable?)"; exit 1; }; \
	  echo "warning: try $$attempt of 4 failed; retrying in $$((attempt * 30)) s"; sleep $$((attempt * 30)); done

.PHONY: setup influxd ios-package ios-typecheck ios-sdk test unit-test conversion-test swift-test bench clean distclean

setup: $(STAMP) influxd

# InfluxDB 1.x server for the InfluxDB tests (Debian's influxdb), where root + apt allow; they skip without it.
influxd:
	@command -v influxd >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends influxdb >/dev/null; } \
	  || echo "warning: influxdb (influxd) not installed; the InfluxDB tests will skip"

$(STAMP): pyproject.toml constraints.txt
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "error: $(PYTHON) not found (edgekit needs Python 3.11)"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(call retry,$(PY) -m pip install --quiet --upgrade "pip>=24")
	@$(call retry,$(PY) -m pip install --quiet -c constraints.txt -e '.[test]')
	@touch $@

ios-package: setup
	$(PY) -m edgekit build --config edgekit.toml --out $(BUILD)

# The build comes first: tests of the bundled models (their real-data calibration) read $(BUILD) and
# skip, saying why, when it is absent (a plain `pytest` without a build).
test: setup ios-package
	EDGEKIT_TEST_BUILD=$(abspath $(BUILD)) $(PY) -m pytest -q tests conversion_tests
	$(MAKE) --no-print-directory swift-test

unit-test: setup
	$(PY) -m pytest -q tests

conversion-test: setup
	$(PY) -m pytest -q conversion_tests

swift-test: ios-package
	cd $(BUILD)/ios/HRVKit && swift build -Xswiftc -warnings-as-errors && swift test --disable-swift-testing -Xswiftc -warnings-as-errors

# Type-check the package's targets for iOS against an iOS SDK (Linux works): make ios-typecheck IOS_SDK=...
ios-typecheck: ios-sdk ios-package
	$(PY) scripts/ios_typecheck.py --sdk "$(IOS_SDK)" --package $(BUILD)/ios/HRVKit --module-cache $(BUILD)/ios-typecheck-cache

ios-sdk:
	@test -n "$(IOS_SDK)" || { echo "error: set IOS_SDK to an iPhoneOS*.sdk directory (README, Development)"; exit 2; }

BENCH_REF ?=

bench: ios-package
	$(PY) -m benchmarks.bench --out $(BUILD)/bench $(if $(BENCH_REF),--reference-build $(BENCH_REF))

clean:
	rm -rf $(BUILD) .pytest_cache

distclean: clean
	rm -rf $(VENV) *.egg-info
