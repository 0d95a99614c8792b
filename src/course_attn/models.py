"""Whole models: a Transformer encoder, a decoder (with or without cross-attention), an encoder-decoder.

Every forward can return the per-layer, per-head attention weights (``need_weights=True``);
otherwise attention takes the fused kernel.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from . import positional
from .cache import KVCache
from .config import TransformerConfig
from .layers import DecoderBlock, EncoderBlock

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
        self.tokens = nn.Embedding(config.vocab_size, config.d_model)
        self.scale = scale
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
        if input_ids is not None:
            if input_ids.dim() != 2 or input_ids.dtype not in (torch.int64, torch.int32):
                raise ValueError(
                    f"input_ids must be integer token ids of shape (B, L), got {input_ids.dtype} {tuple(input_ids.shape)}"
                )
            vocab = self.tokens.num_embeddings
            if input_ids.numel() and (int(input_ids.min()) < 0 or int(input_ids.max()) >= vocab):
                raise ValueError(f"input_ids must lie in [0, {vocab}) (vocab_size), got values "
                                 f"from {int(input_ids.min())} to {int(input_ids.max())}")
            embeds = self.tokens(input_ids) * self.scale  # (B, L, d)
        elif embeds.dim() != 3 or embeds.shape[-1] != self.tokens.embedding_dim:
            raise ValueError(f"embeds must be (B, L, {self.tokens.embedding_dim}), got {tuple(embeds.shape)}")
        x = embeds
        if self.types is not None:
            types = torch.zeros_like(x[..., 0], dtype=torch.long) if token_type_ids is None else token_type_ids
            x = x + self.types(types)
        if self.position is not None:
            positions = torch.arange(start, start + x.shape[1], device=x.device)  # (L,)
            x = self.position.embed(x, positions)
        if self.norm is not None:
            x = self.norm(x)
        return self.dropout(x)


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
        if caches is not None and len(caches) != len(self.layers):
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
        memory = self.encoder(src_ids, key_mask=src_key_mask).last_hidden_state
        start = torch.full((src_ids.shape[0], 1), bos_id, dtype=torch.long, device=src_ids.device)
        return self.decoder.generate(start, max_new_tokens, memory=memory, memory_key_mask=src_key_mask,
                                     use_cache=use_cache, eos_id=eos_id)
