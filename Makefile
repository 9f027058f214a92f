# Every target sets up what it needs first; `make demo` and `make test` work on a fresh clone.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | sha256sum | cut -c1-12)

.PHONY: setup demo test test-fast lint train-reference model-report samples clean

setup: $(STAMP) assets/.fetched

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[train,aws,local,dev]'
	touch $@

assets/.fetched: tools/assets.json tools/fetch_assets.py | $(STAMP)
	$(PY) tools/fetch_assets.py
	touch $@

samples/.made: tools/make_samples.py assets/.fetched | $(STAMP)
	$(PY) tools/make_samples.py
	touch $@

samples: samples/.made

# The main job (for now): scan the sample set (real photos, self-blended fakes, bad files)
# with the shipped reference model and print one JSON verdict per file.
demo: setup samples
	$(VENV)/bin/deepfake-scan samples

test: setup
	$(PY) -m pytest

test-fast: setup
	$(PY) -m pytest -m "not slow"

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

# Retrain the shipped model from scratch (about 70 minutes on 2 cores), then rebuild
# models/reference with its parity gate, threshold, evaluation report and plots.
# Stage 1 learns self-blends with an easy-to-hard curriculum; stage 2 continues at full
# difficulty with a fresh, lower learning-rate schedule.
train-reference: setup
	$(PY) -m converter.train --data assets/faces/train --val-data assets/faces/tune \
		--out runs/stage1 --steps 3000
	$(PY) -m converter.train --data assets/faces/train --val-data assets/faces/tune \
		--out runs/reference --init runs/stage1/last.keras --steps 5000 --lr 5e-4 \
		--curriculum 0
	$(MAKE) model-report

# float16 serves because int8 and dynamic-range missed the parity gate on this model
# (README, "The model"); all three are converted and judged every time.
model-report: setup
	$(PY) -m converter.export --checkpoint runs/reference/best.keras --out models/reference \
		--training-notes runs/reference/state.json --serving float16 --variants float16 dynamic int8

clean:
	rm -rf $(VENV) assets samples .cache .pytest_cache .mypy_cache .ruff_cache
