#!/usr/bin/env bash
# The accuracy sweep of the default model's recipe: one `propscan train` per row (fit,
# decoding chosen on the held-out quarter of PTC train, int8 export, refit on all of
# train, dev scored), run side by side, each writing OUT/NAME/ with its card.
#
#   bash benchmarks/recipe_sweep.sh OUT PTC_DIR MEMES_DIR ENCODER_DIR [DEVICE] [JOBS]
#
# DEVICE is cpu (default; hours per row on 2 cores) or cuda (minutes per row on a GPU).
# Rows become lines of benchmarks/results/ablations.md with
#   python benchmarks/ablation.py --variant "..." --from-card OUT/NAME
set -uo pipefail
out=$1 ptc=$2 memes=$3 encoder=$4 device=${5:-cpu} jobs=${6:-1}
mkdir -p "$out"
common=(--data "$ptc" --encoder "$encoder" --device "$device" --no-progress)
all_memes=(--data "$memes" --meme-split train --meme-split dev --meme-split test)
declare -A rows=(
  [ref-s13]="--seed 13"
  [ref-s14]="--seed 14"
  [ref-balance05]="--setting technique_balance=0.5"
  [memes-train]="--data $memes"
  [memes-all]="${all_memes[*]}"
  [memes-all-s14]="${all_memes[*]} --seed 14"
  [memes-all-unlabelled]="${all_memes[*]} --unmapped unlabelled"
  [memes-all-weight05]="${all_memes[*]} --setting other_corpus_weight=0.5"
  [memes-all-balance05]="${all_memes[*]} --setting technique_balance=0.5"
  [memes-all-epochs6]="${all_memes[*]} --epochs 6"
)
run() {
  local name=$1
  # shellcheck disable=SC2086
  "${PYTHON:-python3}" -m propscan train --out "$out/$name" "${common[@]}" ${rows[$name]} \
    > "$out/$name.log" 2>&1 && echo "done $name" || echo "FAILED $name"
}
for name in "${!rows[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do sleep 2; done
  run "$name" &
done
wait
