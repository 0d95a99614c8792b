"""Whole models: a Transformer encoder, a decoder (with or without cross-attention), an encoder-decoder.

Every forward can return the per-layer, per-head attention weights (``need_weights=True``, which
runs the ``"math"`` backend); otherwise attention runs ``config.backend`` (``"auto"``: the fused kernel).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from . import positional
from ._validate import flag, integer, number, tensor
from .cache import KVCache
from .config import TransformerConfig
from .layers import DecoderBlock, EncoderBlock, _check_config

__all__ = ["Embeddings", "TransformerEncoder", "TransformerDecoder", "EncoderDecoder", "EncoderOutput", "DecoderOutput"]


@dataclass
class EncoderOutput:
    """``last_hidden_state (B, L, d)``; per layer, when asked: ``hidden_states`` (embeddings
    first, num_layers + 1 entries of ``(B, L, d)``) and ``attentions`` (``(B, H, L, L)`` each).

    In a pre-LN model the last hidden state is taken after the final LayerNorm (as Hugging Face
    does for GPT-2), so it equals ``last_hidden_state``."""

    last_hidden_state: Tensor
    hidden_states: tuple[Tensor, ...] | None = None
    attentions: tuple[Tensor, ...] | None = None


@dataclass
class DecoderOutput:
    """``logits (B, L, vocab)``, and per layer when asked ``attentions (B, H, L, S)`` and
    ``cross_attentions (B, H, L, S_src)``."""

    logits: Tensor
    attentions: tuple[Tensor, ...] | None = None
    cross_attentions: tuple[Tensor, ...] | None = None


class Embeddings(nn.Module):
    """Token embeddings (+ segment embeddings) + absolute positions, then optional LayerNorm and dropout.

    Looked-up token vectors are multiplied by ``scale`` (1 by default; the decoder uses
    √d_model, as in Vaswani et al. §3.4, because its output layer shares these weights).
    """

    def __init__(self, config: TransformerConfig, position: positional.PositionScheme | None,
                 *, scale: float = 1.0) -> None:
        super().__init__()
        _check_config(config)
        if position is not None and (not isinstance(position, positional.PositionScheme) or not position.absolute):
            raise TypeError("position must be None or an absolute course_attn.positional.PositionScheme "
                            f"(sinusoidal, learned), got {type(position).__name__}")
        self.tokens = nn.Embedding(config.vocab_size, config.d_model)
        self.scale = number("scale", scale, low=0, low_open=True)
        self.types = nn.Embedding(config.type_vocab_size, config.d_model) if config.type_vocab_size else None
        self.position = position
        self.norm = nn.LayerNorm(config.d_model, eps=config.layer_norm_eps) if config.embedding_norm else None
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, input_ids: Tensor | None = None, *, embeds: Tensor | None = None,
                token_type_ids: Tensor | None = None, start: int = 0) -> Tensor:
        """``input_ids (B, L)`` or ready-made ``embeds (B, L, d)`` → ``(B, L, d)``; tokens sit at
        positions ``start … start + L - 1``."""
        if (input_ids is None) == (embeds is None):
            raise ValueError("pass exactly one of input_ids (B, L) and embeds (B, L, d_model)")
        start = integer("start", start, minimum=0)
        weight = self.tokens.weight
        if input_ids is not None:
            tensor("input_ids", input_ids, dims=2, kind="int", shape="(B, L)")
            _check_ids("input_ids", input_ids, weight, self.tokens.num_embeddings, "vocab_size")
            embeds = self.tokens(input_ids.long()) * self.scale  # (B, L, d)
        else:
            tensor("embeds", embeds, dims=3, kind="float", shape=f"(B, L, {self.tokens.embedding_dim})")
            if embeds.shape[-1] != self.tokens.embedding_dim:
                raise ValueError(f"embeds must be (B, L, {self.tokens.embedding_dim}), got {tuple(embeds.shape)}")
            if embeds.dtype != weight.dtype:
                raise TypeError(f"embeds has dtype {embeds.dtype} but the model's weights are {weight.dtype}")
            _check_device("embeds", embeds, weight)
        x = embeds
        if token_type_ids is not None:
            tensor("token_type_ids", token_type_ids, dims=2, kind="int", shape="(B, L)")
            if token_type_ids.shape != x.shape[:2]:
                raise ValueError(f"token_type_ids must be (B, L) = {tuple(x.shape[:2])}, "
                                 f"got {tuple(token_type_ids.shape)}")
            if self.types is not None:
                _check_ids("token_type_ids", token_type_ids, weight, self.types.num_embeddings, "type_vocab_size")
            else:  # a model without segment embeddings reads every token as segment 0
                _check_ids("token_type_ids", token_type_ids, weight, 1, "the model has no segment embeddings")
        if self.types is not None:
            types = torch.zeros_like(x[..., 0], dtype=torch.long) if token_type_ids is None else token_type_ids
            x = x + self.types(types.long())
        if self.position is not None:
            positions = torch.arange(start, start + x.shape[1], device=x.device)  # (L,)
            x = self.position.embed(x, positions)
        if self.norm is not None:
            x = self.norm(x)
        return self.dropout(x)


def _check_device(name: str, x: Tensor, weight: Tensor) -> None:
    if x.device != weight.device:
        raise ValueError(f"{name} is on {x.device} but the model's weights are on {weight.device}")


def _check_ids(name: str, ids: Tensor, weight: Tensor, high: int, what: str) -> None:
    """``ids`` must sit on the weights' device and lie in ``[0, high)``; ``what`` names the limit."""
    _check_device(name, ids, weight)
    if ids.numel() and (int(ids.min()) < 0 or int(ids.max()) >= high):
        raise ValueError(f"{name} must lie in [0, {high}) ({what}), got values "
                         f"from {int(ids.min())} to {int(ids.max())}")


def _token_id(name: str, value, vocab_size: int) -> int:
    value = integer(name, value, minimum=0)
    if value >= vocab_size:
        raise ValueError(f"{name} must be a token id in [0, {vocab_size}) (vocab_size), got {value}")
    return value


def _positions(config: TransformerConfig):
    """The configured scheme, as ``(for the embeddings, for the attention layers)``: absolute
    schemes act once on the input, relative ones inside every self-attention layer."""
    if config.position is None:
        return None, None
    scheme = positional.build(
        config.position, d_model=config.d_model, num_heads=config.num_heads, max_len=config.max_len,
        **config.position_options,
    )
    return (scheme, None) if scheme.absolute else (None, scheme)


class TransformerEncoder(nn.Module):
    """Embeddings, ``num_layers`` encoder blocks, and a final LayerNorm for pre-LN models.

    The :mod:`~course_attn.positional` scheme of ``config.position`` acts on the embeddings
    (absolute schemes) or is shared by every self-attention layer (relative schemes).
    """

    def __init__(self, config: TransformerConfig) -> None:
        super().__init__()
        _check_config(config)
        self.config = config
        absolute, relative = _positions(config)
        self.embeddings = Embeddings(config, absolute)
        self.layers = nn.ModuleList(EncoderBlock(config, relative) for _ in range(config.num_layers))
        self.final_norm = nn.LayerNorm(config.d_model, eps=config.layer_norm_eps) if config.norm == "pre" else None

    def forward(
        self, input_ids: Tensor | None = None, *, embeds: Tensor | None = None, key_mask: Tensor | None = None,
        token_type_ids: Tensor | None = None, causal: bool = False, need_weights: bool = False,
        output_hidden_states: bool = False,
    ) -> EncoderOutput:
        """``input_ids (B, L)`` (or ``embeds (B, L, d)``), ``key_mask (B, L)`` True/1 for real tokens."""
        output_hidden_states = flag("output_hidden_states", output_hidden_states)
        x = self.embeddings(input_ids, embeds=embeds, token_type_ids=token_type_ids)  # (B, L, d)
        hidden, attentions = [x], []
        for layer in self.layers:
            x, weights = layer(x, key_mask=key_mask, causal=causal, need_weights=need_weights)
            hidden.append(x)
            attentions.append(weights)
        if self.final_norm is not None:
            x = self.final_norm(x)
            hidden[-1] = x
        return EncoderOutput(
            last_hidden_state=x,
            hidden_states=tuple(hidden) if output_hidden_states else None,
            attentions=tuple(attentions) if need_weights else None,
        )


class TransformerDecoder(nn.Module):
    """Embeddings, ``num_layers`` decoder blocks, final LayerNorm (pre-LN) and a language-model head.

    With ``cross_attention=False`` it is a decoder-only (GPT-style) language model. The head
    shares its weights with the token embeddings. Those start as N(0, 1/d_model) and are
    multiplied by √d_model on input (Vaswani et al. §3.4): the input keeps unit scale per
    dimension and the initial logits have unit scale too, so an untrained model's loss starts a
    few nats above ln(vocab_size), a uniform guess, not tens of nats above it.
    """

    def __init__(self, config: TransformerConfig, *, cross_attention: bool = True) -> None:
        super().__init__()
        _check_config(config)
        cross_attention = flag("cross_attention", cross_attention)
        self.config = config
        absolute, relative = _positions(config)
        self.embeddings = Embeddings(config, absolute, scale=config.d_model ** 0.5)
        nn.init.normal_(self.embeddings.tokens.weight, std=config.d_model ** -0.5)
        self.layers = nn.ModuleList(
            DecoderBlock(config, relative, cross_attention=cross_attention) for _ in range(config.num_layers)
        )
        self.final_norm = nn.LayerNorm(config.d_model, eps=config.layer_norm_eps) if config.norm == "pre" else None
        self.lm_head = nn.Linear(config.d_model, config.vocab_size, bias=False)
        self.lm_head.weight = self.embeddings.tokens.weight  # weight tying

    def new_caches(self) -> list[KVCache]:
        """One empty :class:`KVCache` per layer, for :meth:`forward`'s ``caches``."""
        return [KVCache() for _ in self.layers]

    def forward(
        self, input_ids: Tensor, memory: Tensor | None = None, *, key_mask: Tensor | None = None,
        memory_key_mask: Tensor | None = None, caches: list[KVCache] | None = None, need_weights: bool = False,
    ) -> DecoderOutput:
        """``input_ids (B, L)`` → ``logits (B, L, vocab)``.

        With ``caches`` (from :meth:`new_caches`), pass only the new tokens: they are placed after
        the cached ones and attend to them.
        """
        if caches is not None:
            if not isinstance(caches, (list, tuple)) or not all(isinstance(c, KVCache) for c in caches):
                raise TypeError(f"caches must be a list of KVCache (from new_caches()), got {caches!r}")
            if len(caches) != len(self.layers):
                raise ValueError(f"caches must hold one KVCache per layer ({len(self.layers)}), got {len(caches)}")
        start = len(caches[0]) if caches else 0
        x = self.embeddings(input_ids, start=start)  # (B, L, d)
        attentions, cross_attentions = [], []
        for i, layer in enumerate(self.layers):
            x, weights, cross = layer(
                x, memory, key_mask=key_mask, memory_key_mask=memory_key_mask,
                cache=caches[i] if caches is not None else None, need_weights=need_weights,
            )
            attentions.append(weights)
            cross_attentions.append(cross)
        if self.final_norm is not None:
            x = self.final_norm(x)
        return DecoderOutput(
            logits=self.lm_head(x),
            attentions=tuple(attentions) if need_weights else None,
            cross_attentions=tuple(cross_attentions) if need_weights and memory is not None else None,
        )

    @torch.no_grad()
    def generate(
        self, input_ids: Tensor, max_new_tokens: int, *, memory: Tensor | None = None,
        memory_key_mask: Tensor | None = None, use_cache: bool = True, eos_id: int | None = None,
    ) -> Tensor:
        """Greedy decoding: append ``max_new_tokens`` argmax tokens to ``input_ids (B, L)``.

        With ``use_cache`` each step feeds only the newest token and reuses the cached keys and
        values; without it each step re-runs the whole sequence. Both give the same tokens.
        Stops early once every sequence has produced ``eos_id``.
        """
        tensor("input_ids", input_ids, dims=2, kind="int", shape="(B, L)")
        if input_ids.shape[1] == 0:
            raise ValueError("input_ids must hold at least one token per sequence (the prompt), got shape "
                             f"{tuple(input_ids.shape)}")
        max_new_tokens = integer("max_new_tokens", max_new_tokens, minimum=0)
        use_cache = flag("use_cache", use_cache)
        if eos_id is not None:
            eos_id = _token_id("eos_id", eos_id, self.config.vocab_size)
        caches = self.new_caches() if use_cache else None
        tokens, step_input = input_ids, input_ids
        done = torch.zeros(input_ids.shape[0], dtype=torch.bool, device=input_ids.device)
        for _ in range(max_new_tokens):
            logits = self(step_input, memory, memory_key_mask=memory_key_mask, caches=caches).logits
            next_token = logits[:, -1].argmax(dim=-1, keepdim=True)  # (B, 1)
            tokens = torch.cat([tokens, next_token], dim=1)
            step_input = next_token if use_cache else tokens
            if eos_id is not None:
                done |= next_token.squeeze(1) == eos_id
                if done.all():
                    break
        return tokens


class EncoderDecoder(nn.Module):
    """The original Transformer layout: an encoder reads the source, a decoder writes the target."""

    def __init__(self, config: TransformerConfig) -> None:
        super().__init__()
        self.encoder = TransformerEncoder(config)
        self.decoder = TransformerDecoder(config, cross_attention=True)

    def forward(
        self, src_ids: Tensor, tgt_ids: Tensor, *, src_key_mask: Tensor | None = None,
        tgt_key_mask: Tensor | None = None, need_weights: bool = False,
    ) -> DecoderOutput:
        """``src_ids (B, S)``, ``tgt_ids (B, L)`` (teacher forcing) → ``logits (B, L, vocab)``."""
        memory = self.encoder(src_ids, key_mask=src_key_mask).last_hidden_state  # (B, S, d)
        return self.decoder(tgt_ids, memory, key_mask=tgt_key_mask, memory_key_mask=src_key_mask,
                            need_weights=need_weights)

    @torch.no_grad()
    def generate(self, src_ids: Tensor, bos_id: int, max_new_tokens: int, *, src_key_mask: Tensor | None = None,
                 use_cache: bool = True, eos_id: int | None = None) -> Tensor:
        """Greedy translation of ``src_ids (B, S)``: returns ``(B, 1 + n)`` tokens starting with ``bos_id``."""
        bos_id = _token_id("bos_id", bos_id, self.decoder.config.vocab_size)
        memory = self.encoder(src_ids, key_mask=src_key_mask).last_hidden_state
        start = torch.full((src_ids.shape[0], 1), bos_id, dtype=torch.long, device=src_ids.device)
        return self.decoder.generate(start, max_new_tokens, memory=memory, memory_key_mask=src_key_mask,
                                     use_cache=use_cache, eos_id=eos_id)
