SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DELETE_ON_ERROR:
.DEFAULT_GOAL := help
MAKEFLAGS += --no-builtin-rules --warn-undefined-variables

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed
RUN := $(PY) -m pipeline

DATA ?= data/echo.h5
ART ?= artifacts
MODEL := $(ART)/model.keras
METRICS := $(ART)/metrics.json
PREDICTIONS := $(ART)/predictions.csv
STAMPS := $(ART)/.params
DATA_STAMP ?= $(STAMPS)/generate

# Parameters. Empty means the default declared once, in the stage's own --help; Make only forwards.
PROBLEM ?=
LENGTH ?=
N_FEATURES ?=
OUT_INDEX ?=
N_TRAIN ?=
N_VAL ?=
N_TEST ?=
SEED ?=
UNITS ?=
BATCH_SIZE ?=
EPOCHS ?=
OPTIMIZER ?=
LR ?=
MOMENTUM ?=
CLIPNORM ?=
CURRICULUM ?=
TRAIN_FLAGS ?=

opt = $(if $(strip $($(1))),--$(2) $(strip $($(1))))
GENERATE_ARGS := $(call opt,PROBLEM,problem) $(call opt,LENGTH,length) $(call opt,N_FEATURES,n-features) \
	$(call opt,OUT_INDEX,out-index) $(call opt,N_TRAIN,n-train) $(call opt,N_VAL,n-val) \
	$(call opt,N_TEST,n-test) $(call opt,SEED,seed)
TRAIN_ARGS := $(call opt,UNITS,units) $(call opt,BATCH_SIZE,batch-size) $(call opt,EPOCHS,epochs) \
	$(call opt,OPTIMIZER,optimizer) $(call opt,LR,learning-rate) $(call opt,MOMENTUM,momentum) \
	$(call opt,CLIPNORM,clipnorm) $(call opt,CURRICULUM,curriculum) $(call opt,SEED,seed) $(TRAIN_FLAGS)

# A stamp holds the arguments a stage was run with; it is rewritten only when they change, so a
# changed parameter makes exactly that stage and what follows it stale.
# The data's stamp can live elsewhere (DATA_STAMP): runs of a sweep share the data and its stamp.
stamp = $(shell mkdir -p $(STAMPS) $(dir $(1)) && f=$(1) && a='$(strip $(2))' && \
	{ [ -f $$f ] && [ "$$(cat $$f)" = "$$a" ] || printf '%s' "$$a" > $$f; })
$(call stamp,$(DATA_STAMP),$(GENERATE_ARGS))
$(call stamp,$(STAMPS)/train,$(TRAIN_ARGS))

COMMON := pipeline/data.py pipeline/echo.py pipeline/files.py
TF_COMMON := $(COMMON) pipeline/backend.py pipeline/model.py pipeline/modelfile.py pipeline/reader.py

.PHONY: help all data train evaluate predict inspect test lint clean bench sweep

help: ## List targets and variables (the default goal)
	@echo "Targets:"
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/^([a-z-]+):.*## /  \1\t/' | expand -t 16
	@echo "Variables (empty = the stage's default; see 'python -m pipeline <stage> --help'):"
	@echo "  data:  PROBLEM LENGTH N_FEATURES OUT_INDEX N_TRAIN N_VAL N_TEST SEED"
	@echo "  train: UNITS BATCH_SIZE EPOCHS OPTIMIZER LR MOMENTUM CLIPNORM CURRICULUM SEED (also seeds training)"
	@echo "         TRAIN_FLAGS (any other train option, e.g. --tensorboard)"
	@echo "  sweep: PARAM (any data or train variable) VALUES (e.g. \"16 64 256\")"
	@echo "  paths: DATA=$(DATA) ART=$(ART) VENV=$(VENV) PYTHON=$(PYTHON)"

all: data train evaluate predict ## Run the whole pipeline: generate, train, evaluate, predict

data: $(DATA) ## Generate the HDF5 dataset

train: $(MODEL) ## Train the model (writes model.keras, history.csv, train.json)

evaluate: $(METRICS) ## Evaluate on the test split (writes metrics.json)

predict: $(PREDICTIONS) ## Predict the test split (writes predictions.csv)

inspect: | $(INSTALLED) ## Summarise the dataset and every artifact that exists
	@for f in $(DATA) $(MODEL) $(ART)/history.csv $(ART)/train.json $(METRICS) $(PREDICTIONS); do \
		if [ -f $$f ]; then $(RUN) inspect $$f; echo; fi; done

test: | $(INSTALLED) ## Run the test suite
	$(PY) -m pytest -q

lint: | $(INSTALLED) ## Check style with ruff
	$(PY) -m ruff check pipeline tests

bench: | $(INSTALLED) ## Measure the speed goals against their baselines (artifacts/bench.md; minutes)
	$(MAKE) --no-print-directory $(TORCH_VENV)/.installed || echo "PyTorch could not be installed; the bench reports the rest"
	$(PY) -m pipeline.bench --out $(ART)/bench.json --torch-python $(TORCH_VENV)/bin/python

clean: ## Remove generated data and artifacts (keeps .venv)
	rm -rf $(DATA) $(ART)/* $(ART)/.params $(ART)/.*.backup

$(INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[dev]'
	touch $@

# The PyTorch peer runs from its own environment: torch is never a dependency of the package.
TORCH_VENV ?= .venv-torch
$(TORCH_VENV)/.installed:
	$(PYTHON) -m venv $(TORCH_VENV)
	$(TORCH_VENV)/bin/pip install --quiet torch==2.13.0 numpy
	touch $@

$(DATA): $(DATA_STAMP) pipeline/generate.py pipeline/presets.py $(COMMON) | $(INSTALLED)
	$(RUN) generate --out $@ $(GENERATE_ARGS)

$(MODEL): $(DATA) $(STAMPS)/train pipeline/train.py pipeline/presets.py pipeline/curriculum.py pipeline/plots.py \
		$(TF_COMMON) | $(INSTALLED)
	$(RUN) train --data $(DATA) --out $@ $(TRAIN_ARGS)

$(METRICS): $(MODEL) $(DATA) pipeline/evaluate.py pipeline/stage.py $(TF_COMMON) | $(INSTALLED)
	$(RUN) evaluate --data $(DATA) --model $(MODEL) --out $@

$(PREDICTIONS): $(MODEL) $(DATA) pipeline/predict.py pipeline/stage.py $(TF_COMMON) | $(INSTALLED)
	$(RUN) predict --data $(DATA) --model $(MODEL) --out $@

# ---- Sweeps: make sweep PARAM=BATCH_SIZE VALUES="16 64 256 1024 4096" ----
# One run per value in $(SWEEP)/<value>/: a recursive `make evaluate` with that folder as ART, so each
# run has its own stamps and reruns only when stale. A training parameter keeps $(DATA) and its stamp
# (the data is made once); a problem parameter gets its own data file in the run folder.
PARAM ?=
VALUES ?=
SWEEP := $(ART)/sweeps/$(PARAM)
DATA_PARAMS := PROBLEM LENGTH N_FEATURES OUT_INDEX N_TRAIN N_VAL N_TEST SEED
TRAIN_PARAMS := UNITS BATCH_SIZE EPOCHS OPTIMIZER LR MOMENTUM CLIPNORM CURRICULUM
sweep_run = ART=$(SWEEP)/$(1) $(PARAM)=$(1) \
	$(if $(filter $(PARAM),$(DATA_PARAMS)),DATA=$(SWEEP)/$(1)/echo.h5,DATA=$(DATA) DATA_STAMP=$(DATA_STAMP))

sweep: | $(INSTALLED) ## One run per value, e.g. make sweep PARAM=BATCH_SIZE VALUES="16 64 256"
	@[ "$(words $(PARAM))" = 1 ] && [ -n "$(filter $(PARAM),$(DATA_PARAMS) $(TRAIN_PARAMS))" ] || \
		{ echo "make sweep: PARAM='$(PARAM)' must be one of $(DATA_PARAMS) $(TRAIN_PARAMS)" >&2; exit 2; }
	@[ -n "$(strip $(VALUES))" ] || { echo 'make sweep: VALUES is empty; e.g. VALUES="16 64 256"' >&2; exit 2; }
	@$(foreach v,$(VALUES),$(MAKE) --no-print-directory $(call sweep_run,$(v)) evaluate && ) true
	$(RUN) sweep-summary $(SWEEP) $(VALUES)

# ---- Multi-worker training on this machine: make train-cluster WORKERS=2 ----
# WORKERS local processes of `train --strategy multi-worker` (tf.distribute) on loopback; the chief
# writes the same model, history and train.json as `train`, plus cluster.json. Runs whenever asked.
WORKERS ?=
.PHONY: train-cluster
train-cluster: $(DATA) | $(INSTALLED) ## Train on WORKERS local workers (tf.distribute), e.g. WORKERS=2
	$(RUN) train-cluster $(call opt,WORKERS,workers) --data $(DATA) --out $(MODEL) $(TRAIN_ARGS)
