"""Training on the CPU: sharding across two gloo ranks, loss going down, one-hot at prob=0,
mix-off epoch, and resuming with the DALI checkpoint."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from conftest import PHOTO_DIR, TINY_TRAINER
from PIL import Image

from dali_saliencymix.pipeline import MixConfig, train_pipeline
from dali_saliencymix.torch import SaliencyMixIterator

ROOT = Path(__file__).resolve().parents[1]


def load_trainer():
    spec = importlib.util.spec_from_file_location(
        "train_imagenet", ROOT / "pipelines" / "train_imagenet.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def one_file_per_class(root: Path, n: int) -> Path:
    """n photo files, each in its own class folder: the label of a sample names its file."""
    photos = sorted(PHOTO_DIR.glob("*/*.jpg"))
    for i in range(n):
        (root / f"c{i:02d}").mkdir(parents=True)
        shutil.copy(photos[i % len(photos)], root / f"c{i:02d}" / "img.jpg")
    return root


def _rank_main(rank: int, world: int, data: str, init: str, out: str) -> None:
    dist.init_process_group("gloo", init_method=init, rank=rank, world_size=world)
    n = len(list(Path(data).iterdir()))
    # prob=0: targets are one-hot, so they name the files read. prob=1: the pairs show the
    # permutation drawn by this rank.
    seen = []
    pipe = train_pipeline(
        data,
        batch_size=4,
        num_threads=1,
        device_id=None,
        shard_id=rank,
        num_shards=world,
        seed=100 + rank,
        crop=32,
        mix=MixConfig(num_classes=n, prob=0.0),
    )
    for _, targets in SaliencyMixIterator(pipe):
        seen += targets.argmax(1).tolist()
    perms = []
    pipe = train_pipeline(
        data,
        batch_size=4,
        num_threads=1,
        device_id=None,
        shard_id=0,
        num_shards=1,
        seed=100 + rank,
        crop=32,
        mix=MixConfig(num_classes=n, prob=1.0, cutmix_alpha=1.0, pairing="permutation"),
    )
    for _, targets in SaliencyMixIterator(pipe):
        perms.append([sorted(np.flatnonzero(t.numpy()).tolist()) for t in targets])
    gathered = [None] * world
    dist.all_gather_object(gathered, {"seen": seen, "pairs": perms})
    if rank == 0:
        torch.save(gathered, out)
    dist.destroy_process_group()


def test_two_gloo_ranks_read_every_file_once_and_draw_different_pairs(tmp_path: Path) -> None:
    """Last-batch rule: each rank's last batch is PARTIAL (trimmed to its real samples)."""
    n = 11  # shards of 5 and 6 files; batches of 4: 4+1 and 4+2
    data = one_file_per_class(tmp_path / "data", n)
    out = tmp_path / "gathered.pt"
    mp.spawn(
        _rank_main,
        args=(2, str(data), f"file://{tmp_path / 'init'}", str(out)),
        nprocs=2,
        join=True,
    )
    gathered = torch.load(out, weights_only=False)
    seen = gathered[0]["seen"] + gathered[1]["seen"]
    assert sorted(seen) == list(range(n))  # every file exactly once between the two ranks
    assert set(gathered[0]["seen"]).isdisjoint(gathered[1]["seen"])
    assert gathered[0]["pairs"] != gathered[1]["pairs"]  # different seeds, different pairings


def contrast_dataset(root: Path, per_class: int = 12) -> Path:
    """Two easily told classes: dark and bright noisy images."""
    rng = np.random.default_rng(0)
    for c, base in enumerate((40, 200)):
        (root / f"class{c}").mkdir(parents=True)
        for k in range(per_class):
            pixels = np.clip(base + rng.normal(0, 25, (48, 48, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(pixels).save(root / f"class{c}" / f"{k}.jpg", quality=90)
    return root


def test_short_training_run_reduces_the_loss(tmp_path: Path) -> None:
    data = contrast_dataset(tmp_path / "data")
    history = load_trainer().main(
        [
            str(data),
            "--epochs",
            "8",
            "--batch-size",
            "8",
            "--arch",
            "tiny",
            "--cpu",
            "--crop",
            "32",
            "--lr",
            "0.05",
            "--warmup-epochs",
            "1",
            "--workers",
            "1",
            "--cutmix",
            "1.0",
            "--mixup-prob",
            "0.5",
            "--mixup-mode",
            "elem",
            "--smoothing",
            "0",
            "--quiet",
        ]
    )
    losses = history["loss"]
    assert len(losses) == 8
    assert losses[-1] < 0.75 * losses[0], losses


def test_prob_zero_targets_are_one_hot_and_mix_off_epoch(tmp_path: Path) -> None:
    data = contrast_dataset(tmp_path / "data", per_class=4)
    pipe = train_pipeline(
        data,
        batch_size=4,
        num_threads=1,
        device_id=None,
        crop=32,
        mix=MixConfig(num_classes=2, prob=0.0),
    )
    for images, targets in SaliencyMixIterator(pipe):
        assert images.shape == (len(targets), 3, 32, 32) and images.dtype == torch.float32
        assert set(targets.unique().tolist()) <= {0.0, 1.0}
        torch.testing.assert_close(targets.sum(1), torch.ones(len(targets)))
    pipe = train_pipeline(
        data,
        batch_size=4,
        num_threads=1,
        device_id=None,
        crop=32,
        mix=MixConfig(num_classes=2, prob=1.0, mix_off_epoch=1),
    )
    loader = SaliencyMixIterator(pipe)
    mixed_per_epoch = []
    for _ in range(3):
        mixed = 0
        for _, targets in loader:
            mixed += int((targets.max(1).values < 1).sum())
        mixed_per_epoch.append(mixed)
        assert loader.mix_enabled == (loader.epoch < 1)
    assert mixed_per_epoch[0] > 0 and mixed_per_epoch[1:] == [0, 0]


def test_resume_gives_the_same_epoch_as_an_uninterrupted_run(tmp_path: Path) -> None:
    data = contrast_dataset(tmp_path / "data", per_class=6)
    trainer = load_trainer()
    common = [
        str(data),
        *TINY_TRAINER,
        "--quiet",
        "--lr",
        "0.02",
        "--warmup-epochs",
        "0",
        "--mixup",
        "0.8",
        "--cutmix",
        "1.0",
        "--mixup-mode",
        "elem",
    ]
    full = trainer.main([*common, "--epochs", "3", "--save", str(tmp_path / "ckpt_{epoch}.pt")])
    state = torch.load(tmp_path / "ckpt_2.pt", weights_only=False)
    assert state["epoch"] == 2 and len(state["dali_checkpoints"]) == 1
    assert (state["args"]["mixup"], state["args"]["cutmix"]) == (0.8, 1.0)
    assert state["classes"] == ["class0", "class1"]  # class names travel with the checkpoint
    resumed = trainer.main([*common, "--epochs", "3", "--resume", str(tmp_path / "ckpt_2.pt")])
    assert resumed["loss"] == pytest.approx([full["loss"][2]], rel=1e-5)
    (data / "class1").rename(data / "classB")
    with pytest.raises(SystemExit, match="resume on the same classes"):
        trainer.main([*common, "--epochs", "3", "--resume", str(tmp_path / "ckpt_2.pt")])


def test_the_smoke_run_on_the_shipped_photos_shows_its_progress(capsys) -> None:
    """The README's CPU line (run verbatim by test_readme_commands), in process, no --quiet."""
    history = load_trainer().main(
        [str(PHOTO_DIR), "--epochs", "2", "--batch-size", "8", "--arch", "tiny", "--cpu"]
        + ["--cutmix", "1.0"]
    )
    assert len(history["loss"]) == 2 and all(np.isfinite(history["loss"]))
    out = capsys.readouterr().out
    assert "epoch 0: loss" in out and "epoch 1: loss" in out and "images/s" in out


def test_file_list_reader_and_validation_pipeline(tmp_path: Path) -> None:
    from dali_saliencymix.pipeline import val_pipeline

    data = contrast_dataset(tmp_path / "data", per_class=3)
    lines = [f"class{c}/{k}.jpg {c}" for c in range(2) for k in range(3)]
    (tmp_path / "list.txt").write_text("\n".join(lines) + "\n")
    pipe = train_pipeline(
        data,
        file_list=tmp_path / "list.txt",
        batch_size=3,
        num_threads=1,
        device_id=None,
        crop=32,
        channels_last=True,
        mix=MixConfig(num_classes=2, prob=0.0),
    )
    batches = list(SaliencyMixIterator(pipe))
    assert [b[0].shape for b in batches] == [(3, 32, 32, 3)] * 2  # channels-last HWC
    assert sorted(int(t.argmax()) for _, targets in batches for t in targets) == [0, 0, 0, 1, 1, 1]
    val = SaliencyMixIterator(
        val_pipeline(data, batch_size=4, num_threads=1, device_id=None, crop=32, resize=40)
    )
    assert len(val) == 2
    images, labels = next(iter(val))
    assert images.shape == (4, 3, 32, 32) and labels.dtype in (torch.int32, torch.int64)
    with pytest.raises(ValueError, match="give data_dir"):
        train_pipeline(None, batch_size=2, device_id=None)


def _trainer_rank(rank: int, world: int, data: str, port: int, out: str) -> None:
    import os

    os.environ.update(
        {
            "RANK": str(rank),
            "WORLD_SIZE": str(world),
            "LOCAL_RANK": str(rank),
            "MASTER_ADDR": "127.0.0.1",
            "MASTER_PORT": str(port),
        }
    )
    history = load_trainer().main(
        [
            data,
            "--epochs",
            "2",
            "--batch-size",
            "4",
            "--arch",
            "tiny",
            "--cpu",
            "--crop",
            "32",
            "--workers",
            "1",
            "--cutmix",
            "1.0",
            "--quiet",
        ]
    )
    torch.save(history, f"{out}.{rank}")


def test_ddp_ranks_with_an_empty_last_batch_train_without_nan(tmp_path: Path) -> None:
    """17 files on 2 ranks, batch 4: shards of 8 and 9 padded to 9, so one rank's third PARTIAL
    batch is empty; both ranks must still step together and report finite losses."""
    import socket

    data = one_file_per_class(tmp_path / "data", 17)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = str(tmp_path / "history")
    mp.spawn(_trainer_rank, args=(2, str(data), port, out), nprocs=2, join=True)
    histories = [torch.load(f"{out}.{r}", weights_only=False) for r in range(2)]
    for h in histories:
        assert len(h["loss"]) == 2 and all(np.isfinite(h["loss"]))
    assert histories[0]["loss"] == histories[1]["loss"]  # reduced over the ranks


def test_without_mix_config_the_targets_are_class_ids(tmp_path: Path) -> None:
    data = contrast_dataset(tmp_path / "data", per_class=2)
    pipe = train_pipeline(data, batch_size=4, num_threads=1, device_id=None, crop=32, mix=None)
    assert pipe.mix_switch is None  # no mix-off rule without mixing
    loader = SaliencyMixIterator(pipe)
    _, labels = next(iter(loader))
    assert labels.shape == (4,) and sorted(labels.tolist()) == [0, 0, 1, 1]
    assert not loader.mix_enabled


def test_mixup_0_and_cutmix_0_train_without_mixing(tmp_path: Path) -> None:
    """`--mixup 0 --cutmix 0` is the trainer's way to train on the one-hot labels."""
    data = contrast_dataset(tmp_path / "data", per_class=4)
    history = load_trainer().main(
        [str(data), "--epochs", "1", *TINY_TRAINER, "--mixup", "0", "--cutmix", "0", "--quiet"]
    )
    assert len(history["loss"]) == 1 and np.isfinite(history["loss"][0])
    mix = MixConfig(num_classes=2, mixup_alpha=0.0, cutmix_alpha=0.0, enabled=False)
    pipe = train_pipeline(data, batch_size=4, num_threads=1, device_id=None, crop=32, mix=mix)
    _, targets = pipe.run()
    rows = np.stack([np.array(t) for t in targets])
    assert set(np.unique(rows)) == {0.0, 1.0} and (rows.sum(1) == 1).all()


def test_torchvision_and_timm_import_and_the_default_model_trains(tmp_path: Path) -> None:
    """In the environment scripts/setup.sh builds, torchvision and timm import (a torch and the
    torchvision of its release), and the trainer's default model (resnet50) takes a CPU step."""
    import timm  # noqa: F401 - imports torchvision too
    import torchvision

    assert torchvision.models.get_model("resnet50", weights=None, num_classes=3) is not None
    data = one_file_per_class(tmp_path / "data", 2)
    history = load_trainer().main(
        [str(data), "--epochs", "1", "--batch-size", "2", "--cpu", "--crop", "32", "--quiet"]
    )
    assert len(history["loss"]) == 1 and np.isfinite(history["loss"][0])


def test_a_model_that_cannot_be_built_is_one_line(monkeypatch) -> None:
    """Any failure to import torchvision (not only ImportError) is the trainer's one-line error."""
    import builtins

    from dali_saliencymix.app.train.models import ModelError, build_model

    real_import = builtins.__import__

    def broken(name, *args, **kwargs):
        if name == "torchvision":
            raise RuntimeError("operator torchvision::nms does not exist")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", broken)
    with pytest.raises(ModelError, match="--arch resnet50 needs torchvision, which does not"):
        build_model("resnet50", 3)
    assert build_model("tiny", 3) is not None
