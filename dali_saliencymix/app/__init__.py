"""The applications built on the library: the ``dali-saliencymix`` command and the trainer.

- :mod:`.cli`: the command (demo, preview, bench, check, shards); turns the library's typed
  errors into one-line messages and exit codes;
- :mod:`.flags`: the mixing flags, built from ``MixConfig``'s table;
- :mod:`.preview`, :mod:`.pictures`, :mod:`.bench`, :mod:`.check`, :mod:`.shards`,
  :mod:`.progress`: what the commands show;
- :mod:`.train`: the torchrun trainer behind ``pipelines/train_imagenet.py``.
"""
