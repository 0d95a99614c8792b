"""Interactive figures that need no kernel (可交互图): written once, used in the book and in notebooks.

For example::

    import course_attn as ca
    ca.views.attention_view(encoder, tokenizer, ["the cat sat on the mat."])  # head view + model view
    ca.views.softmax_view(queries, keys, values)       # a temperature slider redraws the weights
    ca.views.position_view([rope, alibi])             # similarity or bias between positions

Each function computes its numbers with course_attn when the cell runs and returns a :class:`View`.
Displayed, a view is one HTML output: the numbers as JSON and a small script (``views.js``) that draws
them and answers the controls (sliders, menus, buttons, focusable tokens) in the browser. No kernel,
no network, no CDN: the same output is interactive in the HTML book, Jupyter, VS Code and Colab.
On a page in Chinese (``<html lang="zh…">``, the book's Chinese edition) a view's own words are Chinese.
Use ipywidgets only for what needs Python at every step, such as typing a new sentence
(:func:`course_attn.explore.attention_explorer`).
"""

from ._page import View
from .attention import attention_view
from .positions import position_matrices, position_view, scheme_name
from .softmax import softmax_view

__all__ = ["View", "attention_view", "softmax_view", "position_view", "position_matrices", "scheme_name"]
