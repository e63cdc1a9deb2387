#!/usr/bin/env bash
# The install path of a user who gets the package from an index: build an sdist, build a wheel
# from that sdist (isolated, as pip does), install the wheel into a fresh virtual environment,
# then import it there and use the kernels and the DALI plugin.
set -euo pipefail
cd "$(dirname "$0")/.."
dist=$(mktemp -d)
trap 'rm -rf "$dist"' EXIT
.venv/bin/python -m pip install --quiet build
.venv/bin/python -m build --sdist --outdir "$dist" . > "$dist/sdist.log"
sdist=$(ls "$dist"/*.tar.gz)
.venv/bin/python -m pip wheel --quiet --no-deps --wheel-dir "$dist" "$sdist"
wheel=$(ls "$dist"/*.whl)
python3 -m venv "$dist/venv"
"$dist/venv/bin/python" -m pip install --quiet "torch==2.13.0" "${wheel}[cuda12]"
cd "$dist"  # away from the source tree, so that the installed package is the one imported
"$dist/venv/bin/python" - "$sdist" "$wheel" <<'PY'
import importlib.metadata
import sys
from pathlib import Path

import numpy as np
from nvidia.dali import fn, pipeline_def, types
from PIL import Image

import dali_saliencymix
from dali_saliencymix.data import PHOTO_DIR

assert importlib.metadata.version("dali-saliencymix") == dali_saliencymix.__version__
image = np.asarray(Image.open(sorted(PHOTO_DIR.glob("*/*.jpg"))[0]).convert("RGB"))
saliency, peak = dali_saliencymix.saliency_map(image)
assert saliency.shape == image.shape[:2] and saliency[peak] == saliency.max()
dali_saliencymix.load_plugin()


@pipeline_def(batch_size=2, num_threads=1, device_id=None)
def pipe():
    images = fn.external_source(lambda: [image, image[::-1].copy()], batch=True, layout="HWC")
    return dali_saliencymix.fine_grained_saliency(images, dtype=types.UINT8)


p = pipe()
p.build()
(maps,) = p.run()
assert np.array_equal(np.array(maps[0]), saliency)
print(f"dist check: {Path(sys.argv[1]).name} -> {Path(sys.argv[2]).name} installs, imports and "
      f"runs ({dali_saliencymix.__version__}, {dali_saliencymix.build_info()})")
PY
