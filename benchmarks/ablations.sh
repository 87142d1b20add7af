#!/usr/bin/env bash
# The small-scale ablation study of issue 21 (docs/ablations.md): one network per training row of the
# paper's Tab. 4, Tab. 5 and Fig. 6 (configs/ablations/small/), all with the same budget, data, seed and
# pre-trained encoder, then every row (and the three tracker-only rows on the baseline network) tracked
# over held-out generated sequences and scored with `seqtrack report --paired` against the baseline.
#
#   bash benchmarks/ablations.sh            # about 45 minutes on 2 CPU cores
#
# DATA, RUNS, OUT and ENCODER override the data folder, the run folder, the results folder and the
# weights whose encoder every row starts from (default: the shipped demo model). Two rows train at a
# time, one thread each. Finished trainings and finished sequences are skipped on a re-run. The baseline is
# also trained with seeds 1 and 2 (baseline_seed1, baseline_seed2): their spread is the noise floor against
# which the rows' differences are read.
set -euo pipefail
DATA=${DATA:-data/ablations}
RUNS=${RUNS:-runs/ablations}
OUT=${OUT:-benchmarks/results/ablations}
ENCODER=${ENCODER:-src/seqtrack/assets/seqtrack_demo.safetensors}
BIN=${SEQTRACK_BIN:-.venv/bin}
CONFIGS=configs/ablations/small
export OMP_NUM_THREADS=1
QUEUE_A=(baseline tab4_02_bidirectional tab4_04_whxy tab4_06_concat tab5_02_temporal fig6_bins_128 baseline_seed1)
QUEUE_B=(tab4_03_separate tab4_05_corner tab4_07_average fig6_bins_64 fig6_bins_512 baseline_seed2)
TRACKER_ROWS=(tab4_08_likelihood_update tab4_09_naive_update tab4_10_no_window)

[ -f "$DATA/synthetic/list.txt" ] || "$BIN/python" -m seqtrack.data.synthetic "$DATA/synthetic" \
  --sequences 300 --frames 100 --size 240 320 --split train --seed 1
[ -f "$DATA/test/list.txt" ] || "$BIN/python" -m seqtrack.data.synthetic "$DATA/test" \
  --sequences 30 --frames 120 --size 240 320 --split test --seed 1000

weights_of() { ls "$RUNS/$1"/checkpoint_ep*.safetensors | sort | tail -n 1; }

# The tracker block of a row's config, as --set flags (only what differs from the default tracker).
tracker_flags() {
  "$BIN/python" - "$CONFIGS/$1.yaml" <<'PY'
import sys
from seqtrack.config import TrackerConfig, load_yaml
mine, default = load_yaml(sys.argv[1]).tracker, TrackerConfig()
for name in ("window", "update_interval", "update_threshold", "update_mode"):
    value = getattr(mine, name)
    if value != getattr(default, name):
        print(f"--set tracker.{name}={str(value).lower() if isinstance(value, bool) else value}")
PY
}

evaluate() {  # evaluate NAME CONFIG WEIGHTS: the official tracker plus the config's tracker block
  # shellcheck disable=SC2046
  "$BIN/seqtrack" eval got10k_val --root "$DATA/test" --weights "$3" --results "$RUNS/eval/$1" \
    --settings official --updates default --no-progress $(tracker_flags "$2")
}

train_row() {  # train_row NAME CONFIG [FLAGS...]
  local name=$1 config=$2
  shift 2
  if [ ! -f "$RUNS/$name/finished.json" ]; then
    "$BIN/seqtrack" train "$CONFIGS/$config.yaml" --data-root "$DATA" --out "$RUNS/$name" --threads 1 \
      --init-encoder "$ENCODER" --no-progress "$@" > "$RUNS/$name.log" 2>&1
  fi
}

run_queue() {
  for row in "$@"; do
    config=${row%%_seed*}  # baseline_seed1 -> baseline, trained with train.seed 1
    if [ "$config" != "$row" ]; then
      train_row "$row" "$config" --set "train.seed=${row##*_seed}"
    else
      train_row "$row" "$config"
    fi
    evaluate "$row" "$config" "$(weights_of "$row")"
  done
}

mkdir -p "$RUNS" "$OUT"
run_queue "${QUEUE_A[@]}" &
queue_a=$!
run_queue "${QUEUE_B[@]}"
wait "$queue_a"
for row in "${TRACKER_ROWS[@]}"; do evaluate "$row" "$row" "$(weights_of baseline)"; done

ARGS=()
for row in baseline "${QUEUE_A[@]:1}" "${QUEUE_B[@]}" "${TRACKER_ROWS[@]}"; do ARGS+=("$row=$RUNS/eval/$row"); done
"$BIN/seqtrack" report "${ARGS[@]}" --benchmark got10k_val --root "$DATA/test" --scoring ope --paired \
  --json "$OUT/report.json" | tee "$OUT/report.md"
for row in baseline "${QUEUE_A[@]:1}" "${QUEUE_B[@]}"; do
  tail -n 1 "$RUNS/$row/metrics.jsonl" | sed "s/^/$row /"
done > "$OUT/final_training_metrics.txt"
