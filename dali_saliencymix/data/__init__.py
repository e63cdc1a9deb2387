"""The data a pipeline reads: class folders and file lists, WebDataset shards, the decode check.

- :mod:`.folder`: the class map and file list of a folder or a ``path label`` list (no DALI);
- :mod:`.shards`, :mod:`.shard_writer`: checking and writing WebDataset tar shards (the writer
  decodes what it packs);
- :mod:`.load`: which of those a path is, loaded with its class map checked;
- :mod:`.check_lists`: the lists the check writes (clean files, classes, exclusions);
- :mod:`.decode_check`: decoding every file with DALI's decoder to find the damaged ones, and
  naming the file behind a DALI error mid-epoch; :mod:`.shard_failures` does the same for the
  samples of shards (tar and key);
- :mod:`.writing`: files written through a temporary name, one writer at a time (lock files);
- :mod:`.names`: file names of any bytes in lists and messages.

``PHOTO_DIR`` holds the shipped photos (a tiny dataset of class folders, for the demo).
"""

from __future__ import annotations

from pathlib import Path

from dali_saliencymix.data.check_lists import excluded_by_check
from dali_saliencymix.data.folder import (
    BadFile,
    DatasetError,
    ImageFolder,
    read_file_list,
    scan_image_folder,
)
from dali_saliencymix.data.load import load_dataset
from dali_saliencymix.data.shards import ShardError, ShardSet

PHOTO_DIR = Path(__file__).resolve().parent / "photos"

__all__ = [
    "PHOTO_DIR",
    "BadFile",
    "DatasetError",
    "ImageFolder",
    "ShardError",
    "ShardSet",
    "excluded_by_check",
    "load_dataset",
    "read_file_list",
    "scan_image_folder",
]
