"""Synthetic audio-like spectrograms: a short sound event hidden at a random time (the
applications chapter "beyond text").

Each example is a time × frequency grid, ``(num_frames, num_bins)``, read as a log-magnitude
spectrogram measured from its noise floor: 0 means "nothing but background". The class is the
kind of one short **event** at a random time; everything else is noise or a distractor that
every class shares. A model has to find the event and read the *order* of what happens in it.
"""

from __future__ import annotations

import torch
from torch import Tensor

from .sequences import _as_generator, _check_int

__all__ = ["EVENT_CLASSES", "event_spectrograms"]

EVENT_CLASSES = ("rising chirp", "falling chirp", "click then tone", "tone then click")
"""Class names, indexed by label."""


def _check_range(name: str, value, low_min: float) -> tuple[float, float]:
    if (not isinstance(value, tuple) or len(value) != 2
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)):
        raise TypeError(f"{name} must be a (low, high) tuple of numbers, got {value!r}")
    low, high = float(value[0]), float(value[1])
    if not low_min <= low <= high:
        raise ValueError(f"{name} must satisfy {low_min} <= low <= high, got {value!r}")
    return low, high


def event_spectrograms(
    num_examples: int,
    *,
    num_frames: int = 40,
    num_bins: int = 16,
    min_len: int = 4,
    max_len: int = 8,
    amplitude: tuple[float, float] = (0.6, 1.4),
    noise_std: float = 0.5,
    distractors: bool = True,
    label_noise: float = 0.05,
    generator: torch.Generator | int = 0,
) -> dict[str, Tensor]:
    """Spectrograms of one short sound event in noise; the label is the kind of event.

    Every example draws its class uniformly from :data:`EVENT_CLASSES`, an event length ``n``
    uniformly from ``min_len … max_len`` frames, an onset uniformly from ``0 … num_frames - n``
    and an amplitude ``a`` uniformly from ``amplitude``. The event adds ``a`` to these cells of
    an all-zero grid (frames ``t0 … t0 + n - 1``):

    * 0 *rising chirp*: frame ``t0 + i`` at bin ``b + i`` (one bin higher per frame);
    * 1 *falling chirp*: frame ``t0 + i`` at bin ``b + n - 1 - i``;
    * 2 *click then tone*: every bin of frame ``t0`` (a broadband click), then bin ``f`` of the
      other ``n - 1`` frames (a steady tone);
    * 3 *tone then click*: the tone in frames ``t0 … t0 + n - 2``, the click in the last frame;

    with ``b`` uniform in ``0 … num_bins - n`` and ``f`` uniform over all bins. With
    ``distractors`` two sounds that carry no label information are added: a *hum* (a tone at a
    uniform random bin in every frame, amplitude uniform in ``(0.3, 0.6)``) and a *distractor
    tone* (``min_len - 1 … max_len - 1`` frames at a random bin, amplitude drawn like the
    event's) placed uniformly where it leaves at least one empty frame on either side of the
    event (if there is room). Then Gaussian noise of standard deviation ``noise_std`` is added to every cell. Faint
    events (small ``a``) are genuinely ambiguous. Finally a share ``label_noise`` of the labels
    is replaced by one of the other three classes, uniformly (``clean_labels`` keeps the truth).

    **Order matters, and nothing else tells the pairs apart.** Reversing time maps class 0 onto
    class 1 and class 2 onto class 3, and maps the distribution of every other ingredient (onset,
    hum, distractor, noise) onto itself. So any classifier that ignores frame order, such as one
    that sees only the spectrum averaged over time, cannot tell 0 from 1 or 2 from 3: its
    accuracy on the clean labels is at most 1/2 (chance is 1/4).

    Returns ``{"spectrogram": (N, T, F) float32, "labels": (N,) long, "clean_labels": (N,) long,
    "onset": (N,) long, "length": (N,) long}`` with ``N = num_examples``, ``T = num_frames``,
    ``F = num_bins``. An int ``generator`` seeds a fresh ``torch.Generator``; a
    ``torch.Generator`` is used (and advanced) as is, so two calls with the same one give two
    different, independent splits.
    """
    _check_int("num_examples", num_examples, 1)
    _check_int("min_len", min_len, 2)
    _check_int("max_len", max_len, min_len)
    _check_int("num_bins", num_bins, max_len)
    _check_int("num_frames", num_frames, 2 * max_len + 1)
    low, high = _check_range("amplitude", amplitude, 0.0)
    for name, value in (("noise_std", noise_std), ("label_noise", label_noise)):
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    if noise_std < 0:
        raise ValueError(f"noise_std must be >= 0, got {noise_std}")
    if not 0 <= label_noise <= 1:
        raise ValueError(f"label_noise must lie in [0, 1], got {label_noise}")
    if not isinstance(distractors, bool):
        raise TypeError(f"distractors must be a bool, got {type(distractors).__name__}")
    g = _as_generator(generator)
    N, T, F = num_examples, num_frames, num_bins

    def uniform_int(upper: Tensor) -> Tensor:
        """One draw from ``0 … upper - 1`` per entry of ``upper (N,)``."""
        return (torch.rand(upper.shape, generator=g) * upper).long().clamp(max=upper - 1)

    clean_labels = torch.randint(0, len(EVENT_CLASSES), (N,), generator=g)  # (N,)
    length = torch.randint(min_len, max_len + 1, (N,), generator=g)  # (N,)
    onset = uniform_int(T - length + 1)  # (N,)
    amp = low + (high - low) * torch.rand(N, generator=g)  # (N,)
    chirp_bin = uniform_int(F - length + 1)  # (N,)
    tone_bin = torch.randint(0, F, (N,), generator=g)  # (N,)
    hum_bin = torch.randint(0, F, (N,), generator=g)  # (N,)
    hum_amp = 0.3 + 0.3 * torch.rand(N, generator=g)  # (N,)
    d_len = torch.randint(min_len - 1, max_len, (N,), generator=g)  # (N,)
    d_bin = torch.randint(0, F, (N,), generator=g)  # (N,)
    d_amp = low + (high - low) * torch.rand(N, generator=g)  # (N,)
    d_pick = torch.rand(N, generator=g)  # (N,) which of the allowed places
    noise = noise_std * torch.randn(N, T, F, generator=g)  # (N, T, F)
    flip = torch.rand(N, generator=g) < label_noise  # (N,)
    shift = torch.randint(1, len(EVENT_CLASSES), (N,), generator=g)  # (N,)

    t = torch.arange(T)[None, :] - onset[:, None]  # (N, T) frame index inside the event
    bins = torch.arange(F)  # (F,)
    inside = (t >= 0) & (t < length[:, None])  # (N, T)
    c = clean_labels[:, None]  # (N, 1)
    # chirps: one bin per frame, moving up (class 0) or down (class 1)
    chirp = torch.where(c == 0, chirp_bin[:, None] + t, chirp_bin[:, None] + length[:, None] - 1 - t)
    event = inside[..., None] & (c < 2)[..., None] & (bins == chirp[..., None])  # (N, T, F)
    # a click (all bins of one frame) at the start (class 2) or the end (class 3), the tone elsewhere
    click = inside & (c >= 2) & (t == torch.where(c == 2, 0, length[:, None] - 1))  # (N, T)
    tone = inside & (c >= 2) & ~click  # (N, T)
    event = event | click[..., None] | (tone[..., None] & (bins == tone_bin[:, None, None]))
    x = amp[:, None, None] * event.float()  # (N, T, F)
    if distractors:
        x = x + hum_amp[:, None, None] * (bins == hum_bin[:, None, None]).float()
        # the allowed starts s, in order: 0 … t0 - m - 1, then t0 + n + 1 … T - m
        before = (onset - d_len).clamp(min=0)  # (N,)
        after = (T - d_len - onset - length).clamp(min=0)  # (N,)
        k = (d_pick * (before + after)).long().clamp(max=(before + after - 1).clamp(min=0))  # (N,)
        start = torch.where(k < before, k, onset + length + 1 + k - before)  # (N,)
        s = torch.arange(T)[None, :] - start[:, None]  # (N, T)
        placed = (s >= 0) & (s < d_len[:, None]) & (before + after > 0)[:, None]  # (N, T)
        x = x + d_amp[:, None, None] * (placed[..., None] & (bins == d_bin[:, None, None])).float()
    labels = torch.where(flip, (clean_labels + shift) % len(EVENT_CLASSES), clean_labels)
    return {
        "spectrogram": x + noise,  # (N, T, F)
        "labels": labels,
        "clean_labels": clean_labels,
        "onset": onset,
        "length": length,
    }
