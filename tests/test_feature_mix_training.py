"""The trainer's --feature-mix: it trains, the pipeline stops mixing the images, the mixer's
generator goes into the checkpoints and a resumed run draws the same batches, and the flags
that feature mixing does not take are refused with one line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch
from conftest import TINY_TRAINER
from test_training import contrast_dataset, load_trainer

from dali_saliencymix.app.train.args import parse_args
from dali_saliencymix.app.train.feature import pipeline_mix
from dali_saliencymix.options import MixConfig

COMMON = [
    *TINY_TRAINER,
    "--quiet",
    "--lr",
    "0.02",
    "--warmup-epochs",
    "0",
    "--mixup-mode",
    "elem",
]


def test_resume_draws_the_same_layers_and_boxes(tmp_path: Path) -> None:
    data = contrast_dataset(tmp_path / "data", per_class=6)
    trainer = load_trainer()
    args = [str(data), *COMMON, "--feature-mix", "features.0,features.1,features.2"]
    full = trainer.main([*args, "--epochs", "3", "--save", str(tmp_path / "ckpt_{epoch}.pt")])
    state = torch.load(tmp_path / "ckpt_2.pt", weights_only=False)
    saved = state["feature_mix"]
    assert len(saved) == 1 and saved[0]["layers"] == ["features.0", "features.1", "features.2"]
    assert isinstance(saved[0]["generator"], torch.Tensor)
    resumed = trainer.main([*args, "--epochs", "3", "--resume", str(tmp_path / "ckpt_2.pt")])
    assert resumed["loss"] == pytest.approx([full["loss"][2]], rel=1e-6)
    # The generator's state is what makes it so: another state, another epoch.
    saved[0]["generator"] = torch.Generator().manual_seed(12345).get_state()
    torch.save(state, tmp_path / "other.pt")
    other = trainer.main([*args, "--epochs", "3", "--resume", str(tmp_path / "other.pt")])
    assert other["loss"][0] != pytest.approx(full["loss"][2], rel=1e-6)
    with pytest.raises(SystemExit, match="saved with --feature-mix; resume with the same"):
        trainer.main([str(data), *COMMON, "--epochs", "3", "--resume", str(tmp_path / "ckpt_2.pt")])
    with pytest.raises(SystemExit, match=r"other feature mixing \(--feature-saliency mean_abs"):
        trainer.main(
            [
                *args,
                "--epochs",
                "3",
                "--feature-saliency",
                "l2",
                "--resume",
                str(tmp_path / "ckpt_2.pt"),
            ]
        )


def test_the_pipeline_delivers_one_hot_targets_with_feature_mix() -> None:
    mix = MixConfig(num_classes=5, cutmix_alpha=1.0, mode="elem", label_smoothing=0.1)
    args = parse_args(["DATA", "--feature-mix", "layer2", "--smoothing", "0.1"])
    assert args.feature_mix == ["layer2"] and args.feature_saliency == "mean_abs"
    assert pipeline_mix(args, mix) == MixConfig(num_classes=5, enabled=False)
    assert pipeline_mix(parse_args(["DATA"]), mix) is mix


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (
            ["--mixup", "0.8"],
            "train_imagenet: --feature-mix mixes feature maps by CutMix only .* --mixup must be "
            "0, got 0.8",
        ),
        (["--cutmix", "0"], "--feature-mix mixes by CutMix, so --cutmix must be > 0"),
        (
            ["--cutmix-placement", "target_background"],
            "--feature-mix offers only --cutmix-placement 'source_peak'",
        ),
        (["--feature-mix", "body"], "--feature-mix body: .*no layer 'body' .*features, head"),
        (["--feature-mix", "head"], "--feature-mix head: .*layer 'head' gives \\(4, 2\\);"),
        (["--feature-mix", "features.0,,features.1"], None),
    ],
)
def test_refused_flags_end_with_one_line(tmp_path: Path, capsys, flags, message) -> None:
    data = contrast_dataset(tmp_path / "data", per_class=2)
    argv = [str(data), *COMMON, "--epochs", "1", "--feature-mix", "features.1", *flags]
    with pytest.raises(SystemExit) as caught:
        load_trainer().main(argv)
    if message is None:  # argparse: usage error, exit code 2
        assert caught.value.code == 2
        assert "expected layer names separated by commas" in capsys.readouterr().err
    else:
        text = capsys.readouterr().err.strip()
        assert caught.value.code == 2
        assert re.search(message, text) and "\n" not in text, text
