#!/usr/bin/env python3
"""DALI check of the plugin's operators on a device, against the CPU kernels, bit for bit.

For an NVIDIA GPU machine with DALI but without DALI's own operators: it uses only
``fn.external_source`` and the plugin's ``fn.fine_grained_saliency`` and ``fn.saliency_mix``
(plus ``fn.copy`` when timing), so it runs with the ``dali-lite`` pack. The reference is the
package's CPU kernels through its C API (``dali_saliencymix.numpy``), which the CPU tests hold
equal to OpenCV and to timm. It checks:

  1. ``fn.fine_grained_saliency``: uint8 and float32 maps and the peaks of 471 images of mixed
     sizes and kinds (ragged batches, HWC and HW), a 5000x8 image and a 256-image 224x224 batch;
  2. ``fn.saliency_mix`` with every argument: the mixing family's cases (MixUp, random and
     saliency boxes, ``cutmix_minmax``, MixUp/CutMix mixtures, ``placement``,
     ``label_weights``) in elem, batch and pair modes, class ids and soft labels (the labels are
     read on the host), ``label_smoothing``, ``correct_lam``, with and without
     ``output_mix_info``; the draws come from ``fn.external_source``, with edge values;
  3. what it must refuse: labels on the device and a batch of mixed image sizes, each with an
     error that names the operator;
  4. with ``--time``: the milliseconds per 256 x 224x224 batch that ``fn.saliency_mix`` adds to
     a pipeline that only copies the same batch (both fed from the device).

Usage (run it from outside the repository root, so that the installed package, with its
libraries, is imported rather than the source folder):

    PYTHONPATH=/tmp/lite python3 REPO/tests/gpu/check_dali_gpu.py [--time] [--device gpu]
    python3 tests/gpu/check_dali_gpu.py --device cpu --quick   # no GPU: the CPU operators

``--device cpu`` runs the same comparisons with the CPU operators (the check of this script on
a machine without a GPU). It prints markdown tables and ``RESULT: PASS`` or ``RESULT: FAIL``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))  # check_saliency_gpu, for its images

import check_saliency_gpu as kernels_check  # noqa: E402

Arrays = list[np.ndarray]


class Operators:
    """The plugin's DALI operators run on one device, one batch per call."""

    def __init__(self, device: str) -> None:
        import dali_saliencymix

        dali_saliencymix.load_plugin()
        self.device = device
        self.device_id = 0 if device == "gpu" else None

    def run(self, graph: Callable[[], tuple], batch_size: int) -> list[Arrays]:
        """Build a pipeline of `graph` and run it once; its outputs as lists of numpy arrays."""
        from nvidia.dali import pipeline_def

        pipe = pipeline_def(graph, batch_size=batch_size, num_threads=4, device_id=self.device_id)
        p = pipe()
        p.build()
        outputs = p.run()
        outputs = [o.as_cpu() if hasattr(o, "as_cpu") else o for o in outputs]  # GPU -> host
        return [[np.array(o[i]) for i in range(len(o))] for o in outputs]

    def feed(self, values: Sequence[np.ndarray], layout: str | None = None, device: str = "cpu"):
        """An external source giving `values` as one batch."""
        from nvidia.dali import fn

        kwargs = {"layout": layout} if layout else {}
        return fn.external_source(source=lambda: list(values), batch=True, device=device, **kwargs)

    def images(self, values: Sequence[np.ndarray]):
        """`values` as images on this device (HWC, or HW for 2-D arrays)."""
        return self.feed(values, "HW" if values[0].ndim == 2 else "HWC", self.device)


# ---- fine_grained_saliency ---------------------------------------------------------------------


def check_saliency(ops: Operators, images: Arrays, label: str, chunk: int = 64) -> tuple[int, int]:
    """The operator's maps and peaks against the CPU kernels; returns (compared, mismatches)."""
    from nvidia.dali import fn, types

    from dali_saliencymix.numpy import saliency_map

    compared = bad = 0
    for ndim in (2, 3):  # a DALI batch has one number of dimensions
        group = [im for im in images if im.ndim == ndim]
        for start in range(0, len(group), chunk):
            batch = group[start : start + chunk]
            for dtype, np_dtype in ((types.UINT8, np.uint8), (types.FLOAT, np.float32)):

                def graph(batch=batch, dtype=dtype):  # noqa: ANN202
                    outputs = fn.fine_grained_saliency(
                        ops.images(batch), dtype=dtype, output_peak=True, device=ops.device
                    )
                    return tuple(outputs)

                maps, peaks = ops.run(graph, len(batch))
                for im, m, peak in zip(batch, maps, peaks, strict=True):
                    ref, ref_peak = saliency_map(im, dtype=np_dtype)
                    compared += 1
                    same = m.dtype == ref.dtype and m.shape == ref.shape
                    same = same and m.tobytes() == ref.tobytes() and tuple(peak) == ref_peak
                    if not same:
                        bad += 1
                        if bad <= 5:
                            print(f"MISMATCH saliency {label}: {im.shape} {np_dtype.__name__}")
    return compared, bad


# ---- saliency_mix ------------------------------------------------------------------------------


def operator_mix(
    ops: Operators,
    images: np.ndarray,
    labels: Sequence[np.ndarray],
    options,  # noqa: ANN001 - a MixConfig
    draws,  # noqa: ANN001 - a MixDraws
    info: bool = True,
    *,
    with_source: bool = True,
    dtypes: dict[str, type] | None = None,
) -> list[np.ndarray]:
    """``fn.saliency_mix`` on this device, the draws given as argument inputs (``source`` left
    out with ``with_source=False``; ``cutmix`` and ``box_draw`` fed in ``dtypes``, int32 and
    float32 by default); its outputs, stacked. The suite's CPU tests run it too."""
    from nvidia.dali import fn

    dtypes = {"cutmix": np.int32, "box_draw": np.float32, **(dtypes or {})}

    def graph():  # noqa: ANN202
        kwargs = {
            "lam": ops.feed(list(draws.lam.astype(np.float32))),
            "apply": ops.feed(list(np.asarray(draws.apply).astype(np.int32))),
        }
        if with_source:
            kwargs["source"] = ops.feed(list(draws.source.astype(np.int32)))
        if draws.cutmix is not None:
            kwargs["cutmix"] = ops.feed(list(np.asarray(draws.cutmix).astype(dtypes["cutmix"])))
        if draws.box is not None:
            kwargs["box_draw"] = ops.feed(list(draws.box.astype(dtypes["box_draw"])))
        if options.cutmix_minmax is not None:
            kwargs["cutmix_minmax"] = list(options.cutmix_minmax)
        outputs = fn.saliency_mix(
            ops.images(list(images)),
            ops.feed(list(labels)),
            num_classes=options.num_classes,
            mode=options.mode,
            box=options.box,
            label_smoothing=options.label_smoothing,
            correct_lam=options.correct_lam,
            placement=options.placement,
            label_weights=options.label_weights,
            output_mix_info=info,
            device=ops.device,
            **kwargs,
        )
        return tuple(outputs)

    return [np.stack(o) for o in ops.run(graph, len(images))]


def mix_batches(rng: np.random.Generator, photos: Arrays, quick: bool) -> list[np.ndarray]:
    """Photo crops, odd-sized noise, one-channel images, and flat images with two textured."""
    flat = np.repeat(rng.integers(0, 256, (8, 1, 1, 3), dtype=np.uint8), 45, 1).repeat(61, 2)
    flat[[2, 5]] = rng.integers(0, 256, (2, 45, 61, 3), dtype=np.uint8)
    batches = [
        np.stack(photos[: 8 if quick else 32]),
        rng.integers(0, 256, (9 if quick else 33, 37, 53, 3), dtype=np.uint8),
        rng.integers(0, 256, (9, 96, 128, 1), dtype=np.uint8),
        flat,
    ]
    return batches[:2] if quick else batches


def check_mix(
    ops: Operators, rng: np.random.Generator, photos: Arrays, quick: bool
) -> tuple[int, int]:
    """Every family case in every mode, ids and soft labels; returns (compared, mismatches)."""
    from dali_saliencymix import MixConfig
    from dali_saliencymix.numpy import draw, mix

    cases = kernels_check.FAMILY_CASES
    names = list(cases)[::4] if quick else list(cases)
    compared = bad = 0
    for images in mix_batches(rng, photos, quick):
        n = len(images)
        for name in names:
            for mode in ("elem", "batch", "pair"):
                options = MixConfig(
                    num_classes=10,
                    mode=mode,
                    pairing="reverse" if mode == "pair" else "permutation",
                    label_smoothing=float(rng.choice([0.0, 0.1])),
                    prob=0.8,
                    correct_lam=bool(rng.random() < 0.7),
                    **cases[name],
                )
                draws = kernels_check.edge_draws(draw(n, options, rng), rng)
                soft = bool(rng.random() < 0.5)
                if soft:
                    labels = list(rng.dirichlet(np.ones(10), n).astype(np.float32))
                else:
                    labels = list(rng.integers(0, 10, (n, 1)).astype(np.int32))
                info = bool(rng.random() < 0.75)
                got = operator_mix(ops, images, labels, options, draws, info)
                ref = mix(images, np.stack(labels), options, draws=draws, return_info=info)
                compared += 1
                same = len(got) == len(ref) and all(
                    a.dtype == b.dtype and np.array_equal(a, b)
                    for a, b in zip(got, ref, strict=False)
                )
                if not same:
                    bad += 1
                    print(f"MISMATCH mix: {images.shape} {name} mode={mode} soft={soft}")
    return compared, bad


# ---- refusals ----------------------------------------------------------------------------------


def refusal(ops: Operators, graph: Callable[[], tuple], batch_size: int) -> str:
    """The error message of a pipeline that must fail ('' when it ran)."""
    try:
        ops.run(graph, batch_size)
    except Exception as err:  # noqa: BLE001 - DALI raises RuntimeError or ValueError
        return str(err)
    return ""


def check_refusals(ops: Operators) -> list[tuple[str, bool, str]]:
    """(case, refused with the operator named, first line) for inputs the operator refuses."""
    from nvidia.dali import fn

    same = [np.zeros((16, 16, 3), np.uint8)] * 2
    ragged = [np.zeros((16, 16, 3), np.uint8), np.zeros((16, 20, 3), np.uint8)]
    ids = [np.array([0], np.int32), np.array([1], np.int32)]
    draws = {"lam": [np.float32(0.5)] * 2, "apply": [np.int32(1)] * 2}

    def graph(images: Arrays, label_device: str):  # noqa: ANN202
        def run():  # noqa: ANN202
            kwargs = {k: ops.feed(v) for k, v in draws.items()}
            return tuple(
                fn.saliency_mix(
                    ops.images(images),
                    ops.feed(ids, device=label_device),
                    num_classes=2,
                    device=ops.device,
                    **kwargs,
                )
            )

        return run

    rows = []
    cases = [("images of two sizes in one batch", graph(ragged, "cpu"))]
    if ops.device == "gpu":
        cases.append(("class ids on the device", graph(same, "gpu")))
    for case, g in cases:
        message = refusal(ops, g, 2)
        named = "saliency_mix" in message or "SaliencyMix" in message
        lines = [line.strip() for line in message.splitlines() if line.strip()]
        # The operator's own line ("fn.saliency_mix: ..."), else DALI's, else the first.
        ranked = [x for x in lines if "saliency_mix:" in x] + [x for x in lines if "aliency" in x]
        first = (ranked + lines + ["(no error)"])[0]
        rows.append((case, bool(message) and named, first[:160]))
    return rows


# ---- timing ------------------------------------------------------------------------------------


def time_pipelines(batch: Arrays, iters: int = 100) -> list[tuple[str, float]]:
    """Wall ms per batch of a copy-only pipeline and of one that also mixes (draws as inputs)."""
    import torch
    from nvidia.dali import fn, pipeline_def

    from dali_saliencymix import MixConfig
    from dali_saliencymix.numpy import draw

    n = len(batch)
    on_device = [torch.from_numpy(im).cuda() for im in batch]
    labels = [np.array([i % 1000], np.int32) for i in range(n)]
    draws = draw(n, MixConfig(num_classes=1000, mode="elem"), 0)

    def graph(mixing: bool):  # noqa: ANN202
        def run():  # noqa: ANN202
            images = fn.external_source(
                source=lambda: on_device, batch=True, device="gpu", layout="HWC"
            )
            ids = fn.external_source(source=lambda: labels, batch=True)
            source = fn.external_source(source=lambda: list(draws.source), batch=True)
            lam = fn.external_source(source=lambda: list(draws.lam), batch=True)
            apply = fn.external_source(
                source=lambda: list(draws.apply.astype(np.int32)), batch=True
            )
            if not mixing:
                return fn.copy(images), ids, source, lam, apply
            mixed, soft = fn.saliency_mix(
                images, ids, num_classes=1000, mode="elem", source=source, lam=lam, apply=apply
            )
            return mixed, soft

        return run

    rows = []
    for name, mixing in (("copy only", False), ("copy replaced by fn.saliency_mix", True)):
        p = pipeline_def(graph(mixing), batch_size=n, num_threads=4, device_id=0)()
        p.build()
        for _ in range(10):
            p.run()
        start = time.perf_counter()
        for _ in range(iters):
            p.run()
        rows.append((name, (time.perf_counter() - start) / iters * 1e3))
    return rows


# ---- main --------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", choices=("gpu", "cpu"), default="gpu")
    parser.add_argument("--quick", action="store_true", help="fewer images and cases")
    parser.add_argument("--time", action="store_true", help="also time a 256-image pipeline")
    args = parser.parse_args(argv)
    ops = Operators(args.device)
    rng = np.random.default_rng(11)
    images = kernels_check.sample_images(rng)
    batch = kernels_check.photo_batch(rng, 16 if args.quick else 256)
    if args.quick:
        images = images[::8]
    images.append(rng.integers(0, 256, (5000, 8, 3), dtype=np.uint8))
    t0 = time.perf_counter()
    rows = [
        ("fine_grained_saliency, mixed sizes + 5000x8", *check_saliency(ops, images, "mixed")),
        ("fine_grained_saliency, 224x224 batch", *check_saliency(ops, batch, "batch", 256)),
        ("saliency_mix, family x modes x labels", *check_mix(ops, rng, batch, args.quick)),
    ]
    refusals = check_refusals(ops)
    print(f"\ndevice: {describe(args.device)}; checks took {time.perf_counter() - t0:.1f} s")
    print("| check | outputs compared | mismatches |\n|---|---|---|")
    for name, compared, bad in rows:
        print(f"| {name} | {compared} | {bad} |")
    print("\n| refused input | refused, operator named | message |\n|---|---|---|")
    for case, ok, line in refusals:
        print(f"| {case} | {ok} | {line.replace('|', '/')} |")
    if args.time and args.device == "gpu":
        timing = time_pipelines(kernels_check.photo_batch(rng, 256))
        print("\n| 256 x 224x224 RGB, DALI GPU pipeline | wall ms per batch |\n|---|---|")
        for name, ms in timing:
            print(f"| {name} | {ms:.3f} |")
        print(f"| added by fn.saliency_mix | {timing[1][1] - timing[0][1]:.3f} |")
    ok = all(c > 0 and b == 0 for _, c, b in rows) and all(r[1] for r in refusals)
    print("RESULT:", "PASS" if ok else "FAIL")
    return 0 if ok else 1


def describe(device: str) -> str:
    """The card (or 'CPU operators') and the DALI version."""
    import nvidia.dali

    if device == "cpu":
        return f"CPU operators; DALI {nvidia.dali.__version__}"
    # nvidia-smi, not torch: under compute-sanitizer torch would start CUDA for nothing.
    try:
        smi = subprocess.run(
            ["nvidia-smi", "--query-gpu=name", "--format=csv,noheader", "--id=0"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
    except OSError:
        smi = ""
    return f"{smi or 'GPU 0'}; DALI {nvidia.dali.__version__}"


if __name__ == "__main__":
    sys.exit(main())
