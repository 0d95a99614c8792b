"""Synthetic audio-like spectrograms: one short sound event hidden at a random time in noise
(the applications chapter "beyond text").

Each example is a time × frequency grid ``(num_frames, num_bins)``, to be read as a log-magnitude
spectrogram measured from its noise floor: 0 means "nothing but background". The label is the
kind of one short **event** at a random time; everything else is noise, or a distractor that every
class shares. A model has to find the few frames that matter.
"""

from __future__ import annotations

import torch
from torch import Tensor

from .._validate import flag, integer, number
from ._common import as_generator


__all__ = ["BURST_WIDTH", "EVENT_CLASSES", "event_spectrograms"]

EVENT_CLASSES = ("tone", "chirp", "click", "noise burst")
"""Class names, indexed by label."""

BURST_WIDTH = 5
"""How many adjacent frequency bins a noise burst covers."""




def event_spectrograms(
    num_examples: int,
    *,
    num_frames: int = 32,
    num_bins: int = 16,
    min_len: int = 4,
    max_len: int = 8,
    amplitude: tuple[float, float] = (0.6, 1.4),
    noise_std: float = 0.35,
    distractors: bool = True,
    label_noise: float = 0.05,
    generator: torch.Generator | int = 0,
) -> dict[str, Tensor]:
    """Spectrograms of one short sound event in noise; the label is the kind of event.

    Every example draws its class uniformly from :data:`EVENT_CLASSES`, a duration ``n``
    uniformly from ``min_len … max_len`` frames, an onset ``t0`` uniformly from
    ``0 … num_frames - n`` and an amplitude ``a`` uniformly from ``amplitude``. Starting from an
    all-zero grid, the event adds energy to frames ``t0 … t0 + n - 1``:

    * 0 *tone*: ``a`` at one bin ``f`` (uniform over all bins) in every frame;
    * 1 *chirp*: a fast sweep, two bins per frame: ``a`` at bins ``b + 2i`` and ``b + 2i + 1`` in
      frame ``t0 + i`` (rising) or at ``b + 2(n - 1 - i)`` and the bin above it (falling),
      direction 50/50, ``b`` uniform in ``0 … num_bins - 2n``;
    * 2 *click*: ``a`` at every bin of the single frame ``t0`` (a click lasts one frame: its
      ``length`` is 1);
    * 3 *noise burst*: ``a · u`` with ``u`` uniform in ``(0.5, 1.5)``, drawn afresh for every cell
      of the :data:`BURST_WIDTH` adjacent bins from a uniform random ``w`` up, in every frame.

    So a single frame of the event tells its class: 1, 2, :data:`BURST_WIDTH` or all active
    bins (through the noise). With ``distractors`` two stationary sounds that carry no label
    information are added to every frame: a *hum* (amplitude uniform in ``(0.3, 0.6)`` at a
    uniform random bin) and a broadband *floor* (uniform in ``(0, 0.3)``, the same at every bin).
    Then Gaussian noise of standard deviation ``noise_std`` is added to every cell. Faint events
    (small ``a``) are genuinely ambiguous. Last, a share ``label_noise`` of the labels is replaced
    by one of the other three classes, uniformly; ``clean_labels`` keeps the truth.

    **Averaging over time hides the event.** The event fills at most ``max_len`` of
    ``num_frames`` frames, so in the spectrum averaged over time its energy shrinks by
    ``n / num_frames`` and sits among the hum, the floor and the noise: a chirp or a click adds
    only ``a / num_frames`` per bin. A model that can look at the frames one by one, and weight
    the loud ones, sees it at full strength.

    Returns ``{"spectrogram": (N, T, F) float32, "labels": (N,) long, "clean_labels": (N,) long,
    "onset": (N,) long, "length": (N,) long}`` with ``N = num_examples``, ``T = num_frames``,
    ``F = num_bins``; the event covers frames ``onset … onset + length - 1``. An int
    ``generator`` seeds a fresh ``torch.Generator``; a ``torch.Generator`` is used (and advanced)
    as is, so two calls with the same one give two different, independent splits.
    """
    num_examples = integer("num_examples", num_examples, minimum=1)
    min_len = integer("min_len", min_len, minimum=2)
    max_len = integer("max_len", max_len, minimum=min_len)
    num_bins = integer("num_bins", num_bins, minimum=max(2 * max_len, BURST_WIDTH))
    num_frames = integer("num_frames", num_frames, minimum=max_len)
    if not isinstance(amplitude, tuple) or len(amplitude) != 2:
        raise TypeError(f"amplitude must be a (low, high) tuple of numbers, got {amplitude!r}")
    low = number("amplitude[0]", amplitude[0], low=0, low_open=True)
    high = number("amplitude[1]", amplitude[1], low=low)
    noise_std = number("noise_std", noise_std, low=0)
    label_noise = number("label_noise", label_noise, low=0, high=1)
    distractors = flag("distractors", distractors)
    g = as_generator(generator)
    N, T, F, C = num_examples, num_frames, num_bins, len(EVENT_CLASSES)

    def uniform_int(upper: Tensor) -> Tensor:
        """One draw from ``0 … upper - 1`` for every entry of ``upper (N,)``."""
        return (torch.rand(upper.shape, generator=g) * upper).long().clamp(max=upper - 1)

    clean_labels = torch.randint(0, C, (N,), generator=g)  # (N,)
    length = torch.randint(min_len, max_len + 1, (N,), generator=g)  # (N,)
    onset = uniform_int(T - length + 1)  # (N,)
    amp = low + (high - low) * torch.rand(N, generator=g)  # (N,)
    tone_bin = torch.randint(0, F, (N,), generator=g)  # (N,)
    chirp_bin = uniform_int(F - 2 * length + 1)  # (N,)
    rising = torch.rand(N, generator=g) < 0.5  # (N,)
    burst_bin = torch.randint(0, F - BURST_WIDTH + 1, (N,), generator=g)  # (N,)
    burst = 0.5 + torch.rand(N, T, F, generator=g)  # (N, T, F)
    hum_bin = torch.randint(0, F, (N,), generator=g)  # (N,)
    hum_amp = 0.3 + 0.3 * torch.rand(N, generator=g)  # (N,)
    floor = 0.3 * torch.rand(N, generator=g)  # (N,)
    noise = noise_std * torch.randn(N, T, F, generator=g)  # (N, T, F)
    flip = torch.rand(N, generator=g) < label_noise  # (N,)
    shift = torch.randint(1, C, (N,), generator=g)  # (N,)

    c = clean_labels[:, None, None]  # (N, 1, 1)
    length = torch.where(clean_labels == 2, 1, length)  # a click lasts one frame
    t = (torch.arange(T)[None, :] - onset[:, None])[..., None]  # (N, T, 1) frame index in the event
    f = torch.arange(F)[None, None, :]  # (1, 1, F)
    inside = (t >= 0) & (t < length[:, None, None])  # (N, T, 1)
    n = length[:, None, None]  # (N, 1, 1)
    step = torch.where(rising[:, None, None], t, n - 1 - t)  # (N, T, 1) steps up from the lowest
    chirp = chirp_bin[:, None, None] + 2 * step  # (N, T, 1) the lower of the chirp's two bins
    band = (f >= burst_bin[:, None, None]) & (f < burst_bin[:, None, None] + BURST_WIDTH)  # (N, 1, F)
    energy = torch.where(c == 0, (f == tone_bin[:, None, None]).float(),
             torch.where(c == 1, ((f == chirp) | (f == chirp + 1)).float(),
             torch.where(c == 2, torch.ones(1), band * burst)))  # (N, T, F) per unit amplitude
    x = amp[:, None, None] * inside * energy  # (N, T, F)
    if distractors:
        hum = hum_amp[:, None, None] * (f == hum_bin[:, None, None])  # (N, 1, F)
        x = x + hum + floor[:, None, None]
    labels = torch.where(flip, (clean_labels + shift) % C, clean_labels)
    return {
        "spectrogram": x + noise,  # (N, T, F)
        "labels": labels,
        "clean_labels": clean_labels,
        "onset": onset,
        "length": length,
    }
