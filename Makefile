# Every target sets up what it needs first; `make demo` and `make test` work on a fresh clone.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | sha256sum | cut -c1-12)

.PHONY: setup demo scan serve build sam validate security bench batch-parity test test-fast lint \
	train-reference \
	model-report samples clean

setup: $(STAMP) assets/.fetched

# SAM CLI (sam build/validate/deploy, cfn-lint, and the Lambda runtime interface emulator) in
# its own venv: its pins do not mix with TensorFlow's. The function runs locally under Python
# 3.12 (the template's runtime) with awslambdaric and boto3, as the Lambda runtime provides them.
SAM_VENV := .venv-sam
FN_VENV  := .venv-fn
SAM      := $(SAM_VENV)/bin/sam
# A real python3.12 (pyenv's shim answers "command not found" unless 3.12 is selected).
PY312    ?= $(shell for p in $$(ls -d $$(pyenv root 2>/dev/null)/versions/3.12.*/bin/python3.12 \
	2>/dev/null) $$(command -v python3.12); do $$p -V >/dev/null 2>&1 && echo $$p && break; done)
export SAM_CLI_TELEMETRY := 0

SAM_CLI_VERSION := 1.170.0
$(SAM_VENV)/.installed-$(SAM_CLI_VERSION):
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install --quiet --upgrade pip
	$(SAM_VENV)/bin/pip install --quiet aws-sam-cli==$(SAM_CLI_VERSION)
	touch $@

FN_PINS := awslambdaric==4.2.2 boto3==1.44.8
$(FN_VENV)/.installed-$(word 1,$(FN_PINS)):
	@test -n "$(PY312)" || { echo "Python 3.12 not found: install it (pyenv install 3.12) or set PY312=" >&2; exit 1; }
	$(PY312) -m venv $(FN_VENV)
	$(FN_VENV)/bin/pip install --quiet $(FN_PINS)
	touch $@

sam: $(SAM_VENV)/.installed-$(SAM_CLI_VERSION) $(FN_VENV)/.installed-$(word 1,$(FN_PINS))

# checkov (template security checks) in its own venv: its pins do not mix with the others.
SEC_VENV := .venv-sec
CHECKOV_VERSION := 3.3.30
SEC_STAMP := $(SEC_VENV)/.installed-$(CHECKOV_VERSION)
$(SEC_STAMP):
	$(PYTHON) -m venv $(SEC_VENV)
	$(SEC_VENV)/bin/pip install --quiet --upgrade pip
	$(SEC_VENV)/bin/pip install --quiet checkov==$(CHECKOV_VERSION)
	touch $@

# Keras on JAX with no TensorFlow, as on the project's GPU machines: the batch parity job's
# second backend, which the tests run (benchmarks/requirements-jax.txt says why not in .venv).
JAX_VENV  := .cache/venv-jax
JAX_STAMP := $(JAX_VENV)/.installed-$(shell sha256sum benchmarks/requirements-jax.txt | cut -c1-12)
$(JAX_STAMP):
	$(PYTHON) -m venv $(JAX_VENV)
	$(JAX_VENV)/bin/pip install --quiet -r benchmarks/requirements-jax.txt
	touch $@

BANDIT_TARGETS := deepfake_scanner deepfake_service handler.py local layers converter tools \
	benchmarks
# bandit on our code, pip-audit on the installed dependencies, checkov and cfn-lint on the
# template (tests/unit/test_security.py runs the same, so CI does).
security: setup sam $(SEC_STAMP)
	$(VENV)/bin/bandit -q -c pyproject.toml -r $(BANDIT_TARGETS)
	$(VENV)/bin/pip-audit -l --progress-spinner off
	$(SEC_VENV)/bin/checkov -f template.yaml --framework cloudformation --compact --quiet --skip-download
	$(SAM_VENV)/bin/cfn-lint template.yaml

# `sam build`: the function (build-ScannerFunction below) and the dependency layer for both
# architectures (layers/Makefile -> layers/build.py, which prints sizes and fails over 250 MiB).
BUILD_INPUTS := template.yaml samconfig.toml pyproject.toml handler.py layers/build.py \
	layers/smoke.py layers/Makefile $(wildcard deepfake_scanner/*.py deepfake_service/*.py) \
	$(wildcard models/reference/*.tflite models/reference/metadata.json)
.aws-sam/build/template.yaml: $(BUILD_INPUTS) | setup sam
	$(SAM) build

build: .aws-sam/build/template.yaml

validate: sam
	$(SAM) validate --lint
	$(SAM_VENV)/bin/cfn-lint template.yaml

# A full set-up and test run (make test) fills about 6 GiB here (venvs, layer builds, the face
# cache, pytest's temporary folders); pip's own "No space left on device" comes late and buried.
NEED_GIB := 8
$(STAMP): pyproject.toml
	@free=$$(df -Pk . | awk 'NR==2 {print int($$4 / 1048576)}'); [ "$$free" -ge $(NEED_GIB) ] || \
		echo "warning: $$free GiB free on this disk; set-up and tests need about $(NEED_GIB)" >&2
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

# The main job: the local bucket stack. A moto S3+SQS server on 127.0.0.1, the built function
# under the Lambda runtime interface emulator fed by an emulated SQS event source; the sample
# files are uploaded and each verdict is printed as it lands in the output bucket.
demo: build samples
	$(PY) -m local.demo samples

# The HTTP API on 127.0.0.1:3000 for the same built function (Ctrl-C stops it).
serve: build
	$(PY) -m local.serve --port 3000

# The core alone, no AWS parts: one JSON verdict per sample file.
scan: setup samples
	$(VENV)/bin/deepfake-scan samples

test: build samples $(SEC_STAMP) $(JAX_STAMP)
	$(PY) -m pytest

test-fast: setup
	$(PY) -m pytest -m "not slow"

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

# Side-by-side benchmarks (README "Performance"): installs the alternatives it measures
# (tf2onnx, onnx, onnxruntime) into .venv, then prints the table and writes benchmarks/results/.
bench: build
	$(PY) -m pip install --quiet -r benchmarks/requirements.txt
	$(PY) -m benchmarks.run

# The float model against the shipped TFLite file over the evaluation set, in large batches,
# on a GPU when the Keras backend sees one (README "Performance", batch parity).
batch-parity: setup
	$(PY) -m converter.batch_parity --out benchmarks/results/batch_parity_cpu.json

# Retrain the shipped model from scratch (two to three hours on 2 cores), then rebuild
# models/reference with its parity gate, threshold, evaluation report and plots.
# Stage 1 learns self-blends with an easy-to-hard curriculum; stage 2 continues at full
# difficulty with a fresh, lower learning-rate schedule; stage 3 adds label smoothing (bounded
# logits: a threshold below 1.0, smaller int8 differences), three times with three seeds, and
# the run with the best tune AUC becomes runs/people. The shipped model's own stages 1-2
# predate the five newest training sources (README, "The model"). The recipe is
# converter/recipe.py; tools/gpu_job.sh runs the same on a lent GPU machine.
# Then the warp run: 2,000 more steps from the chosen people run with 70 % of the faces warped
# into other proportions (--warp-share; docs/experiments.md, "New face shapes"); then the same
# stage in the hires layout, the same stage taught by both (distillation), a hires run on more
# faces, and the shipped run: the warp stage taught by the last two (docs/experiments.md,
# "Taught twice").
SHIPPED_RUN := runs/distill2
# Runs that do not need each other train side by side, one a core (README, "Retraining")
PARALLEL ?= 2
train-reference: setup
	$(PY) -m converter.recipe --runs runs --parallel $(PARALLEL)
	$(MAKE) model-report

# The first of int8, dynamic-range, float16 that passes the parity gate serves; all three are
# converted and judged every time (README, "Conversion and the parity gate").
CHECKPOINT ?= $(SHIPPED_RUN)/best.keras
model-report: setup
	$(PY) -m converter.export --checkpoint $(CHECKPOINT) --out models/reference \
		--training-notes $(dir $(CHECKPOINT))state.json --serving int8 dynamic float16 \
		--variants float16 dynamic int8

# `sam build` runs this (template.yaml: BuildMethod makefile): exactly what the function needs,
# the models included; the dependencies come from the layer (layers/Makefile).
FUNCTION_MODEL_FILES := models/reference/metadata.json $(wildcard models/reference/*.tflite)
DETECTOR_MODEL := assets/models/face_detection_full_range.tflite
build-ScannerFunction:
	@test -f $(DETECTOR_MODEL) || { echo "$(DETECTOR_MODEL) missing: run make setup" >&2; exit 1; }
	mkdir -p "$(ARTIFACTS_DIR)/models/reference" "$(ARTIFACTS_DIR)/assets/models"
	cp handler.py "$(ARTIFACTS_DIR)/"
	tar --exclude=__pycache__ -cf - deepfake_scanner deepfake_service | tar -xf - -C "$(ARTIFACTS_DIR)"
	cp $(FUNCTION_MODEL_FILES) "$(ARTIFACTS_DIR)/models/reference/"
	cp $(DETECTOR_MODEL) "$(ARTIFACTS_DIR)/assets/models/"

clean:
	rm -rf $(VENV) $(SAM_VENV) $(FN_VENV) $(SEC_VENV) .aws-sam layers/build assets samples .cache \
		.pytest_cache .mypy_cache .ruff_cache
