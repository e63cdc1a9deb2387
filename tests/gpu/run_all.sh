#!/usr/bin/env bash
# Every GPU check of this repository, as one prepared script for one call on a GPU machine (at
# most about 8 minutes; each step has its own time limit). Logs go under $OUT, one per step;
# the card, each step's exit code and the tail of its log are printed.
#
# Needs the dali-lite pack of an environment where the package is installed with its GPU
# operators built for the card (the default architecture list includes sm_90). On the machine
# with the checkout, once:
#   bash scripts/setup.sh
#   echo gpu-pack >> .git/info/exclude && ../shared/tools/dali-lite gpu-pack
# then on the GPU machine, from the repository root, carrying gpu-pack:
#   bash tests/gpu/run_all.sh gpu-pack
#
# Steps: kernels (tests/gpu/check_saliency_gpu.py: builds the kernels-only library, CUDA vs CPU,
# limits, graph capture, timings), dali (tests/gpu/check_dali_gpu.py --time: the DALI GPU
# operators vs the CPU kernels, refusals, the pipeline's added milliseconds), feature_mix
# (pipelines/bench_feature_mix.py: FeatureSaliencyMix's share of a ResNet-18/50 bf16 step, B=256),
# then the same DALI check (--quick) under compute-sanitizer's memcheck and racecheck.
set -uo pipefail
usage="usage: [STEPS='kernels dali ...'] bash tests/gpu/run_all.sh PACK_DIR"
[ $# -eq 1 ] && [ -f "$1/dali-lite.tar.xz" ] || {
  echo "run_all.sh: expected the folder that dali-lite wrote (dali-lite.tar.xz, whl/); $usage" >&2
  exit 2
}
PACK=$(cd "$1" && pwd)
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
STEPS=${STEPS:-kernels dali feature_mix memcheck racecheck}  # a rerun can name only some
OUT=${OUT:-$(mktemp -d)}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1  # a step killed by its time limit keeps what it printed
LITE=$(mktemp -d)
python3 - "$PACK" "$LITE" <<'PY' || { echo "run_all.sh: cannot unpack $PACK" >&2; exit 2; }
import glob, sys, tarfile, zipfile
pack, lite = sys.argv[1:]
tarfile.open(f"{pack}/dali-lite.tar.xz").extractall(lite)
for wheel in glob.glob(f"{pack}/whl/*.whl"):
    zipfile.ZipFile(wheel).extractall(lite)
PY
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv | tee "$OUT/card.txt"
failed=0
step() {  # step NAME SECONDS COMMAND...: run from /tmp (no source package shadowing the pack)
  local name=$1 limit=$2 rc
  shift 2
  case " $STEPS " in *" $name "*) ;; *) return 0 ;; esac
  echo "== $name (limit ${limit} s)"
  (cd /tmp && timeout "$limit" "$@") >"$OUT/$name.log" 2>&1
  rc=$?
  if [ "$rc" -ne 0 ] && grep -q "Device not supported" "$OUT/$name.log"; then
    echo "SKIPPED: compute-sanitizer does not support this machine's device (see $name.log)"
    return 0
  fi
  echo "rc=$rc$([ "$rc" -eq 124 ] && echo ' (time limit)')"
  tail -n 30 "$OUT/$name.log"
  [ "$rc" -eq 0 ] || failed=1
}
step kernels 200 python3 "$REPO/tests/gpu/check_saliency_gpu.py" --arch 90 --build-dir /tmp/dsm-gpu
step dali 60 env PYTHONPATH="$LITE" python3 "$REPO/tests/gpu/check_dali_gpu.py" --time
step feature_mix 90 env PYTHONPATH="$LITE" python3 "$REPO/pipelines/bench_feature_mix.py" --cpu-batch 0
for tool in memcheck racecheck; do
  # --report-api-errors no: CUDA API errors that DALI and the runtime meet and handle (symbol
  # lookups) are not this code's; kernel memory errors and races still fail the step.
  step "$tool" 60 env PYTHONPATH="$LITE" compute-sanitizer --tool "$tool" --report-api-errors no \
    --error-exitcode 3 python3 "$REPO/tests/gpu/check_dali_gpu.py" --quick
done
echo "ALL: $([ "$failed" -eq 0 ] && echo PASS || echo FAIL)"
exit "$failed"
