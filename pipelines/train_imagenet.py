#!/usr/bin/env python3
"""ImageNet training with DALI and SaliencyMix, ready for torchrun (DDP, one pipeline per rank).

    torchrun --nproc_per_node=8 pipelines/train_imagenet.py /data/imagenet/train \\
        --val-dir /data/imagenet/val --epochs 90 --batch-size 256 --lr 0.1 --amp

    python pipelines/train_imagenet.py DATA_DIR --epochs 2 --batch-size 8 --arch tiny --cpu

The mixing flags are timm's (``--mixup 0.8 --cutmix 1.0 --cutmix-box random --smoothing 0.1``
is the DeiT recipe), with the package's one set of defaults (``MixConfig``): SaliencyMix, one
draw per batch; ``--cutmix 0`` (with ``--mixup 0``) trains without mixing.

Each rank reads its own shard (shard_id = rank) with its own seed (seed + rank); the last
batch of each shard is kept partial (DALI's PARTIAL policy), so over one epoch the ranks
together read every file exactly once. Checkpoints (``--save``) hold the model, optimiser,
schedule, options, the class names and every rank's DALI pipeline checkpoint; ``--resume``
continues from them. The class map is the training folder's; the validation folder is read with
it. Damaged files: run ``dali-saliencymix check DATA_DIR`` first and train with ``--skip-bad``.

The trainer lives in ``dali_saliencymix.app.train`` (arguments, models, the loop, checkpoints).
"""

from dali_saliencymix.app.train import main

if __name__ == "__main__":
    main()
