"""`dali-saliencymix preview DATA_DIR --feature-mix LAYER`: the boxes of SaliencyMix on feature
maps, scaled to the image, for an untrained ResNet-18 or a trainer checkpoint."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from test_demo_cli import make_dataset
from test_training import load_trainer

from dali_saliencymix.app import cli
from dali_saliencymix.app.feature_preview import (
    LayerMix,
    feature_sheet,
    mix_layers,
    scaled_box,
)
from dali_saliencymix.app.train.models import TinyNet
from dali_saliencymix.options import MixConfig
from dali_saliencymix.torch import FeatureMixInfo
from dali_saliencymix.torch.feature_boxes import feature_saliency


def torchvision_imports() -> bool:
    if importlib.util.find_spec("torchvision") is None:
        return False
    try:
        import torchvision  # noqa: F401
    except Exception:  # noqa: BLE001 - any failure to import it means: not here
        return False
    return True


def test_boxes_are_scaled_from_the_feature_map_to_the_image() -> None:
    assert scaled_box([1, 2, 5, 7], (7, 7), (224, 224)) == [32, 64, 160, 224]
    assert scaled_box([0, 0, 3, 1], (3, 2), (90, 60)) == [0, 0, 90, 30]


def test_a_layer_is_mixed_on_its_unmixed_maps_with_batchnorm_statistics() -> None:
    torch.manual_seed(0)
    model = TinyNet(3)
    images, labels = torch.randn(4, 3, 32, 32), torch.tensor([0, 1, 2, 0])
    model.eval()
    with torch.no_grad():
        plain = model.features[:2](images)
    options = MixConfig(num_classes=3, prob=1.0, mode="elem")
    (mix,) = mix_layers(model, images, labels, ["features.1"], options, "l2", seed=3)
    torch.testing.assert_close(mix.maps, feature_saliency(plain, "l2"))  # BatchNorm: eval
    assert mix.info.mixed.all() and mix.maps.shape == (4, 8, 8)
    assert (mix.info.boxes[:, 2:] <= 8).all() and mix.info.source.tolist() == [3, 2, 1, 0]
    assert not model.features[0][1].training and model.training  # the model mixed in training


def test_the_sheet_outlines_the_scaled_boxes(tmp_path: Path) -> None:
    images = [np.full((64, 48, 3), 60 * k, np.uint8) for k in range(2)]
    info = FeatureMixInfo(
        layer="l",
        boxes=torch.tensor([[1, 1, 3, 2], [0, 0, 0, 0]], dtype=torch.int32),
        lam=torch.tensor([0.625, 1.0]),
        source=torch.tensor([1, 0], dtype=torch.int32),
        mixed=torch.tensor([True, False]),
    )
    mix = LayerMix("l", info, torch.rand(2, 4, 3))
    out = feature_sheet(images, [0, 1], [mix], ["a", "b"], "model", tmp_path / "s.png")
    sheet = np.asarray(Image.open(out))
    assert sheet.shape[:2] == (2 * 228 + 4, 3 * 228 + 4)
    # Feature box (1, 1, 3, 2) on a 4 x 3 map is (16, 16, 48, 32) in the 64 x 48 image: its
    # outline is green on the target (cell 0) and cyan on the source (cell 1).
    assert sheet[4 + 16, 4 + 20].tolist() == [0, 255, 0]
    assert sheet[4 + 30, 4 + 228 + 16].tolist() == [0, 255, 255]
    assert sheet[4 + 30, 4 + 20].tolist() == [0, 0, 0]  # inside: the target's own pixels


def test_preview_of_a_trainer_checkpoint(tmp_path: Path, capsys) -> None:
    data = make_dataset(tmp_path / "data", classes=2, per_class=4)
    ckpt = tmp_path / "tiny.pt"
    load_trainer().main(
        [str(data), "--epochs", "1", "--batch-size", "4", "--arch", "tiny", "--cpu", "--quiet"]
        + ["--crop", "64", "--workers", "1", "--save", str(ckpt)]
    )
    out = tmp_path / "features.png"
    argv = ["preview", str(data), "--out", str(out), "--batch-size", "4", "--device", "cpu"]
    argv += ["--size", "96", "--feature-mix", "features.1,features.2", "--checkpoint", str(ckpt)]
    assert cli.main(argv) == 0
    sheet = np.asarray(Image.open(out))
    assert sheet.shape[:2] == (4 * 228 + 4, 6 * 228 + 4)  # per layer: target, source, saliency
    assert cli.main([*argv[:-1], str(data / "class0" / "0.jpg")]) == 1
    assert "not a checkpoint of the trainer" in capsys.readouterr().err
    assert cli.main([*argv[:-4], "--feature-mix", "fc", "--checkpoint", str(ckpt)]) == 1
    assert "no layer 'fc'" in " ".join(capsys.readouterr().err.split())
    assert cli.main([*argv[:-4], "--checkpoint", str(ckpt)]) == 2
    assert "--checkpoint is the model of --feature-mix" in capsys.readouterr().err


@pytest.mark.skipif(not torchvision_imports(), reason="torchvision does not import here")
def test_preview_of_an_untrained_resnet18(tmp_path: Path) -> None:
    data = make_dataset(tmp_path / "data", classes=2, per_class=2)
    out = tmp_path / "features.png"
    argv = ["preview", str(data), "--out", str(out), "--batch-size", "4", "--device", "cpu"]
    assert cli.main([*argv, "--size", "128", "--feature-mix", "layer2"]) == 0
    assert np.asarray(Image.open(out)).shape[:2] == (4 * 228 + 4, 3 * 228 + 4)


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--mixup", "0.8"], "--mixup must be 0, got 0.8"),
        (["--cutmix-placement", "target_background"], "offers only --cutmix-placement"),
    ],
)
def test_feature_preview_refuses_what_feature_mixing_does_not_take(
    tmp_path: Path, capsys, flags, message
) -> None:
    """As the trainer does: no silent CutMix where MixUp or a moved patch was asked for."""
    data = make_dataset(tmp_path / "data", classes=2, per_class=2)
    argv = ["preview", str(data), "--out", str(tmp_path / "p.png"), "--device", "cpu"]
    assert cli.main([*argv, "--feature-mix", "layer2", *flags]) == 2
    err = capsys.readouterr().err
    assert err.startswith("dali-saliencymix preview: ") and message in err, err
    assert not (tmp_path / "p.png").exists()
