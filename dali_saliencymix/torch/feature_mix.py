"""SaliencyMix on feature maps, inside the model: :class:`FeatureSaliencyMix`.

In training mode each call draws one of the chosen layers; a forward hook on that layer pastes,
into each sample's feature maps, a box of its partner's maps centred on the peak of the
partner's own activations (``feature_boxes``), and the call returns the logits with the soft
targets mixed by the box's area. Everything after the draws runs on the model's device. The
options are the mixing family's (``MixConfig``), CutMix only. No DALI is needed.
docs/feature_mix.md gives the rule, the draws and what is known about it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from dali_saliencymix.numpy import MixDraws, draw, label_arrays
from dali_saliencymix.options import MixConfig, OptionError, resolve_options
from dali_saliencymix.torch.feature_boxes import (
    SALIENCY_KINDS,
    BoxRule,
    FeatureMixError,
    mix_feature_map,
)
from dali_saliencymix.torch.feature_draws import (
    APPLY,
    SOURCE,
    WHO,
    checked_draws,
    make_generator,
    pack_draws,
)
from dali_saliencymix.torch.tensor_mix import _soft_labels_on


@dataclass
class FeatureMixInfo:
    """What one call mixed (tensors on the device of the images).

    Attributes:
        layer: the layer whose output was mixed (None: nothing was, eval mode or disabled).
        boxes: int32 (N, 4) ``y1, x1, y2, x2`` in that layer's feature-map coordinates (zeros
            where nothing was pasted).
        lam: float32 (N,): the target weight of each sample (corrected by the box area).
        source: int32 (N,): the index of each sample's source (its partner).
        mixed: bool (N,): the sample's coin flip (its box may still be empty on a small map).

    """

    layer: str | None
    boxes: torch.Tensor
    lam: torch.Tensor
    source: torch.Tensor
    mixed: torch.Tensor


def feature_mix_options(options: MixConfig | None, fields: Mapping[str, Any]) -> MixConfig:
    """The family's options for feature mixing: CutMix only, boxes where they were cut.

    Raises:
        TypeError, OptionError: an unknown option, or one feature mixing does not offer
            (MixUp, ``placement="target_background"``, ``label_weights="saliency"``).

    """
    options = resolve_options(options, fields, WHO)
    if options.mixup_alpha > 0:
        raise OptionError(
            "mixes feature maps by CutMix only (a box of the source's maps), so {mixup_alpha} "
            f"must be 0, got {options.mixup_alpha}",
            WHO,
        )
    for name, value in (("placement", "source_peak"), ("label_weights", "area")):
        if getattr(options, name) != value:
            raise OptionError(
                f"offers only {{{name}}} {value!r} on feature maps, got {getattr(options, name)!r}",
                WHO,
            )
    return options


def find_layer(model: nn.Module, name: str) -> nn.Module:
    """The submodule `name` of the model, looked up through wrappers.

    DDP (``.module``) and ``torch.compile`` (``._orig_mod``) are looked into; a ValueError lists
    the model's children.
    """
    current = model
    while True:
        try:
            return current.get_submodule(name)
        except AttributeError:
            wrapped = getattr(current, "module", None) or getattr(current, "_orig_mod", None)
            if not isinstance(wrapped, nn.Module):
                break
            current = wrapped
    children = ", ".join(n for n, _ in current.named_children()) or "none"
    raise ValueError(
        f"{WHO}: the model has no layer {name!r} (its children: {children}; nested layers are "
        "named with dots, e.g. layer2.0)"
    )


def _layer_list(layers: str | Sequence[str]) -> tuple[str, ...]:
    names = (layers,) if isinstance(layers, str) else tuple(layers)
    if not names or not all(isinstance(n, str) and n for n in names):
        raise ValueError(f"{WHO}: layers: expected one or more layer names, got {layers!r}")
    if len(set(names)) != len(names):
        raise ValueError(f"{WHO}: layers: each layer once, got {list(names)}")
    return names


class _Step:
    """The state one call shares with the forward hooks: which layer, the draws, the result."""

    def __init__(self) -> None:
        self.layer: str | None = None
        self.draws: torch.Tensor | None = None
        self.result: tuple[torch.Tensor, torch.Tensor] | None = None

    def clear(self) -> None:
        self.layer, self.draws, self.result = None, None, None


class FeatureSaliencyMix:
    """SaliencyMix on a model's feature maps: the box centred on the peak of its activations.

    ::

        mixer = FeatureSaliencyMix(model, layers=["layer1", "layer2", "layer3"],
                                   num_classes=1000, mode="elem")
        logits, targets = mixer(images, labels)
        loss = torch.nn.functional.cross_entropy(logits, targets)

    In training mode (``model.training``) each call draws one of `layers` uniformly and mixes
    its output through a forward hook: per mixed sample i with source s, the box (timm's CutMix
    box size for lam ~ Beta(cutmix_alpha, cutmix_alpha), or ``cutmix_minmax``) is centred on
    the first maximum of the saliency of ``F[s]`` and clipped, exactly as the image operator
    does; ``F[i]`` takes ``F[s]`` inside it; lam = 1 - box area / (H * W) (``correct_lam``);
    the targets are ``lam * y_i + (1 - lam) * y_s``, smoothed as timm. In eval mode (or with
    ``enabled`` False) it is the plain model and the targets are the (smoothed) one-hot labels.

    Args:
        model: the network (an ``nn.Module``; wrapped in DDP or ``torch.compile`` is fine: the
            layers are looked up inside).
        layers: the names of the submodules (``model.get_submodule``) whose output may be mixed.
        options: the mixing options (``MixConfig``), or give its fields as keywords: the
            family's ``num_classes``, ``cutmix_alpha``, ``cutmix_minmax``, ``prob``, ``mode``,
            ``pairing``, ``correct_lam``, ``label_smoothing``, ``box`` (``"random"``: the
            CutMix paper's feature-level CutMix, the box placed at random).
        saliency: the map of a source's feature maps: ``"mean_abs"`` (mean of |F| over
            channels), ``"l2"`` (L2 norm over channels) or ``"max"`` (maximum over channels).
        seed: an int or a CPU ``torch.Generator`` for the draws (None: a generator seeded from
            torch's global one). Its state is :meth:`state_dict`.
        **fields: ``MixConfig``'s fields, when ``options`` is not given.

    Draws, per training call, from the generator: the layer, ``torch.randint(len(layers))``;
    then a seed ``torch.randint(2**63 - 1)`` of numpy's generator for the family's draws,
    ``dali_saliencymix.numpy.draw(N, options)`` (partners, lam, coin flips, box draws).

    """

    def __init__(
        self,
        model: nn.Module,
        layers: str | Sequence[str],
        options: MixConfig | None = None,
        *,
        saliency: str = "mean_abs",
        seed: int | torch.Generator | None = None,
        **fields: Any,
    ) -> None:
        self._options = feature_mix_options(options, fields)
        if saliency not in SALIENCY_KINDS:
            raise ValueError(
                f"{WHO}: saliency must be one of {', '.join(SALIENCY_KINDS)}, got {saliency!r}"
            )
        self.model = model
        self.layers = _layer_list(layers)
        self.saliency = saliency
        self.generator = make_generator(seed)
        self._rule = BoxRule(
            mode=self._options.mode,
            random_box=self._options.box == "random",
            minmax=self._options.cutmix_minmax,
            correct_lam=self._options.correct_lam,
            saliency=saliency,
        )
        self._step = _Step()
        self._handles = [
            find_layer(model, name).register_forward_hook(self._hook(name)) for name in self.layers
        ]

    @property
    def options(self) -> MixConfig:
        """The mixing options (read-only; ``enabled`` can be switched)."""
        return self._options

    @property
    def rule(self) -> BoxRule:
        """The constants of the rule (mode, box kind, minmax, correct_lam, saliency)."""
        return self._rule

    @property
    def enabled(self) -> bool:
        """False: the plain model and one-hot targets, even in training mode."""
        return self._options.enabled

    @enabled.setter
    def enabled(self, value: bool) -> None:
        try:
            self._options = self._options.replace(enabled=bool(value))
        except OptionError as err:
            raise err.named(WHO) from None

    @property
    def training(self) -> bool:
        """The model's training mode: only then does the mixer mix."""
        return self.model.training

    def train(self, mode: bool = True) -> FeatureSaliencyMix:
        """Set the model's training mode; returns self."""
        self.model.train(mode)
        return self

    def eval(self) -> FeatureSaliencyMix:
        """The model in eval mode (the plain model, one-hot targets); returns self."""
        return self.train(False)

    def __call__(
        self,
        images: torch.Tensor,
        labels: torch.Tensor | np.ndarray,
        *,
        return_info: bool = False,
        draws: MixDraws | None = None,
        layer: str | None = None,
    ) -> tuple[Any, ...]:
        """``(logits, targets)``, or ``(logits, targets, info)`` with `return_info`.

        Args:
            images: the model's input batch (N, ...), on the model's device.
            labels: class ids (N,) or (N, 1), or soft labels (N, num_classes), any device.
            return_info: also return a :class:`FeatureMixInfo`.
            draws: explicit draws (``MixDraws``) instead of the generator's, to reproduce a
                step; ``source`` is used as given.
            layer: the layer to mix instead of a drawn one (one of ``layers``).

        Returns:
            The model's output, and float32 soft targets (N, num_classes) on the images'
            device.

        """
        n = images.shape[0]
        targets = self._smoothed(labels, n, images.device)
        if not (self.training and self.enabled and self._handles) or n == 0:
            logits = self._checked(self.model(images))
            if not return_info:
                return logits, targets
            return logits, targets, _unmixed_info(n, images.device)
        name = self._choose_layer(layer)
        arrays = checked_draws(draws if draws is not None else self._draw(n), n, self._options)
        packed = pack_draws(arrays, self._options.mode, images.device)
        logits, boxes, lam = self._mixed_forward(images, name, packed)
        logits = self._checked(logits)
        source = packed[:, SOURCE].long()
        weight = lam[:, None]
        targets = targets * weight + targets[source] * (1.0 - weight)
        if not return_info:
            return logits, targets
        info = FeatureMixInfo(name, boxes, lam, source.int(), packed[:, APPLY] != 0)
        return logits, targets, info

    def _checked(self, logits: Any) -> Any:
        """The model's output; a ValueError when its class count is not ``num_classes``.

        The targets are ``num_classes`` wide: a loss would report the mismatch only as a shape
        error.
        """
        if isinstance(logits, torch.Tensor) and logits.dim() == 2:
            if logits.shape[1] != self._options.num_classes:
                raise ValueError(
                    f"{WHO}: the model gives {logits.shape[1]} outputs per sample, but "
                    f"num_classes is {self._options.num_classes} (the targets' width): give "
                    f"num_classes={logits.shape[1]}, or the model a head of "
                    f"{self._options.num_classes} classes"
                )
        return logits

    def state_dict(self) -> dict[str, Any]:
        """The generator's state and the layers (for checkpoints)."""
        return {"generator": self.generator.get_state(), "layers": list(self.layers)}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore the generator from :meth:`state_dict` of a mixer of the same layers."""
        saved = list(state.get("layers", ()))
        if saved != list(self.layers):
            raise ValueError(
                f"{WHO}: load_state_dict: the state is of layers {saved}, this mixer mixes "
                f"{list(self.layers)}"
            )
        self.generator.set_state(state["generator"])

    def remove(self) -> None:
        """Remove the forward hooks: the model is left as it was."""
        for handle in self._handles:
            handle.remove()
        self._handles = []

    def __repr__(self) -> str:
        """The layers, the saliency kind and the options."""
        return f"{WHO}(layers={list(self.layers)}, saliency={self.saliency!r}, {self._options})"

    def _choose_layer(self, layer: str | None) -> str:
        if layer is None:
            return self.layers[int(torch.randint(len(self.layers), (), generator=self.generator))]
        if layer not in self.layers:
            raise ValueError(f"{WHO}: layer {layer!r} is not one of {list(self.layers)}")
        return layer

    def _draw(self, num_samples: int) -> MixDraws:
        seed = torch.randint(2**63 - 1, (), dtype=torch.int64, generator=self.generator)
        return draw(num_samples, self._options, seed=int(seed))

    def _mixed_forward(
        self, images: torch.Tensor, layer: str, packed: torch.Tensor
    ) -> tuple[Any, torch.Tensor, torch.Tensor]:
        step = self._step
        step.layer, step.draws, step.result = layer, packed, None
        try:
            logits = self.model(images)
            result = step.result
        finally:
            step.clear()
        if result is None:
            raise FeatureMixError(
                f"{WHO}: layer {layer!r} did not run in the model's forward, so nothing was "
                "mixed; choose layers the forward runs"
            )
        return logits, *result

    def _hook(self, layer: str) -> Any:
        step, rule = self._step, self._rule

        def hook(module: nn.Module, args: Any, output: Any) -> torch.Tensor | None:
            if step.layer != layer:
                return None
            if step.result is not None:
                raise FeatureMixError(
                    f"{WHO}: layer {layer!r} ran twice in one forward; mix a layer that runs once"
                )
            mixed, boxes, lam = mix_feature_map(output, step.draws, rule, layer)
            step.result = (boxes, lam)
            return mixed

        return hook

    def _smoothed(
        self, labels: torch.Tensor | np.ndarray, n: int, device: torch.device
    ) -> torch.Tensor:
        """Float32 (N, C) one-hot or soft labels on `device`, checked, smoothed as timm."""
        labels = torch.as_tensor(labels)
        if labels.is_floating_point():
            labels = labels.float()
        classes = self._options.num_classes
        if device.type == "cuda":
            soft = _soft_labels_on(labels, n, classes, device, WHO)
        else:
            ids, values = label_arrays(labels.cpu().numpy(), n, classes, f"{WHO}: labels")
            if ids is None:
                soft = torch.from_numpy(values)
            else:
                soft = nn.functional.one_hot(torch.from_numpy(ids).long(), classes).float()
            soft = soft.to(device)
        eps = np.float32(self._options.label_smoothing)
        # timm's smoothing in float32: v * (1 - eps) + eps / C (docs/algorithm.md, "Labels").
        return soft * float(np.float32(1.0) - eps) + float(eps / np.float32(classes))


def _unmixed_info(n: int, device: torch.device) -> FeatureMixInfo:
    return FeatureMixInfo(
        layer=None,
        boxes=torch.zeros((n, 4), dtype=torch.int32, device=device),
        lam=torch.ones(n, dtype=torch.float32, device=device),
        source=torch.arange(n, dtype=torch.int32, device=device),
        mixed=torch.zeros(n, dtype=torch.bool, device=device),
    )
