"""Figures the chapters share: attention heatmaps with token labels, and Chinese text in figures."""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from ._validate import flag

__all__ = ["plot_attention", "use_cjk_fonts"]

# Fonts with Chinese glyphs, best first: Noto/Source Han (most Linux desktops, Colab after
# `apt install fonts-noto-cjk`), WenQuanYi (Debian's small fonts-wqy-zenhei, which CI installs),
# then those of Windows and macOS.
CJK_FONTS = ("Noto Sans CJK SC", "Source Han Sans SC", "Noto Sans SC", "WenQuanYi Zen Hei",
             "WenQuanYi Micro Hei", "Microsoft YaHei", "SimHei", "PingFang SC", "Heiti SC",
             "Arial Unicode MS")
_CJK_FILES = ("notosanscjk", "sourcehansans", "notosanssc", "wqy-", "msyh", "simhei", "pingfang")


def use_cjk_fonts() -> tuple[str, ...]:
    """Let matplotlib draw Chinese labels: add the installed CJK fonts to ``font.family`` as
    fallbacks, so Latin text keeps its font and Chinese characters come from the first CJK font that
    has them instead of showing as empty boxes. Returns the fonts added; ``()`` when none is
    installed (install one, e.g. Debian's ``fonts-wqy-zenhei``). The plots of this package call it."""
    import matplotlib as mpl

    found = _installed_cjk_fonts()
    families = list(mpl.rcParams["font.family"])
    if any(name not in families for name in found):
        mpl.rcParams["font.family"] = families + [name for name in found if name not in families]
    return found


@functools.cache
def _installed_cjk_fonts() -> tuple[str, ...]:
    from matplotlib import font_manager

    def installed():
        return {font.name for font in font_manager.fontManager.ttflist}

    if not installed() & set(CJK_FONTS):  # matplotlib's font cache may predate the font
        for path in font_manager.findSystemFonts():
            if any(part in Path(path).name.lower() for part in _CJK_FILES):
                try:
                    font_manager.fontManager.addfont(path)
                except (OSError, RuntimeError, ValueError):
                    continue
    found = tuple(name for name in CJK_FONTS if name in installed())
    # WenQuanYi has one weight, medium: matplotlib would log that it uses it for "normal" text
    logging.getLogger("matplotlib.font_manager").addFilter(
        lambda record: not ("Failed to find font weight" in record.getMessage()
                            and any(name in record.getMessage() for name in found)))
    return found


def plot_attention(
    weights,
    queries: Sequence[str] | None = None,
    keys: Sequence[str] | None = None,
    *,
    ax=None,
    title: str | None = None,
    annotate: bool | None = None,
    colorbar: bool = True,
):
    """Draw one ``(L, S)`` attention matrix: rows are queries, columns are keys.

    ``weights`` may be a tensor or array; a leading dim of size 1 is dropped.
    ``queries`` / ``keys`` label the rows and columns. Cells are annotated with
    their values when the matrix is small (``annotate=None`` decides). Returns
    the matplotlib ``Axes``.
    """
    import matplotlib.pyplot as plt

    use_cjk_fonts()  # token labels may be Chinese
    if isinstance(weights, torch.Tensor):
        weights = weights.detach().float().cpu().numpy()
    try:
        weights = np.asarray(weights, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"weights must be a tensor or an array of numbers, got {type(weights).__name__}") from None
    while weights.ndim > 2 and weights.shape[0] == 1:
        weights = weights[0]
    if weights.ndim != 2 or weights.size == 0:
        raise ValueError(f"plot_attention needs one non-empty (L, S) matrix, got shape {tuple(weights.shape)}")
    if not np.isfinite(weights).all():
        raise ValueError("weights must be finite attention weights, got NaN or inf")
    if annotate is not None:
        flag("annotate", annotate)
    flag("colorbar", colorbar)
    L, S = weights.shape
    for name, labels, n in (("queries", queries, L), ("keys", keys, S)):
        if isinstance(labels, str):
            raise TypeError(f"{name} must be a list of labels, got a single str")
        if labels is not None and len(labels) != n:
            raise ValueError(f"{name} has {len(labels)} labels but the matrix has {n} {'rows' if name == 'queries' else 'columns'}")
    if ax is None:
        _, ax = plt.subplots(figsize=(0.5 * S + 2.5, 0.5 * L + 1.5))
    image = ax.imshow(weights, cmap="viridis", vmin=0.0, vmax=max(float(weights.max()), 1e-12), aspect="auto")
    ax.set_xlabel("key (attended to)")
    ax.set_ylabel("query (attending)")
    ax.set_xticks(range(S), labels=keys if keys is not None else range(S), rotation=90 if keys is not None else 0)
    ax.set_yticks(range(L), labels=queries if queries is not None else range(L))
    if annotate if annotate is not None else L * S <= 100:
        for i in range(L):
            for j in range(S):
                value = weights[i, j]
                ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=8,
                        color="black" if value > 0.6 * weights.max() else "white")
    if title:
        ax.set_title(title)
    if colorbar:
        ax.figure.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="attention weight")
    return ax
