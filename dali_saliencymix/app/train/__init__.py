"""The torchrun trainer (``pipelines/train_imagenet.py``): DALI + the mixing family + DDP.

- :mod:`.args`: the command line (timm's mixing flags with ``MixConfig``'s defaults);
- :mod:`.models`: ``--arch tiny`` or a torchvision model;
- :mod:`.loop`: data and pipelines per rank, the epochs, evaluation;
- :mod:`.checkpoint`: saving and resuming (model, optimiser, classes, every rank's DALI state);
- :mod:`.feature`: ``--feature-mix``, SaliencyMix on feature maps inside the model.

:func:`main` turns the library's typed errors into a one-line message.
"""

from __future__ import annotations

import os

from dali_saliencymix.app.flags import option_message
from dali_saliencymix.app.train.args import parse_args
from dali_saliencymix.app.train.checkpoint import CheckpointError
from dali_saliencymix.app.train.loop import WHO, TrainError, train
from dali_saliencymix.app.train.models import ModelError
from dali_saliencymix.data.decode_check import DataError
from dali_saliencymix.data.folder import DatasetError
from dali_saliencymix.options import OptionError


def main(argv: list[str] | None = None) -> dict:
    """Train; returns a summary (per-epoch mean loss, images/s) for tests and scripts.

    Errors (bad flags, data DALI cannot read, a checkpoint of another run) end the run with
    one line naming the flag or the file.
    """
    args = parse_args(argv)
    try:
        return train(args)
    except OptionError as err:
        raise SystemExit(option_message(err.named(WHO))) from None
    except (DataError, DatasetError, TrainError, CheckpointError, ModelError) as err:
        rank = os.environ.get("RANK")
        where = f"{WHO} (rank {rank})" if rank is not None else WHO
        raise SystemExit(f"{where}: {err}") from None


__all__ = ["main", "parse_args", "train"]
