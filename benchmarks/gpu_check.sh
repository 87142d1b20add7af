#!/usr/bin/env bash
# Every GPU check of a session with a GPU lent, in one go (a few minutes on an H100/H200):
#   0. benchmarks/gpu_graphs.py: CUDA graphs against eager (B256 one target and batched, fp32/fp16/bf16,
#      agreement, the golden network graphed), ONNX Runtime's CUDA provider (issue 22); about 3 min;
#   1. benchmarks/gpu_speed.py: golden tiny network on the GPU, tracking fps of b256/b384/l256/l384 per
#      precision, the demo model's agreement with fp32 (GPU and CPU), cost per target, training-step speed;
#   1b. `seqtrack bench --device cuda` (python -m seqtrack.bench): the end-to-end tables a user gets on a GPU;
#   2. `seqtrack train` under torchrun on the GPU (NCCL, data-loading workers, bf16 autocast) on a small
#      generated synthetic set; then, as the finished-run message tells a user, finished.json removed and
#      one more epoch asked for: the run resumes from its last resume point.
# Usage: OUT=DIR [GOLDEN=DIR, default tests/golden] bash benchmarks/gpu_check.sh [graphs]   (python3 must have torch
# with CUDA; the repo is used from src/, nothing is installed). With "graphs", step 0 only: it fits one device
# command of a session with a short GPU budget.
set -u
OUT=${OUT:?set OUT to the results folder}
GOLDEN=${GOLDEN:-tests/golden}
export PYTHONPATH=$PWD/src PYTHONUNBUFFERED=1
mkdir -p "$OUT"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$OUT/nvidia_smi.txt"
timeout 300 python3 benchmarks/gpu_graphs.py --out "$OUT" --golden "$GOLDEN" \
  --demo-weights src/seqtrack/assets/seqtrack_demo.safetensors 2>&1 | tee "$OUT/gpu_graphs.log" | grep -v "^|"
[ "${1:-all}" = graphs ] && exit 0
timeout 330 python3 benchmarks/gpu_speed.py --out "$OUT" --golden "$GOLDEN" \
  --demo-weights src/seqtrack/assets/seqtrack_demo.safetensors 2>&1 | tee "$OUT/gpu_speed.log" | grep -v "^|"
timeout 330 python3 -m seqtrack.bench --device cuda --presets b256,t128 --no-interleaved --golden "$GOLDEN" \
  --out-dir "$OUT/bench" 2>&1 | tee "$OUT/bench.log" | tail -n 3
data=$(mktemp -d)
python3 -m seqtrack.data.synthetic "$data/synthetic" --sequences 48 --frames 60 --size 240 320 --split train \
  --seed 1 --workers 16 > /dev/null || echo "synthetic data generation failed"
train() {
  timeout 150 python3 -m torch.distributed.run --nproc-per-node 1 -m seqtrack train configs/demo.yaml \
    --data-root "$data" --out "$data/run" --device cuda --amp bf16 --samples-per-epoch 8192 --batch-size 128 \
    --workers 12 --no-progress --no-tensorboard "$@" 2>&1 | tee -a "$OUT/train_resume.log"
}
train --epochs 2
echo "--- resume with one more epoch" | tee -a "$OUT/train_resume.log"
rm -f "$data/run/finished.json"
train --epochs 3
ls "$data/run" | tee -a "$OUT/train_resume.log"
