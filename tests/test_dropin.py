"""The recipe pages for DALI's ResNet-50 example and DeepLearningExamples' ConvNets: their line
counts are the diffs', their lines are the ones the runnable code and these tests run, on the
CPU."""

from __future__ import annotations

import importlib.util
import math
import re
from pathlib import Path

import pytest
import torch
from nvidia.dali import ops, types
from nvidia.dali.pipeline import Pipeline
from nvidia.dali.plugin.pytorch import DALIClassificationIterator, LastBatchPolicy

import dali_saliencymix

ROOT = Path(__file__).resolve().parents[1]
PAGES = ROOT / "pipelines"
PHOTOS = Path(dali_saliencymix.__file__).resolve().parent / "data" / "photos"


def diff_lines(page: str) -> tuple[list[str], list[str]]:
    """The added and removed lines of a page's ``diff`` blocks (without the + or -)."""
    text = (PAGES / page).read_text()
    blocks = re.findall(r"```diff\n(.*?)```", text, re.S)
    lines = [line for block in blocks for line in block.splitlines()]
    return [x[1:] for x in lines if x.startswith("+")], [x[1:] for x in lines if x.startswith("-")]


def squeezed(code: str) -> str:
    """Code without comments and whitespace (formatting aside, the same statements)."""
    return "".join(re.sub(r"#.*", "", line) for line in code.splitlines()).replace(" ", "")


@pytest.mark.parametrize("page", ["resnet50_dropin.md", "deeplearningexamples_dropin.md"])
def test_the_page_counts_its_changed_lines(page) -> None:
    added, removed = diff_lines(page)
    stated = re.search(r"(\d+) added, (\d+) removed", (PAGES / page).read_text())
    assert stated, "the page says how many lines change"
    assert (int(stated[1]), int(stated[2])) == (len(added), len(removed))
    assert any("saliency_mix(images," in line for line in added)


@pytest.mark.parametrize(
    ("page", "code"),
    [
        ("resnet50_dropin.md", PAGES / "resnet50_dropin.py"),
        ("deeplearningexamples_dropin.md", Path(__file__)),
    ],
)
def test_the_pages_lines_are_the_ones_that_run(page, code) -> None:
    """Each added line of a page is in the code run here (resnet50_dropin.py, or this test's
    class-based pipeline for DeepLearningExamples), formatting aside."""
    source = squeezed(code.read_text())
    added, _ = diff_lines(page)
    skipped = {"num_classes=1000,", "num_classes=num_classes,", "self.num_classes=num_classes"}
    skipped |= {'ifargs.mixup>0.0orargs.data_backend.startswith("dali"):'}  # main.py's loss
    for line in added:
        if squeezed(line) not in skipped:
            assert squeezed(line) in source, line


def test_the_resnet50_recipe_trains_and_validates_on_the_cpu() -> None:
    spec = importlib.util.spec_from_file_location("dropin", PAGES / "resnet50_dropin.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    seen = module.main(["--dali_cpu", "--batches", "2", "--batch-size", "4"])
    assert len(seen["train"]) == 2
    for images, targets, sums, loss, prec1, prec5 in seen["train"]:
        assert images[1:] == (3, 224, 224) and targets == (images[0], 1000)
        assert sums == pytest.approx([1.0] * images[0], abs=1e-6)
        assert math.isfinite(loss) and 0 <= prec1 <= prec5 <= 100
    assert seen["val"] and all(len(shape) == 1 for shape, *_ in seen["val"])  # class ids
    assert seen["proxy"] == [(2, 3, 224, 224)]  # the proxy pipeline: no labels, not mixed


class HybridTrainPipeOnTheCPU(Pipeline):
    """The shape of DeepLearningExamples' ``HybridTrainPipe`` (class-based ``ops``), on the CPU,
    with the page's lines."""

    def __init__(self, batch_size: int, data_dir: Path, crop: int, num_classes: int) -> None:
        super().__init__(batch_size, 1, None, seed=12)
        self.input = ops.readers.File(
            file_root=str(data_dir), random_shuffle=True, pad_last_batch=True
        )
        self.decode = ops.decoders.Image(device="cpu", output_type=types.RGB)
        self.res = ops.RandomResizedCrop(
            device="cpu", size=[crop, crop], random_area=[0.08, 1.0], num_attempts=100
        )
        self.cmnp = ops.CropMirrorNormalize(
            device="cpu",
            dtype=types.FLOAT,
            output_layout=types.NCHW,
            crop=(crop, crop),
            mean=[0.485 * 255, 0.456 * 255, 0.406 * 255],
            std=[0.229 * 255, 0.224 * 255, 0.225 * 255],
        )
        self.coin = ops.random.CoinFlip(probability=0.5)
        self.num_classes = num_classes

    def define_graph(self):  # noqa: ANN201
        rng = self.coin()
        self.jpegs, self.labels = self.input(name="Reader")
        images = self.decode(self.jpegs)
        images = self.res(images)
        images, labels = dali_saliencymix.saliency_mix(images, self.labels, num_classes=self.num_classes)  # noqa: E501 # fmt: skip
        output = self.cmnp(images, mirror=rng)  # the page: images.gpu()
        return [output, labels]


def wrapped_target(data: list) -> torch.Tensor:
    """DALIWrapper's target lines from the page (``.cuda()`` only where there is a GPU)."""
    target = data[0]["label"].cuda() if torch.cuda.is_available() else data[0]["label"]
    if not target.is_floating_point():  # the validation pipeline's class ids
        target = torch.reshape(target, [-1]).long()
    return target


def test_the_deeplearningexamples_lines_in_a_class_based_pipeline() -> None:
    """saliency_mix inside a class-based define_graph gives soft targets, which the wrapper's
    new lines pass on; class ids (the validation pipeline's) still become a long vector."""
    pipe = HybridTrainPipeOnTheCPU(batch_size=4, data_dir=PHOTOS, crop=64, num_classes=1000)
    pipe.build()
    loader = DALIClassificationIterator(
        pipe, reader_name="Reader", last_batch_policy=LastBatchPolicy.PARTIAL
    )
    data = next(iter(loader))
    target = wrapped_target(data)
    assert data[0]["data"].shape == (4, 3, 64, 64)
    assert target.dtype == torch.float32 and target.shape == (4, 1000)
    torch.testing.assert_close(target.sum(1), torch.ones(4))
    assert (target.max(1).values < 1).any()  # the batch was mixed (one draw, prob 1)
    ids = wrapped_target([{"label": torch.tensor([[3], [1]], dtype=torch.int32)}])
    assert ids.dtype == torch.long and ids.tolist() == [3, 1]
