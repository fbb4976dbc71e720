SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DELETE_ON_ERROR:
.DEFAULT_GOAL := help
MAKEFLAGS += --no-builtin-rules --warn-undefined-variables

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed
LOCK := requirements.lock
RUN := $(PY) -m pipeline

ART ?= artifacts
MODEL := $(ART)/model.keras
METRICS := $(ART)/metrics.json
BASELINE := $(ART)/baseline.json
PREDICTIONS := $(ART)/predictions.csv
REPORT := $(ART)/report.md
EXPORT := $(ART)/export
STAMPS := $(ART)/.params
DATA_STAMP ?= $(STAMPS)/data

# The parameters Make forwards, as VARIABLE:option, read from their one declaration in pipeline/params.py.
# Empty means the stage's default (its --help); Make only forwards what is set.
GENERATE_PARAMS := $(shell $(PYTHON) tools/make_vars.py pipeline/params.py GENERATE)
IMPORT_PARAMS := $(shell $(PYTHON) tools/make_vars.py pipeline/params.py IMPORT)
TRAIN_PARAMS := $(shell $(PYTHON) tools/make_vars.py pipeline/params.py TRAIN)
TRAIN_FLAGS ?=
IMPORT_FLAGS ?=
var = $(firstword $(subst :, ,$(1)))
vars = $(foreach p,$(1),$(call var,$(p)))
$(foreach v,$(sort $(call vars,$(GENERATE_PARAMS) $(IMPORT_PARAMS) $(TRAIN_PARAMS))),$(eval $(v) ?=))

# The data comes from `import` for your own files (TRAIN_FILE, TEST_FILE) or a preset that imports, else
# from `generate`. IMPORTED: the presets with an import section in pipeline/presets.py; PRESET_FILES: the
# files the preset PROBLEM imports, so that editing one imports it again.
IMPORTED := $(shell $(PYTHON) tools/presets.py imported)
PRESET_FILES := $(if $(filter $(PROBLEM),$(IMPORTED)),$(shell $(PYTHON) tools/presets.py files $(PROBLEM)))
SOURCE := $(if $(or $(TRAIN_FILE),$(filter $(PROBLEM),$(IMPORTED))),import,generate)
DATA_PARAMS := $(if $(filter import,$(SOURCE)),$(IMPORT_PARAMS),$(GENERATE_PARAMS))
DATA ?= data/$(if $(filter import,$(SOURCE)),$(or $(PROBLEM),own),echo).h5
DATA_VARS := $(call vars,$(DATA_PARAMS))
TRAIN_VARS := $(filter-out SEED,$(call vars,$(TRAIN_PARAMS)))
args = $(foreach p,$(1),$(if $(strip $($(call var,$(p)))),--$(lastword $(subst :, ,$(p))) $(strip $($(call var,$(p))))))
# The data's seed is SEED's, except in the runs of a seed sweep or an ensemble: they share one dataset (made
# with the SEED given to the sweep, DATA_SEED) and differ in the training seed only.
DATA_SEED ?= $(SEED)
DATA_ARGS := $(strip $(call args,$(subst SEED:,DATA_SEED:,$(DATA_PARAMS))) $(if $(filter import,$(SOURCE)),$(IMPORT_FLAGS)))
TRAIN_ARGS := $(strip $(call args,$(TRAIN_PARAMS)) $(TRAIN_FLAGS))

# A stamp holds the arguments a stage was run with; it is rewritten only when they change, so a
# changed parameter makes exactly that stage and what follows it stale.
# The data's stamp can live elsewhere (DATA_STAMP): runs of a sweep share the data and its stamp.
stamp = $(shell mkdir -p $(STAMPS) $(dir $(1)) && f=$(1) && a='$(strip $(2))' && \
	{ [ -f $$f ] && [ "$$(cat $$f)" = "$$a" ] || printf '%s' "$$a" > $$f; })
$(call stamp,$(DATA_STAMP),$(SOURCE) $(DATA_ARGS))
$(call stamp,$(STAMPS)/train,$(TRAIN_ARGS))

# The modules each stage's code imports (tests/make/test_make.py fails when one is missing): a change to
# any of them makes that stage stale.
CORE_SRC := pipeline/__init__.py pipeline/batches.py pipeline/config.py pipeline/data.py pipeline/echo.py pipeline/files.py \
	pipeline/options.py pipeline/params.py pipeline/presets.py pipeline/sources.py pipeline/tokens.py
MODEL_SRC := $(CORE_SRC) pipeline/backend.py pipeline/startup_log.py pipeline/model.py pipeline/fused_lstm.py \
	pipeline/modelfile.py pipeline/reader.py pipeline/recipe.py
GENERATE_SRC := pipeline/generate.py $(CORE_SRC)
IMPORT_SRC := pipeline/importer.py $(CORE_SRC)
DATA_SRC := $(if $(filter import,$(SOURCE)),$(IMPORT_SRC),$(GENERATE_SRC))
TRAIN_SRC := pipeline/train.py pipeline/callbacks.py pipeline/curriculum.py pipeline/plots.py \
	pipeline/distributed/__init__.py pipeline/distributed/role.py pipeline/distributed/worker.py $(MODEL_SRC)
EVALUATE_SRC := pipeline/evaluate.py pipeline/inputs.py pipeline/metrics.py pipeline/tables.py pipeline/plots.py \
	$(MODEL_SRC)
PREDICT_SRC := pipeline/predict.py pipeline/inputs.py pipeline/metrics.py pipeline/tables.py $(MODEL_SRC)
EXPORT_SRC := pipeline/export.py $(MODEL_SRC)
REPORT_SRC := pipeline/report.py pipeline/metrics.py pipeline/tables.py $(CORE_SRC)

.PHONY: help all data train evaluate predict export baseline report inspect test lint clean bench suite sweep lock

help: ## List targets and variables (the default goal)
	@echo "Targets:"
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/^([a-z-]+):.*## /  \1\t/' | expand -t 20
	@echo "Variables (empty = the stage's default; see 'python -m pipeline <stage> --help'):"
	@echo "  data:  $(call vars,$(GENERATE_PARAMS)) (SEED also seeds training)"
	@echo "  your own files: $(call vars,$(IMPORT_PARAMS)); IMPORT_FLAGS (any other import option)"
	@echo "  train: $(TRAIN_VARS)"
	@echo "         TRAIN_FLAGS (any other train option, e.g. --tensorboard)"
	@echo "  sweep: PARAM (any data or train variable) VALUES (e.g. \"16 64 256\") SEEDS"
	@echo "  ensemble: SEEDS (default \"0 1 2 3 4\"); resamples: N (e.g. 10)"
	@echo "  paths: DATA=$(DATA) ART=$(ART) VENV=$(VENV) PYTHON=$(PYTHON)"

all: data train evaluate predict ## Run the whole pipeline: generate, train, evaluate, predict

data: $(DATA) ## Generate the HDF5 dataset (or import it: TRAIN_FILE, TEST_FILE or an imported PROBLEM)

train: $(MODEL) ## Train the model (writes model.keras, history.csv, train.json)

evaluate: $(METRICS) ## Evaluate on the test split (writes metrics.json)

predict: $(PREDICTIONS) ## Predict the test split (writes predictions.csv)

export: $(EXPORT)/saved_model.pb ## Export the model as a TensorFlow SavedModel for serving (artifacts/export)

baseline: $(BASELINE) ## Fit library classifiers on the same split: 1-NN Euclidean, 1-NN DTW, MiniRocket (baseline.json)

report: $(REPORT) ## Write a Markdown report of the run: data, training, test metrics, baselines (report.md)

inspect: | $(INSTALLED) ## Summarise the dataset and every artifact that exists
	@for f in $(DATA) $(MODEL) $(ART)/history.csv $(ART)/train.json $(METRICS) $(BASELINE) $(PREDICTIONS) $(EXPORT); do \
		if [ -e $$f ]; then $(RUN) inspect $$f; echo; fi; done

# Test files run on this many processes (pytest-xdist), a file's tests on one: most wait on subprocesses.
TEST_JOBS ?= 2
test: | $(INSTALLED) $(VENV)/.installed-ts ## Run the test suite (it reads a .ts file: the ts extra too)
	$(PY) -m pytest -q -n $(TEST_JOBS) --dist loadfile

lint: | $(INSTALLED) ## Check style (ruff) and the architecture's import contracts (import-linter)
	$(PY) -m ruff check pipeline tests benchmarks tools
	$(VENV)/bin/lint-imports

SUITE ?= $(ART)/suite
suite: | $(INSTALLED) $(VENV)/.installed-ts ## Train the recipe on public datasets over seeds beside their baselines (suite.md; long)
	$(PY) -m benchmarks.suite --out $(SUITE) --seeds "$(or $(strip $(SEEDS)),0 1 2)"

BENCH_FLAGS ?=
bench: | $(INSTALLED) $(VENV)/.installed-ts ## Measure the speed goals against their baselines (docs/performance.md; minutes)
	$(if $(filter --no-torch,$(BENCH_FLAGS)),,$(MAKE) --no-print-directory $(TORCH_VENV)/.installed)
	$(if $(findstring --skip jax,$(BENCH_FLAGS)),,$(MAKE) --no-print-directory $(JAX_VENV)/.installed)
	$(PY) -m benchmarks.bench --out $(ART)/bench.json --doc docs/performance.md \
		--torch-python $(TORCH_VENV)/bin/python --jax-python $(JAX_VENV)/bin/python $(BENCH_FLAGS)

clean: ## Remove generated data and artifacts (keeps .venv)
	rm -rf $(DATA) $(ART)/* $(ART)/.params $(ART)/.*.backup

# Every package at the version in the lock: the set CI ran. `make lock` resolves it again from pyproject.toml.
$(INSTALLED): pyproject.toml $(LOCK)
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet --constraint $(LOCK) -e '.[dev]'
	touch $@

LOCK_COMMAND := uv pip compile pyproject.toml --all-extras --universal --python-version 3.10 --prerelease disallow \
	--fork-strategy requires-python
lock: | $(INSTALLED) ## Resolve requirements.lock again from pyproject.toml (after changing a dependency)
	$(VENV)/bin/$(LOCK_COMMAND) --quiet --upgrade -o $(LOCK)

# The PyTorch peer runs from its own environment: torch is never a dependency of the package.
TORCH_VENV ?= .venv-torch
$(TORCH_VENV)/.installed:
	$(PYTHON) -m venv $(TORCH_VENV)
	$(TORCH_VENV)/bin/pip install --quiet --constraint $(LOCK) torch==2.13.0 numpy
	touch $@

# So does the Keras 3/JAX peer: the lock's Keras and NumPy, on JAX's CPU build.
JAX_VENV ?= .venv-jax
$(JAX_VENV)/.installed:
	$(PYTHON) -m venv $(JAX_VENV)
	$(JAX_VENV)/bin/pip install --quiet --upgrade pip
	$(JAX_VENV)/bin/pip install --quiet --constraint $(LOCK) 'jax[cpu]==0.10.2' keras numpy
	touch $@

# .ts files are read by aeon, in the `ts` extra: installed for a .ts file or a preset of aeon's datasets.
TS_EXTRA := $(if $(and $(filter $(PROBLEM),$(IMPORTED)),$(if $(PRESET_FILES),,bundled))$(filter %.ts,\
	$(TRAIN_FILE) $(TEST_FILE) $(VAL_FILE) $(PRESET_FILES)),$(VENV)/.installed-ts)
$(DATA): $(DATA_STAMP) $(DATA_SRC) $(TRAIN_FILE) $(TEST_FILE) $(VAL_FILE) $(PRESET_FILES) | $(INSTALLED) $(TS_EXTRA)
	$(RUN) $(SOURCE) --out $@ $(DATA_ARGS)

$(VENV)/.installed-ts: $(INSTALLED)
	$(VENV)/bin/pip install --quiet --constraint $(LOCK) -e '.[ts]'
	touch $@

$(MODEL): $(DATA) $(STAMPS)/train $(TRAIN_SRC) | $(INSTALLED)
	$(RUN) train --data $(DATA) --out $@ $(TRAIN_ARGS)

$(METRICS): $(MODEL) $(DATA) $(EVALUATE_SRC) | $(INSTALLED)
	$(RUN) evaluate --data $(DATA) --model $(MODEL) --out $@

$(PREDICTIONS): $(MODEL) $(DATA) $(PREDICT_SRC) | $(INSTALLED)
	$(RUN) predict --data $(DATA) --model $(MODEL) --out $@

$(EXPORT)/saved_model.pb: $(MODEL) $(EXPORT_SRC) | $(INSTALLED)
	$(RUN) export --model $(MODEL) --out $(EXPORT)

# train writes train.json with the model
$(ART)/train.json: $(MODEL) ;

# baseline.json, when the run has one, is shown beside the run's own accuracy
BASELINE_SRC := pipeline/baseline.py $(CORE_SRC)
$(BASELINE): $(DATA) $(BASELINE_SRC) | $(INSTALLED) $(VENV)/.installed-ts
	$(RUN) baseline --data $(DATA) --out $@

$(REPORT): $(METRICS) $(ART)/train.json $(PREDICTIONS) $(DATA) $(wildcard $(ART)/baseline.json) $(REPORT_SRC) \
		| $(INSTALLED)
	$(RUN) report --data $(DATA) --run $(ART) --out $@

# ---- Sweeps: make sweep PARAM=BATCH_SIZE VALUES="16 64 256 1024 4096" [SEEDS="0 1 2"] ----
# One run per value in $(SWEEP)/<value>/ (with SEEDS, per value and seed in <value>/seed-<s>/, SEED=<s>):
# a recursive `make evaluate` with that folder as ART, so each run has its own stamps and reruns only
# when stale. A training parameter shares its data: $(DATA) and its stamp, or with SEEDS one file per
# seed in $(SWEEP)/data/; a problem parameter gets its own data file in the run folder. PARAM=SEED sweeps
# the training seed on $(DATA): its runs are those of `make ensemble` (seed_run).
PARAM ?=
VALUES ?=
SEEDS ?=
SWEEP := $(ART)/sweeps/$(PARAM)
run_folder = $(SWEEP)/$(1)$(if $(2),/seed-$(2))
shared_data = $(if $(1),DATA=$(SWEEP)/data/seed-$(1).h5 DATA_STAMP=$(SWEEP)/data/.seed-$(1).params,\
	DATA=$(DATA) DATA_STAMP=$(DATA_STAMP))
sweep_run = $(if $(filter SEED,$(PARAM)),$(call seed_run,$(1)),ART=$(call run_folder,$(1),$(2)) $(PARAM)=$(1) \
	$(if $(2),SEED=$(2)) $(if $(filter $(PARAM),$(DATA_VARS)),DATA=$(call run_folder,$(1),$(2))/echo.h5,\
	$(call shared_data,$(2))))
seed_run = ART=$(ART)/sweeps/SEED/$(1) SEED=$(1) DATA_SEED=$(DATA_SEED) $(call shared_data,)
sweep_runs = $(foreach v,$(VALUES),$(if $(SEEDS),$(foreach s,$(SEEDS),$(v):$(s)),$(v):))

sweep: | $(INSTALLED) ## One run per value (and seed), e.g. make sweep PARAM=BATCH_SIZE VALUES="16 64 256" SEEDS="0 1 2"
	@[ "$(words $(PARAM))" = 1 ] && [ -n "$(filter $(PARAM),$(DATA_VARS) $(TRAIN_VARS))" ] || \
		{ echo "make sweep: PARAM='$(PARAM)' must be one of $(DATA_VARS) $(TRAIN_VARS)" >&2; exit 2; }
	@[ -n "$(strip $(VALUES))" ] || { echo 'make sweep: VALUES is empty; e.g. VALUES="16 64 256"' >&2; exit 2; }
	@[ -z "$(strip $(SEEDS))" ] || [ "$(PARAM)" != SEED ] || \
		{ echo 'make sweep: PARAM=SEED takes the seeds as VALUES; leave SEEDS empty' >&2; exit 2; }
	@$(foreach r,$(sweep_runs),$(MAKE) --no-print-directory \
		$(call sweep_run,$(firstword $(subst :, ,$(r))),$(word 2,$(subst :, ,$(r)))) evaluate && ) true
	$(RUN) sweep-summary $(SWEEP) $(VALUES) $(if $(strip $(SEEDS)),--seeds "$(strip $(SEEDS))")

# ---- Ensembles: make ensemble SEEDS="0 1 2 3 4" ----
# One run per seed, the runs of `make sweep PARAM=SEED VALUES="$(SEEDS)"` (the same folders: neither trains
# what the other has), then one model that averages their probabilities, evaluated on the same test split.
# The recursive make of the ensemble's metrics runs once its members exist.
ENSEMBLE := $(ART)/ensemble
ENSEMBLE_SEEDS := $(or $(strip $(SEEDS)),0 1 2 3 4)
MEMBERS := $(foreach s,$(ENSEMBLE_SEEDS),$(ART)/sweeps/SEED/$(s)/model.keras)
ENSEMBLE_SRC := pipeline/ensemble.py $(MODEL_SRC)
$(if $(filter ensemble $(ENSEMBLE)/%,$(MAKECMDGOALS)),$(call stamp,$(ENSEMBLE)/.params/members,$(MEMBERS)))

.PHONY: ensemble
ensemble: | $(INSTALLED) ## One run per seed (as sweep PARAM=SEED) and their ensemble, e.g. SEEDS="0 1 2 3 4"
	@[ $(words $(ENSEMBLE_SEEDS)) -ge 2 ] || { echo 'make ensemble: SEEDS needs two seeds or more' >&2; exit 2; }
	@$(foreach s,$(ENSEMBLE_SEEDS),$(MAKE) --no-print-directory $(call seed_run,$(s)) evaluate && ) true
	@$(MAKE) --no-print-directory $(ENSEMBLE)/metrics.json
	$(RUN) ensemble-summary $(ENSEMBLE)/metrics.json $(MEMBERS:model.keras=metrics.json)

$(ENSEMBLE)/model.keras: $(ENSEMBLE)/.params/members $(MEMBERS) $(ENSEMBLE_SRC) | $(INSTALLED)
	$(RUN) ensemble $(foreach m,$(MEMBERS),--model $(m)) --out $@

$(ENSEMBLE)/metrics.json: $(ENSEMBLE)/model.keras $(DATA) $(EVALUATE_SRC) | $(INSTALLED)
	$(RUN) evaluate --data $(DATA) --model $< --out $@

# ---- Resampled splits: make resamples N=10 ----
# Resample i of $(DATA) in $(RESAMPLES)/<i>/ (0: the standard split; i > 0 drawn by seed i): a recursive
# `make evaluate` whose own files are the resample's .npz (RESAMPLE_OF, RESAMPLE_INDEX), imported, trained and
# evaluated with the settings `make all` uses (the problem's preset; generated data's default one too), each
# resample with its own stamps, so that it reruns only when stale.
N ?=
RESAMPLES := $(ART)/resamples
RESAMPLE_OF ?=
RESAMPLE_INDEX ?=
RESAMPLE_SRC := pipeline/resample.py $(CORE_SRC)
resample_problem = $(or $(PROBLEM),$(if $(filter generate,$(SOURCE)),$(shell $(PYTHON) tools/presets.py default)))
resample_run = ART=$(RESAMPLES)/$(1) DATA=$(RESAMPLES)/$(1)/data.h5 DATA_STAMP=$(RESAMPLES)/$(1)/.params/data \
	RESAMPLE_OF=$(DATA) RESAMPLE_INDEX=$(1) PROBLEM=$(resample_problem) \
	$(foreach f,TRAIN TEST VAL,$(f)_FILE=$(RESAMPLES)/$(1)/resample.npz)

.PHONY: resamples
resamples: data | $(INSTALLED) ## Train and evaluate on N resampled splits (0: the standard one), e.g. N=10
	@[[ "$(N)" =~ ^[0-9]+$$ ]] && [ "$(N)" -ge 2 ] || \
		{ echo "make resamples: N='$(N)' must be a whole number, 2 or more; e.g. N=10" >&2; exit 2; }
	@for i in $$(seq 0 $$(( $(N) - 1 ))); do $(MAKE) --no-print-directory $(call resample_run,$$i) evaluate || exit; done
	$(RUN) resamples-summary $(RESAMPLES) --n $(N) --data $(DATA)

ifneq ($(RESAMPLE_OF),)
$(call stamp,$(STAMPS)/resample,--data $(RESAMPLE_OF) --index $(RESAMPLE_INDEX))
$(ART)/resample.npz: $(STAMPS)/resample $(RESAMPLE_OF) $(RESAMPLE_SRC) | $(INSTALLED)
	$(RUN) resample --data $(RESAMPLE_OF) --index $(RESAMPLE_INDEX) --out $@
endif

# ---- Multi-worker training on this machine: make train-cluster WORKERS=2 ----
# WORKERS local processes of `train --strategy multi-worker` (tf.distribute) on loopback; the chief
# writes the same model, history and train.json as `train`, plus cluster.json. Runs whenever asked.
WORKERS ?=
.PHONY: train-cluster
train-cluster: $(DATA) | $(INSTALLED) ## Train on WORKERS local workers (tf.distribute), e.g. WORKERS=2
	$(RUN) train-cluster $(call args,WORKERS:workers) --data $(DATA) --out $(MODEL) $(TRAIN_ARGS)

print-%: ## Print a Make variable, e.g. make print-TRAIN_SRC
	@echo $($*)

# ---- Test quality (docs/testing.md): make coverage, make mutation ----
# coverage: the whole suite under coverage.py, counting the Python subprocesses it starts (CLI, cluster
# workers, stages run by Make) and the processes test_errors forks ([tool.coverage] in pyproject.toml).
# mutation: mutmut over the modules that decide correctness, and of train.py the functions that wire data
# to the model; each mutant runs only the tests that reach it, left out those marked slow. Cached in mutants/.
.PHONY: mutation mutation-resume coverage
MUTATION_JOBS ?= 2
MUTANTS := pipeline.echo.* pipeline.data.* pipeline.generate.* pipeline.reader.* pipeline.files.* \
	pipeline.evaluate.* pipeline.predict.* pipeline.params.* pipeline.metrics.* pipeline.recipe.* pipeline.tokens.* \
	$(foreach f,resolve training_defaults one_pass check_selection val_batch datasets training_dataset holds_a_batch \
	steps_per_call run_record,pipeline.train.x_$(f)__mutmut_*)

coverage: | $(INSTALLED) $(VENV)/.installed-ts ## Run the suite under coverage, subprocesses included, and print the report
	$(PY) -m coverage erase
	$(PY) -m coverage run -m pytest -q -p no:cacheprovider
	$(PY) -m coverage combine -q
	$(PY) -m coverage report

mutation: | $(INSTALLED) ## Mutation testing with mutmut (hours on 2 cores; results cached in mutants/)
	$(VENV)/bin/mutmut run --max-children $(MUTATION_JOBS) $(foreach m,$(MUTANTS),'$(m)')
	$(VENV)/bin/mutmut results --all true | $(PY) tools/mutation_score.py $(foreach m,$(MUTANTS),'$(m)')

mutation-resume: | $(INSTALLED) ## Finish an interrupted `make mutation`: only the mutants not checked yet
	names=$$($(VENV)/bin/mutmut results --all true | $(PY) tools/mutation_score.py --not-checked \
		$(foreach m,$(MUTANTS),'$(m)')); if [ -n "$$names" ]; then \
		$(VENV)/bin/mutmut run --max-children $(MUTATION_JOBS) $$names; fi
	$(VENV)/bin/mutmut results --all true | $(PY) tools/mutation_score.py $(foreach m,$(MUTANTS),'$(m)')
