"""What every view shares: the :class:`View` object, its HTML, and how matrices travel as JSON."""

from __future__ import annotations

import functools
import html
import json
from importlib import resources

import torch
from torch import Tensor

from .._validate import integer

FALLBACK = ("This interactive view needs JavaScript: run the cell in Jupyter, Colab or VS Code "
            "(a trusted notebook), or read it in the course's HTML book.")


class View:
    """A kernel-free interactive figure: ``data`` (computed by course_attn) drawn by the browser.

    Shown as a notebook cell's value, it becomes one HTML output that holds ``data`` as JSON and a
    small script (``views.js``, shipped with the package) that draws it and answers the controls.
    Nothing runs in Python after that: no kernel, no network. So the same output is interactive in
    the HTML book, in Jupyter, VS Code and Colab. ``kind`` names the drawing (``"attention"``,
    ``"softmax"`` or ``"positions"``); :meth:`html` is the output's HTML.
    """

    def __init__(self, kind: str, data: dict) -> None:
        self.kind, self.data = kind, data

    def html(self) -> str:
        """The self-contained HTML fragment: style, data, fallback text and script."""
        script, style = _assets()
        payload = json.dumps(self.data, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
        payload = payload.replace("<", "\\u003c")  # "<" only occurs in strings: none can close the <script>
        return (f'<div class="ca-view tex2jax_ignore mathjax_ignore" data-kind="{html.escape(self.kind)}">'
                f"<style>{style}</style>"
                f'<script type="application/json" class="ca-view-data">{payload}</script>'
                f'<p class="ca-view-fallback">{FALLBACK}</p>'
                f"<script>{script}\nwindow.courseAttnViews.mount(document.currentScript.parentElement);</script>"
                "</div>")

    def _repr_html_(self) -> str:
        return self.html()

    def __repr__(self) -> str:
        return f"<course_attn view {self.kind!r}: {self.data.get('title', '')}>"


@functools.cache
def _assets() -> tuple[str, str]:
    """views.js and views.css with leading spaces and blank lines dropped (no multi-line strings in them)."""
    folder = resources.files(__package__)
    squeeze = lambda text: "\n".join(line.strip() for line in text.splitlines() if line.strip())  # noqa: E731
    return squeeze((folder / "views.js").read_text("utf-8")), squeeze((folder / "views.css").read_text("utf-8"))


# Numbers travel as integers round(value * 10**decimals), zigzag-mapped to >= 0 (n -> 2n, -n -> 2n - 1) and
# written in base 32, most significant digit first: a digit of _MORE means "more digits follow", one of
# _LAST ends the number. Attention weights to 3 decimals are mostly below 0.032: one character each.
_LAST = "0123456789ABCDEFGHIJKLMNOPQRSTUV"
_MORE = "WXYZabcdefghijklmnopqrstuvwxyz+/"
_DIGIT = {c: (i, False) for i, c in enumerate(_LAST)} | {c: (i, True) for i, c in enumerate(_MORE)}


def encode(values: Tensor, decimals: int) -> dict:
    """A float tensor as ``{"shape", "scale", "data"}``: ``round(value * scale)``, ``scale = 10**decimals``,
    as a string of base-32 digits (see :func:`decode`)."""
    scale = 10 ** decimals
    values = values.detach().double().cpu()
    if not torch.isfinite(values).all():
        raise ValueError("a view can only show finite numbers, got NaN or inf")
    words = []
    for n in torch.round(values * scale).long().flatten().tolist():
        z, digits = (2 * n if n >= 0 else -2 * n - 1), []
        while True:
            digits.append(z & 31)
            z >>= 5
            if not z:
                break
        words.append("".join(_MORE[d] for d in reversed(digits[1:])) + _LAST[digits[0]])
    return {"shape": list(values.shape), "scale": scale, "data": "".join(words)}


def decode(matrix: dict) -> Tensor:
    """The float64 tensor that :func:`encode` wrote (rounded to its ``decimals``)."""
    numbers, z = [], 0
    for c in matrix["data"]:
        digit, more = _DIGIT[c]
        z = 32 * z + digit
        if not more:
            numbers.append(z // 2 if z % 2 == 0 else -(z + 1) // 2)
            z = 0
    return torch.tensor(numbers, dtype=torch.float64).view(matrix["shape"]) / matrix["scale"]


def check_decimals(decimals) -> int:
    decimals = integer("decimals", decimals)
    if not 0 <= decimals <= 6:
        raise ValueError(f"decimals must be between 0 and 6, got {decimals}")
    return decimals


def check_labels(name: str, labels, n: int, default) -> list[str]:
    """``labels``: ``n`` strings, or ``None`` for ``default(i)``."""
    if labels is None:
        return [default(i) for i in range(n)]
    if isinstance(labels, str) or not all(isinstance(x, str) for x in labels):
        raise TypeError(f"{name} must be a list of strings, got {labels!r}")
    labels = list(labels)
    if len(labels) != n:
        raise ValueError(f"{name} has {len(labels)} labels but there are {n}")
    return labels


def check_title(title) -> str | None:
    if title is not None and not isinstance(title, str):
        raise TypeError(f"title must be a str or None, got {type(title).__name__}")
    return title
