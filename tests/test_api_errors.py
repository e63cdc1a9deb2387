"""The Python front ends name the function the user called and say what came: a tensor given
to the numpy front end or an array to the torch one, a label error inside a timm drop-in, and
a FeatureSaliencyMix whose num_classes is not the model's class count."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from dali_saliencymix import numpy as dsm_numpy
from dali_saliencymix import torch as dsm_torch
from dali_saliencymix.timm import Mixup
from dali_saliencymix.torch import FeatureSaliencyMix

IMAGES = np.random.default_rng(0).integers(0, 256, (4, 16, 16, 3), dtype=np.uint8)
IDS = np.array([0, 1, 2, 3])


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: dsm_numpy.mix(torch.from_numpy(IMAGES), IDS, num_classes=4),
            "numpy.mix: images: expected a numpy array, got torch.Tensor (dali_saliencymix.torch "
            "takes tensors; or pass tensor.numpy())",
        ),
        (
            lambda: dsm_numpy.saliency_map(torch.from_numpy(IMAGES[0])),
            "saliency_map: image: expected a numpy array, got torch.Tensor",
        ),
        (
            lambda: dsm_torch.mix(IMAGES, torch.from_numpy(IDS), num_classes=4),
            "torch.mix: images: expected a uint8 NHWC torch.Tensor, got numpy.ndarray "
            "(dali_saliencymix.numpy takes numpy arrays; or pass torch.from_numpy(images))",
        ),
        (
            lambda: dsm_torch.saliency_mix([IMAGES], torch.from_numpy(IDS), num_classes=4),
            "torch.saliency_mix: images: expected a uint8 NHWC torch.Tensor, got builtins.list",
        ),
    ],
)
def test_the_wrong_kind_of_array_is_named_with_the_right_front_end(call, message) -> None:
    with pytest.raises(TypeError) as err:
        call()
    assert str(err.value).startswith(message), str(err.value)


def test_a_timm_drop_in_names_itself_for_a_label_out_of_range() -> None:
    mixup = Mixup(mixup_alpha=0.0, cutmix_alpha=1.0, num_classes=4, label_smoothing=0.0)
    x = torch.zeros(4, 3, 16, 16)
    with pytest.raises(ValueError) as err:
        mixup(x, torch.tensor([0, 1, 2, 4]))
    assert str(err.value).startswith("timm.Mixup: labels: sample 3 has class 4"), str(err.value)


def test_feature_mix_refuses_a_model_with_another_class_count() -> None:
    model = nn.Sequential()
    model.add_module("layer", nn.Conv2d(3, 4, 3, padding=1))
    model.add_module("pool", nn.AdaptiveAvgPool2d(1))
    model.add_module("flat", nn.Flatten())  # 4 outputs per sample
    x = torch.rand(2, 3, 8, 8)
    for training in (True, False):
        mixer = FeatureSaliencyMix(model, ["layer"], num_classes=1000).train(training)
        with pytest.raises(ValueError) as err:
            mixer(x, torch.tensor([0, 1]))
        expected = "FeatureSaliencyMix: the model gives 4 outputs per sample, but num_classes is "
        assert str(err.value).startswith(expected + "1000"), str(err.value)
        assert "give num_classes=4, or the model a head of 1000 classes" in str(err.value)
    logits, targets = FeatureSaliencyMix(model, ["layer"], num_classes=4)(x, torch.tensor([0, 1]))
    assert logits.shape == targets.shape == (2, 4)


def test_counts_in_messages_agree_with_their_nouns() -> None:
    from dali_saliencymix._text import counted

    assert [counted(n, "file") for n in (0, 1, 2)] == ["0 files", "1 file", "2 files"]
    assert counted(1, "class", "classes") == "1 class" and counted(3, "class", "classes") == (
        "3 classes"
    )
