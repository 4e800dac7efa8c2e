# tawthiq lives in its own virtualenv (.venv). It installs one top-level name, `tawthiq` (the rooms
# are tawthiq.crawlers, tawthiq.dedupe, ...), so it may also share an environment (tests/test_packaging.py).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint install bench bench-latency bench-video bench-export bench-search bench-scale bench-dedupe bench-browser bench-ocr clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

# pywb, the replay tool the export tests check bundles with, in a virtualenv of its own: it pins
# redis<3 (through fakeredis), which cannot share an environment with the capture queue's client.
PYWB_STAMP := .venv-pywb/.installed
$(PYWB_STAMP):
	test -x .venv-pywb/bin/python || $(PYTHON) -m venv .venv-pywb
	.venv-pywb/bin/pip install --quiet --upgrade pip
	.venv-pywb/bin/pip install --quiet 'pywb>=2.8'
	touch $(PYWB_STAMP)

# mitmproxy, the recording proxy in front of the browser (browser capture), in a virtualenv of its own:
# 11.0 (the last release for Python 3.11) pins h11<=0.14 and an older cryptography, which the web
# app's server stack must not be downgraded to. tawthiq runs its `mitmdump` as a child process.
MITM_STAMP := .venv-mitm/.installed
$(MITM_STAMP):
	test -x .venv-mitm/bin/python || $(PYTHON) -m venv .venv-mitm
	.venv-mitm/bin/pip install --quiet --upgrade pip
	.venv-mitm/bin/pip install --quiet 'mitmproxy>=11.0,<13'
	touch $(MITM_STAMP)

# ReplayWeb.page, the viewer the export test opens bundles in with chromium: its npm package ships
# the built ui.js and sw.js, so `npm pack` (no dependency install) is all it needs. Without npm
# or the registry the recipe says so and the test skips with its reason.
RWP_VERSION := 2.5.3
RWP_DIR     := build/replaywebpage
RWP_STAMP   := $(RWP_DIR)/package/sw.js
$(RWP_STAMP):
	-@if command -v npm >/dev/null 2>&1; then \
	  mkdir -p $(RWP_DIR) && cd $(RWP_DIR) && npm pack --silent replaywebpage@$(RWP_VERSION) >/dev/null && \
	  tar xzf replaywebpage-$(RWP_VERSION).tgz package/ui.js package/sw.js package/package.json; \
	else echo "npm is not installed: the ReplayWeb.page test will be skipped"; fi

## Serve the bundled synthetic demo site on 127.0.0.1 and capture it into ./tawthiq-demo-data
demo: $(STAMP)
	$(BIN)/tawthiq demo --data-dir ./tawthiq-demo-data

## Layer rules and import cycles (import-linter), ruff, and mypy on the libraries; `make test` runs
## it first, so a cycle, a layer breach, a lint error or a type error fails the suite.
## PYTHONPATH: check this checkout, whatever checkout the virtualenv was installed from.
lint: $(STAMP)
	PYTHONPATH=$(CURDIR) $(BIN)/lint-imports
	$(BIN)/ruff check .
	PYTHONPATH=$(CURDIR) $(BIN)/mypy -p tawthiq.archivers -p tawthiq.crawlers -p tawthiq.dedupe -p tawthiq.index \
	  -m tawthiq.errors

## Run the whole test suite (after `lint`)
test: lint $(STAMP) $(PYWB_STAMP) $(MITM_STAMP) $(RWP_STAMP)
	$(BIN)/python -m pytest

## Capture speed against wget and Scrapy without recording (needs nginx and wget)
bench: $(STAMP)
	$(BIN)/python -m bench.capture.run

## Capture speed when every response takes 20 ms and 100 ms: wget, tawthiq, Scrapy unrecorded (needs wget)
bench-latency: $(STAMP)
	$(BIN)/python -m bench.capture.latency

## Video archiving speed against plain yt-dlp (needs nginx and ffmpeg)
bench-video: $(STAMP)
	$(BIN)/python -m bench.video.run

## Export speed for a ~1 GB selection against a plain copy of the same bytes
bench-export: $(STAMP)
	$(BIN)/python -m bench.export.run

## Search at 1 million generated posts: index build rate and query latency against a SQL LIKE scan
bench-search: $(STAMP)
	$(BIN)/python -m bench.search.run

## Queue workers (1, 2, 4) against the single-process capture (needs redis-server)
bench-scale: $(STAMP)
	$(BIN)/python -m bench.scale.run

## Near-duplicates: hashing rate on 1,000 camera-size JPEGs against imagehash, radius queries at
## 1 million signatures against brute force, precision/recall per kind of edit
bench-dedupe: $(STAMP)
	$(BIN)/python -m bench.dedupe.run

## Browser capture: pages/minute through tawthiq (recording only, and full evidence) against plain
## Playwright page.goto of the same script-rendered pages, 20 ms per response (needs chromium)
bench-browser: $(STAMP) $(MITM_STAMP)
	$(BIN)/python -m bench.browser.run

## OCR of synthetic Arabic death notices: plain `tesseract -l ara` beside tawthiq's pipeline (CER,
## names found, ages), and the text gate's speed on text-free photographs (needs tesseract-ocr-ara)
bench-ocr: $(STAMP)
	$(BIN)/python -m bench.ocr.run

clean:
	rm -rf $(VENV) .venv-pywb .venv-mitm tawthiq-demo-data tawthiq-data .pytest_cache
