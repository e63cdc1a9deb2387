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
import sys
from typing import NoReturn

from dali_saliencymix.app.flags import option_message
from dali_saliencymix.app.train.args import parse_args
from dali_saliencymix.app.train.checkpoint import CheckpointError
from dali_saliencymix.app.train.loop import WHO, TrainError, train
from dali_saliencymix.app.train.models import ModelError
from dali_saliencymix.data.decode_check import DataError
from dali_saliencymix.data.folder import DatasetError
from dali_saliencymix.data.names import printable
from dali_saliencymix.options import OptionError


class TrainerExit(SystemExit):
    """The end of a run that failed: ``code`` is the exit code, ``str()`` the message."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(code)
        self.message = message

    def __str__(self) -> str:
        return self.message


def main(argv: list[str] | None = None, prog: str = "train_imagenet.py") -> dict:
    """Train; returns a summary (per-epoch mean loss, images/s) for tests and scripts.

    `prog` names the command in the usage line (``dali-saliencymix train`` runs this too).

    Errors end the run with one line on stderr naming the flag or the file, and exit code 2
    for usage errors (flags, option values, a --resume or --save that cannot be used), 1 for
    data that cannot be read and runs that cannot go on, 130 for Ctrl-C.
    """
    args = parse_args(argv, prog)
    who = WHO if prog == "train_imagenet.py" else prog  # the command the user typed
    try:
        return train(args)
    except OptionError as err:
        _fail(option_message(err.named(who)), 2)
    except CheckpointError as err:
        _fail(_where(who, err), err.code)
    except ModelError as err:
        _fail(_where(who, err), 2)
    except (DataError, DatasetError, TrainError) as err:
        _fail(_where(who, err), 1)
    except KeyboardInterrupt:
        _fail(f"{who}: interrupted (Ctrl-C)", 130)
    except (ImportError, OSError, RuntimeError, ValueError) as err:
        # DALI's own errors (a pipeline that cannot be built), a DALI that does not match the
        # plugin, files that cannot be read: one line too.
        _fail(_where(who, err), 1)


def _where(who: str, err: Exception) -> str:
    rank = os.environ.get("RANK")
    return f"{who} (rank {rank}): {err}" if rank is not None else f"{who}: {err}"


def _fail(message: str, code: int) -> NoReturn:
    """Print one line on stderr (file names' bytes escaped) and end with `code`."""
    line = printable(" ".join(message.split()))
    print(line, file=sys.stderr, flush=True)
    raise TrainerExit(line, code) from None


__all__ = ["TrainerExit", "main", "parse_args", "train"]
