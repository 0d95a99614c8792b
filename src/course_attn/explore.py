"""Looking at every attention head of a model at once: a layers × heads grid and an interactive explorer.

For example::

    from course_attn import explore
    tokens, weights = explore.sentence_attention(encoder, tokenizer, "the cat sat on the mat")
    explore.plot_attention_grid(weights, tokens, highlight=[(0, 2)])   # (layers, heads, L, L)
    explore.attention_explorer(encoder, tokenizer, ["a sentence", "another one"])  # ipywidgets

``weights`` here is always one example's attention: a ``(num_layers, H, L, L)`` tensor whose row
``[layer, head, i]`` is the distribution of query token ``i`` over the keys.
:func:`stack_attentions` builds it from the per-layer tuple a model returns (``(B, H, L, L)`` per
layer, as ``course_attn`` and Hugging Face ``transformers`` both give it).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from ._attentions import per_layer
from ._validate import integer, number

__all__ = ["stack_attentions", "sentence_attention", "plot_attention_grid", "attention_explorer"]


def stack_attentions(attentions, example: int = 0) -> Tensor:
    """One example's attention of every layer as a ``(num_layers, H, L, L)`` float tensor on the CPU.

    ``attentions`` is a sequence with one tensor per layer, each ``(B, H, L, L)`` (then ``example``
    picks the batch element) or ``(H, L, L)``; or an already stacked ``(num_layers, H, L, L)`` tensor.
    """
    example = integer("example", example)
    picked = []
    for i, a in enumerate(per_layer(attentions, "(num_layers, H, L, L)")):
        if a.dim() == 4:
            if not -a.shape[0] <= example < a.shape[0]:
                raise ValueError(f"example must index the batch of {a.shape[0]}, got {example}")
            a = a[example]
        if a.dim() != 3 or a.shape[-1] != a.shape[-2]:
            raise ValueError(f"attentions[{i}] must be (B, H, L, L) or (H, L, L) self-attention, got {tuple(a.shape)}")
        picked.append(a.detach().float().cpu())
    shapes = {tuple(a.shape) for a in picked}
    if len(shapes) != 1:
        raise ValueError(f"all layers must have the same (H, L, L) shape, got {sorted(shapes)}")
    return torch.stack(picked)  # (num_layers, H, L, L)


@torch.no_grad()
def sentence_attention(encoder, tokenizer, sentence: str) -> tuple[list[str], Tensor]:
    """The tokens of ``sentence`` and a course_attn encoder's attention on it, ``(num_layers, H, L, L)``.

    ``encoder`` is a :class:`~course_attn.TransformerEncoder` (e.g. from
    :func:`course_attn.pretrained.load_minilm`) and ``tokenizer`` a Hugging Face tokenizer; the
    tokens include the special ones the tokenizer adds (``[CLS]``, ``[SEP]``).
    """
    if not isinstance(sentence, str):
        raise TypeError(f"sentence must be a str, got {type(sentence).__name__}")
    if not sentence.strip():
        raise ValueError(f"sentence must be a non-empty string, got {sentence!r}")
    device = next(encoder.parameters()).device
    batch = tokenizer([sentence], return_tensors="pt").to(device)
    out = encoder(batch["input_ids"], key_mask=batch["attention_mask"],
                  token_type_ids=batch.get("token_type_ids"), need_weights=True)
    tokens = tokenizer.convert_ids_to_tokens(batch["input_ids"][0].tolist())
    return tokens, stack_attentions(out.attentions)  # (num_layers, H, L, L)


def plot_attention_grid(
    attentions,
    tokens: Sequence[str] | None = None,
    *,
    example: int = 0,
    highlight: Sequence[tuple[int, int]] = (),
    size: float = 0.9,
    title: str | None = None,
):
    """Draw every head of every layer as a small heatmap: one row per layer, one column per head.

    ``attentions`` is anything :func:`stack_attentions` takes. If ``tokens`` is shorter than the
    sequence, only its first ``len(tokens)`` queries and keys are drawn (this drops trailing
    padding). The heatmaps are too small for token labels: draw the heads you want to read with
    :func:`course_attn.plot_attention`. ``highlight`` lists ``(layer, head)`` pairs framed in red.
    Each heatmap has its own colour scale from 0 to its largest weight, and rows are queries,
    columns keys, as in :func:`course_attn.plot_attention`. Returns the figure.
    """
    import matplotlib.pyplot as plt

    from .plotting import use_cjk_fonts

    use_cjk_fonts()  # the title may be Chinese
    weights = stack_attentions(attentions, example)  # (N, H, L, L)
    N, H, L, _ = weights.shape
    size = number("size", size, low=0, low_open=True)
    if tokens is not None:
        if isinstance(tokens, str):
            raise TypeError("tokens must be a list of strings, got a single str")
        if len(tokens) > L:
            raise ValueError(f"tokens has {len(tokens)} labels but the sequence has only {L} positions")
        L = len(tokens)
        weights = weights[..., :L, :L]
    for pair in highlight:
        if not isinstance(pair, Sequence) or len(pair) != 2:
            raise TypeError(f"highlight takes (layer, head) pairs, got {pair!r}")
        if not (0 <= integer("highlight layer", pair[0]) < N and 0 <= integer("highlight head", pair[1]) < H):
            raise ValueError(f"highlight takes (layer, head) pairs with layer < {N} and head < {H}, got {pair!r}")
    fig, axes = plt.subplots(N, H, figsize=(size * H + 0.6, size * N + 0.6), squeeze=False)
    for layer in range(N):
        for head in range(H):
            ax = axes[layer, head]
            w = weights[layer, head]  # (L, L)
            ax.imshow(w.numpy(), cmap="viridis", vmin=0.0, vmax=max(float(w.max()), 1e-12))
            ax.set_xticks([])
            ax.set_yticks([])
            if layer == 0:
                ax.set_title(f"head {head}", fontsize=8)
            if head == 0:
                ax.set_ylabel(f"layer {layer}", fontsize=8)
            if (layer, head) in {tuple(p) for p in highlight}:
                for spine in ax.spines.values():
                    spine.set(color="red", linewidth=2.5)
    fig.supxlabel("key (attended to)", fontsize=9)
    fig.supylabel("query (attending)", fontsize=9)
    if title:
        fig.suptitle(title)
    return fig


def attention_explorer(encoder, tokenizer, sentences: Sequence[str], *, layer: int = 0, head: int = 0):
    """An ipywidgets explorer: type or pick a sentence, choose a layer and a head, see the heatmap.

    Returns an ``ipywidgets.VBox`` (display it as a notebook cell's last value). It only reacts in
    a running notebook; in a static page (the HTML book) it shows nothing, so draw a static figure
    next to it. The attention of each sentence is computed once and cached. For inspection and
    tests, the returned box keeps what it drew last in ``box.tokens`` (list of ``L`` strings) and
    ``box.weights`` (``(L, L)``).
    """
    import ipywidgets as widgets
    import matplotlib.pyplot as plt
    from IPython.display import display

    from .plotting import plot_attention

    if isinstance(sentences, str):
        raise TypeError("sentences must be a list of strings, got a single str; wrap it in a list")
    sentences = list(sentences)
    if any(not isinstance(s, str) for s in sentences):
        raise TypeError(f"sentences must be a list of strings, got {sentences!r}")
    if not sentences or not all(s.strip() for s in sentences):
        raise ValueError(f"sentences must be a non-empty list of non-empty strings, got {sentences!r}")
    config = encoder.config
    layer, head = integer("layer", layer), integer("head", head)
    if not (0 <= layer < config.num_layers and 0 <= head < config.num_heads):
        raise ValueError(f"layer must be < {config.num_layers} and head < {config.num_heads}, got {layer}, {head}")
    cache: dict[str, tuple[list[str], Tensor]] = {}
    text = widgets.Combobox(value=sentences[0], options=sentences, description="sentence",
                            ensure_option=False, continuous_update=False,
                            layout=widgets.Layout(width="95%"))
    layer_slider = widgets.IntSlider(value=layer, min=0, max=config.num_layers - 1, description="layer")
    head_slider = widgets.IntSlider(value=head, min=0, max=config.num_heads - 1, description="head")
    output = widgets.Output()
    box = widgets.VBox([text, widgets.HBox([layer_slider, head_slider]), output])

    def draw(*_):
        sentence = text.value.strip()
        if not sentence:
            return
        if sentence not in cache:
            cache[sentence] = sentence_attention(encoder, tokenizer, sentence)
        tokens, weights = cache[sentence]
        box.tokens, box.weights = tokens, weights[layer_slider.value, head_slider.value]  # (L, L)
        with output:
            output.clear_output(wait=True)
            L = len(tokens)
            fig, ax = plt.subplots(figsize=(0.35 * L + 2.5, 0.35 * L + 1.5))
            plot_attention(box.weights, tokens, tokens, ax=ax, annotate=False,
                           title=f"layer {layer_slider.value}, head {head_slider.value}")
            display(fig)
            plt.close(fig)

    for control in (text, layer_slider, head_slider):
        control.observe(draw, names="value")
    draw()
    return box
