"""The attention of a real encoder on a few sentences: a head view and a layers × heads model view."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from .._validate import integer
from ..explore import sentence_attention
from ._page import View, check_decimals, check_title, encode


@torch.no_grad()
def attention_view(encoder, tokenizer, sentences: Sequence[str], *, layer: int = 0, head: int = 0, query: int = 1,
                   decimals: int = 3, title: str | None = None) -> View:
    """Every head's attention on ``sentences``, computed now, explored in the browser without a kernel.

    ``encoder`` is a :class:`~course_attn.TransformerEncoder` (e.g. from
    :func:`course_attn.pretrained.load_minilm`) and ``tokenizer`` its Hugging Face tokenizer; each
    sentence goes through :func:`course_attn.explore.sentence_attention` (in eval mode), giving
    ``(num_layers, H, L, L)`` weights stored to ``decimals`` places. The reader picks a sentence, a
    layer and a head; hovers, focuses or clicks a query token to see its weights on every key (the
    head view); and clicks a map in the layers × heads grid (the model view) to pick its head.
    ``layer``, ``head`` and ``query`` (a token index of the first sentence) set the opening view.

    To try a sentence that was not computed, a running notebook is needed:
    :func:`course_attn.explore.attention_explorer`.
    """
    if isinstance(sentences, str):
        raise TypeError("sentences must be a list of strings, got a single str; wrap it in a list")
    sentences = list(sentences)
    if not sentences or not all(isinstance(s, str) and s.strip() for s in sentences):
        raise ValueError(f"sentences must be a non-empty list of non-empty strings, got {sentences!r}")
    config = encoder.config
    layer, head, query = integer("layer", layer), integer("head", head), integer("query", query)
    if not 0 <= layer < config.num_layers:
        raise ValueError(f"layer must be in [0, {config.num_layers}), got {layer}")
    if not 0 <= head < config.num_heads:
        raise ValueError(f"head must be in [0, {config.num_heads}), got {head}")
    decimals = check_decimals(decimals)
    was_training = encoder.training
    encoder.eval()
    try:
        computed = [sentence_attention(encoder, tokenizer, s) for s in sentences]  # (N, H, L, L) each
    finally:
        encoder.train(was_training)
    if not 0 <= query < len(computed[0][0]):
        raise ValueError(f"query must index a token of the first sentence, in [0, {len(computed[0][0])}), got {query}")
    return View("attention", {
        "title": check_title(title) or (f"Attention weights of every head ({config.num_layers} layers "
                                        f"\u00d7 {config.num_heads} heads), computed by course_attn"),
        "layers": config.num_layers, "heads": config.num_heads, "decimals": decimals,
        "sentence": 0, "layer": layer, "head": head, "query": query,
        "sentences": [{"text": s, "tokens": tokens, "weights": encode(w, decimals)}
                      for s, (tokens, w) in zip(sentences, computed)],
    })
