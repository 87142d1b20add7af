#!/usr/bin/env bash
# Held-out benchmark of the demo model against OpenCV's CSRT and KCF (issue 7).
#
#   bash benchmarks/demo_heldout.sh [WEIGHTS] [DATA_DIR] [RUNS_DIR]
#
# Generates 30 test sequences x 120 frames from the *test* source images (never used in training)
# with seed 1000, tracks them with the three trackers through `seqtrack eval` (one thread each), and
# scores them with `seqtrack report --scoring ope` (AUC, P, P_norm, and each tracker's AUC difference from
# the demo model with a 95% paired-bootstrap interval) and the GOT-10k rules (AO, SR).
# The demo model runs twice: `demo` with the tracker settings stored in its weights file, which
# `seqtrack demo` and `seqtrack track` use (seqtrack.cli.demo.DEMO_TRACKER_SETTINGS, chosen on the
# validation split, never on this set) and `demo-official` with the official tracker
# (--settings official). Both run on one core while CSRT then KCF run on the other (about 8 minutes).
# Writes benchmarks/results/demo_heldout/{report.md,report.json,plots/}. CSRT and KCF come with the
# contrib OpenCV build seqtrack depends on (BASELINE_PYTHONPATH may name a folder holding another one).
# SEQUENCES, SEED and OUT override the set (30, 1000) and the results
# folder; the second held-out set is SEQUENCES=60 SEED=2000 OUT=benchmarks/results/demo_heldout_60.
set -euo pipefail
WEIGHTS=${1:-src/seqtrack/assets/seqtrack_demo.safetensors}
DATA=${2:-data/synthetic_test}
RUNS=${3:-runs/demo_heldout}
OUT=${OUT:-benchmarks/results/demo_heldout}
SEQUENCES=${SEQUENCES:-30}
SEED=${SEED:-1000}
BIN=${SEQTRACK_BIN:-.venv/bin}
export OMP_NUM_THREADS=1

"$BIN/python" -m seqtrack.data.synthetic "$DATA" --sequences "$SEQUENCES" --frames 120 --size 240 320 --split test --seed "$SEED"
{
  "$BIN/seqtrack" eval got10k_val --root "$DATA" --weights "$WEIGHTS" --results "$RUNS/demo" --no-progress
  "$BIN/seqtrack" eval got10k_val --root "$DATA" --weights "$WEIGHTS" --results "$RUNS/demo-official" --no-progress \
    --settings official
} &
demo_pid=$!
for tracker in opencv-csrt opencv-kcf; do
  PYTHONPATH="${BASELINE_PYTHONPATH:-}" "$BIN/seqtrack" eval got10k_val --root "$DATA" --tracker "$tracker" \
    --results "$RUNS/$tracker" --no-progress
done
wait "$demo_pid"
mkdir -p "$OUT"
RUN_ARGS=("demo=$RUNS/demo" "demo-official=$RUNS/demo-official" "opencv-csrt=$RUNS/opencv-csrt"
          "opencv-kcf=$RUNS/opencv-kcf")
{
  echo "## One-pass evaluation (AUC, precision at 20 px, normalised precision at 0.2)"
  echo
  "$BIN/seqtrack" report "${RUN_ARGS[@]}" --benchmark got10k_val --root "$DATA" --scoring ope --paired \
    --json "$OUT/report.json" --plots "$OUT/plots"
  echo
  echo "## GOT-10k rules (AO, success rates)"
  echo
  "$BIN/seqtrack" report "${RUN_ARGS[@]}" --benchmark got10k_val --root "$DATA" --json "$OUT/report_got10k.json"
} | tee "$OUT/report.md"
