"""Which dataset a pipeline reads: a class folder, a file list, or WebDataset shards."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from dali_saliencymix.data.folder import (
    DatasetError,
    ImageFolder,
    check_num_classes,
    read_file_list,
    scan_image_folder,
)
from dali_saliencymix.data.shards import ShardError, ShardSet, is_shard_source, load_shard_set


def load_dataset(
    data_dir: str | Path | ImageFolder | ShardSet | None = None,
    file_list: str | Path | None = None,
    *,
    num_classes: int | None = None,
    classes: Sequence[str] | None = None,
    exclude: Iterable[str | Path] = (),
) -> ImageFolder | ShardSet:
    """A dataset to read: a class folder, a file list, WebDataset shards, or one already loaded.

    File-list paths are relative to `data_dir`; shards are a folder of ``*.tar`` (as
    ``dali-saliencymix shards`` writes them) or a tar file. `num_classes` must cover the
    classes found; `classes` is the training class map (for validation data). `exclude` (files
    a check listed) applies to folders and lists.
    """
    if isinstance(data_dir, ImageFolder):
        check_num_classes(data_dir, num_classes, "classes")
        return data_dir
    if isinstance(data_dir, ShardSet) or (
        file_list is None and data_dir is not None and is_shard_source(data_dir)
    ):
        if exclude:
            raise DatasetError(
                f"{data_dir}: shards are read whole; leave damaged files out when writing them "
                "(dali-saliencymix check, then shards from the checked folder)"
            )
        try:
            return load_shard_set(data_dir, num_classes=num_classes, classes=classes)
        except ShardError as err:
            raise DatasetError(str(err)) from None
    if file_list is not None:
        return read_file_list(
            file_list, data_dir, num_classes=num_classes, classes=classes, exclude=exclude
        )
    if data_dir is None:
        raise ValueError(
            "give data_dir (a folder of class sub-folders, or of WebDataset shards) or "
            "file_list (lines of 'path label', paths relative to data_dir when given)"
        )
    return scan_image_folder(data_dir, num_classes, classes=classes, exclude=exclude)
