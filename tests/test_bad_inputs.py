"""Bad inputs to the training loop, the models, the heads, the tools and the data generators (issue 14).

Each one gets a TypeError (wrong type) or a ValueError (wrong value) whose message names the
argument, what it got and what was expected; before, each of these went through silently, gave
NaN, or failed deep inside torch with a message that named none of that.
"""

import math
import re

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from torch import nn

import course_attn as ca
from course_attn import explore, profiling, recsys, text
from course_attn.data import finance, sequences

NAN, INF = math.nan, math.inf


def case(name, call, error, message):
    """One bad input: ``call()`` must raise ``error`` with ``message`` (matched literally) in it."""
    return pytest.param(call, error, message, id=name)


def check(call, error, message):
    with pytest.raises(error, match=re.escape(message)):
        call()


# --- small inputs ---------------------------------------------------------------------------


def config(**kw):
    kw = {"vocab_size": 20, "d_model": 16, "num_heads": 2, "num_layers": 1, "dropout": 0.0, "max_len": 32, **kw}
    return ca.TransformerConfig(**kw)


def ids(vocab=20):
    return torch.randint(0, vocab, (2, 5))


class Regression(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(3, 1)

    def forward(self, x, y):
        return type("Out", (), {"loss": nn.functional.mse_loss(self.linear(x).squeeze(-1), y)})()


def fit(data=None, model=None, **kw):
    x = torch.randn(16, 3)
    data = {"x": x, "y": x.sum(1)} if data is None else data
    return ca.fit(Regression() if model is None else model, data, progress=kw.pop("progress", False), **kw)


def cache_with(k, v):
    cache = ca.KVCache()
    cache.update(torch.randn(1, 2, 3, 4), torch.randn(1, 2, 3, 4))
    return cache.update(k, v)


def encoder(**kw):
    return ca.TransformerEncoder(config(**kw)).eval()


def decoder():
    return ca.TransformerDecoder(config(), cross_attention=False).eval()


def one_head():
    return {"a": ca.SequenceClassificationHead(16, 3)}


def vocab():
    return text.WordVocab.build(["a b c", "b c d"])


# --- the training loop ----------------------------------------------------------------------


@pytest.mark.parametrize("call, error, message", [
    case("clip_grad negative", lambda: fit(clip_grad=-1.0), ValueError,
         "clip_grad must be a finite number in (0, inf), got -1.0"),
    case("clip_grad zero", lambda: fit(clip_grad=0), ValueError, "clip_grad must be a finite number in (0, inf)"),
    case("clip_grad nan", lambda: fit(clip_grad=NAN),
         ValueError, "clip_grad must be a finite number in (0, inf), got nan"),
    case("clip_grad str", lambda: fit(clip_grad="1"), TypeError, "clip_grad must be a number, got '1' (str)"),
    case("warmup negative", lambda: fit(warmup=-1), ValueError, "warmup must be a finite number in [0, inf), got -1.0"),
    case("warmup negative fraction", lambda: fit(warmup=-0.1),
         ValueError, "warmup must be a finite number in [0, inf)"),
    case("warmup fractional steps", lambda: fit(warmup=2.5), ValueError,
         "warmup must be a fraction in [0, 1) or a whole number of steps, got 2.5"),
    case("warmup nan", lambda: fit(warmup=NAN), ValueError, "warmup must be a finite number in [0, inf), got nan"),
    case("warmup bool", lambda: fit(warmup=True), TypeError, "warmup must be a number, got True (bool)"),
    case("no examples", lambda: fit({"x": torch.zeros(0, 3), "y": torch.zeros(0)}), ValueError,
         "train_data is empty: there is nothing to train on"),
    case("no batches", lambda: fit([]), ValueError, "train_data is empty: there is nothing to train on"),
    case("no tensors", lambda: fit({}), ValueError, "train_data holds no tensors"),
    case("a generator of batches", lambda: fit(b for b in []), TypeError,
         "train_data must be a dict of tensors or a sized, re-iterable collection of batch dicts (a DataLoader), "
         "got generator"),
    case("a tensor", lambda: fit(torch.randn(4, 3)), TypeError, "train_data must be a dict of tensors or a sized"),
    case("batches that are not dicts", lambda: fit([torch.randn(4, 3)]), TypeError,
         "train_data must yield batches that are dicts of tensors, got Tensor"),
    case("0-d tensor", lambda: fit({"x": torch.tensor(1.0)}), ValueError,
         "train_data['x'] must have a first dim that counts the examples, got a 0-d tensor"),
    case("batch_size zero", lambda: fit(batch_size=0), ValueError, "batch_size must be a positive int, got 0"),
    case("batch_size float", lambda: fit(batch_size=2.0),
         TypeError, "batch_size must be a positive int, got 2.0 (float)"),
    case("batch_size bool", lambda: fit(batch_size=True),
         TypeError, "batch_size must be a positive int, got True (bool)"),
    case("epochs bool", lambda: fit(epochs=True), TypeError, "epochs must be a positive int, got True (bool)"),
    case("epochs float", lambda: fit(epochs=2.0), TypeError, "epochs must be a positive int, got 2.0 (float)"),
    case("lr zero", lambda: fit(lr=0), ValueError, "lr must be a finite number in (0, inf), got 0.0"),
    case("lr str", lambda: fit(lr="1e-3"), TypeError, "lr must be a number, got '1e-3' (str)"),
    case("weight_decay negative", lambda: fit(weight_decay=-1.0), ValueError,
         "weight_decay must be a finite number in [0, inf), got -1.0"),
    case("weight_decay nan", lambda: fit(weight_decay=NAN),
         ValueError, "weight_decay must be a finite number in [0, inf)"),
    case("progress str", lambda: fit(progress="no"), TypeError, "progress must be True or False, got 'no' (str)"),
    case("progress int", lambda: fit(progress=0), TypeError, "progress must be True or False, got 0 (int)"),
    case("seed float", lambda: fit(seed=1.5), TypeError, "seed must be an int, got 1.5 (float)"),
    case("seed str", lambda: fit(seed="0"), TypeError, "seed must be an int, got '0' (str)"),
    case("device unknown", lambda: fit(device="gpu"), ValueError,
         "device must be a torch.device or a device name such as 'cpu' or 'cuda', got 'gpu'"),
    case("device float", lambda: fit(device=3.5), TypeError, "device must be a torch.device or a device name"),
    case("loss_fn not callable", lambda: fit(loss_fn=3), TypeError, "loss_fn must be a function or None, got int"),
    case("eval_fn not callable", lambda: fit(eval_fn="x"), TypeError, "eval_fn must be a function or None, got str"),
    case("eval_fn returns a float", lambda: fit(eval_fn=lambda m: 1.0), TypeError,
         "eval_fn must return a dict of metrics, got float"),
    case("loss per example", lambda: fit(loss_fn=lambda m, b: m.linear(b["x"]).squeeze(-1) ** 2), ValueError,
         "the loss must be 0-D (a scalar), got shape (16,)"),
    case("loss a float", lambda: fit(loss_fn=lambda m, b: 1.0), TypeError,
         "the loss must be a torch.Tensor (a scalar), got float"),
    case("model a str", lambda: fit(model="model"), TypeError, "model must be a torch.nn.Module, got str"),
    case("model without parameters", lambda: fit(model=nn.ReLU(), loss_fn=lambda m, b: b["x"].sum()), ValueError,
         "model has no trainable parameters: there is nothing to fit"),
])
def test_fit(call, error, message):
    check(call, error, message)


def test_a_negative_clip_grad_no_longer_trains_backwards():
    model = Regression()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(ValueError, match="clip_grad"):
        fit(model=model, epochs=3, clip_grad=-1.0)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items()), "nothing was trained"


def optimizer():
    return torch.optim.SGD(Regression().parameters(), lr=1.0)


@pytest.mark.parametrize("call, error, message", [
    case("iterate_batches shuffle str", lambda: list(ca.iterate_batches({"a": torch.zeros(4)}, 2, shuffle="yes")),
         TypeError, "shuffle must be True or False, got 'yes' (str)"),
    case("iterate_batches data list", lambda: list(ca.iterate_batches([1, 2], 2)), TypeError,
         "data must be a dict of tensors, got list"),
    case("iterate_batches data empty", lambda: list(ca.iterate_batches({}, 2)), ValueError, "data holds no tensors"),
    case("iterate_batches generator int", lambda: list(ca.iterate_batches({"a": torch.zeros(4)}, 2, generator=3)),
         TypeError, "generator must be a torch.Generator or None, got int"),
    case("warmup_schedule negative", lambda: ca.train.warmup_schedule(optimizer(), -1, 10), ValueError,
         "warmup_steps must be a non-negative int, got -1"),
    case("warmup_schedule fractional", lambda: ca.train.warmup_schedule(optimizer(), 2.5, 10), TypeError,
         "warmup_steps must be a non-negative int, got 2.5 (float)"),
    case("warmup_schedule no steps", lambda: ca.train.warmup_schedule(optimizer(), 0, 0), ValueError,
         "total_steps must be a positive int, got 0"),
    case("warmup_schedule optimizer None", lambda: ca.train.warmup_schedule(None, 1, 10), TypeError,
         "optimizer must be a torch.optim.Optimizer, got NoneType"),
    case("accuracy labels too many", lambda: ca.accuracy(torch.randn(4, 3), torch.zeros(5, dtype=torch.long)),
         ValueError, "labels must have the shape of logits without its class dim, (4,), got (5,)"),
    case("accuracy labels (N, 1)", lambda: ca.accuracy(torch.randn(4, 3), torch.zeros(4, 1, dtype=torch.long)),
         ValueError, "labels must have the shape of logits without its class dim, (4,), got (4, 1)"),
    case("accuracy labels float", lambda: ca.accuracy(torch.randn(4, 3), torch.zeros(4)), TypeError,
         "labels must hold integers, got dtype torch.float32"),
    case("accuracy labels out of range", lambda: ca.accuracy(torch.randn(2, 3), torch.tensor([0, 3])), ValueError,
         "labels must lie in [0, 3) or be ignore_index=-100, got values from 0 to 3"),
    case("accuracy logits list", lambda: ca.accuracy([[1.0, 2.0]], torch.zeros(1, dtype=torch.long)), TypeError,
         "logits must be a torch.Tensor, got list"),
    case("accuracy ignore_index float", lambda: ca.accuracy(torch.randn(4, 3), torch.zeros(4, dtype=torch.long), 1.5),
         TypeError, "ignore_index must be an int, got 1.5 (float)"),
    case("History.metric misspelt", lambda: ca.History(epochs=[{"epoch": 1, "train_loss": 1.0}]).metric("val_acc"),
         ValueError, "no epoch recorded a metric 'val_acc'; the metrics are ['epoch', 'train_loss']"),
    case("History.plot smooth float", lambda: ca.History(step_loss=[1.0] * 5).plot(smooth=2.5), TypeError,
         "smooth must be a positive int, got 2.5 (float)"),
    case("History.plot smooth negative", lambda: ca.History(step_loss=[1.0] * 5).plot(smooth=-1), ValueError,
         "smooth must be a positive int, got -1"),
])
def test_batches_schedule_accuracy_history(call, error, message):
    check(call, error, message)


# --- configuration, cache, blocks, models ---------------------------------------------------------


@pytest.mark.parametrize("field, value, error, message", [
    ("num_kv_heads", 3, ValueError, "TransformerConfig: num_heads=2 is not divisible by num_kv_heads=3"),
    ("num_kv_heads", 0, ValueError, "TransformerConfig.num_kv_heads must be a positive int, got 0"),
    ("num_kv_heads", 1.0, TypeError, "TransformerConfig.num_kv_heads must be a positive int, got 1.0 (float)"),
    ("dropout", "0.1", TypeError, "TransformerConfig.dropout must be a number, got '0.1' (str)"),
    ("dropout", True, TypeError, "TransformerConfig.dropout must be a number, got True (bool)"),
    ("attn_dropout", None, TypeError, "TransformerConfig.attn_dropout must be a number, got None (NoneType)"),
    ("layer_norm_eps", 0, ValueError, "TransformerConfig.layer_norm_eps must be a finite number in (0, inf), got 0.0"),
    ("layer_norm_eps", -1e-5, ValueError, "TransformerConfig.layer_norm_eps must be a finite number in (0, inf)"),
    ("layer_norm_eps", None, TypeError, "TransformerConfig.layer_norm_eps must be a number, got None (NoneType)"),
    ("type_vocab_size", -1, ValueError, "TransformerConfig.type_vocab_size must be a non-negative int, got -1"),
    ("type_vocab_size", 2.0, TypeError,
     "TransformerConfig.type_vocab_size must be a non-negative int, got 2.0 (float)"),
    ("type_vocab_size", True, TypeError, "TransformerConfig.type_vocab_size must be a non-negative int, got True"),
    ("embedding_norm", "yes", TypeError, "TransformerConfig.embedding_norm must be True or False, got 'yes' (str)"),
    ("backend", "flash", ValueError,
     "TransformerConfig.backend must be one of ('auto', 'math', 'sdpa', 'chunked'), got 'flash'"),
    ("position", "rotary", ValueError, "TransformerConfig.position must be one of ('sinusoidal', 'learned', 'shaw', "
                                       "'t5', 'rope', 'alibi'), got 'rotary'"),
    ("position", 3, ValueError, "TransformerConfig.position must be one of ("),
    ("position_options", [1], TypeError, "TransformerConfig.position_options must be a dict, got list"),
    ("position_options", None, TypeError, "TransformerConfig.position_options must be a dict, got NoneType"),
    ("max_len", None, TypeError, "TransformerConfig.max_len must be a positive int, got None (NoneType)"),
    ("vocab_size", 100.0, TypeError, "TransformerConfig.vocab_size must be a positive int, got 100.0 (float)"),
    ("vocab_size", True, TypeError, "TransformerConfig.vocab_size must be a positive int, got True (bool)"),
])
def test_config(field, value, error, message):
    check(lambda: config(**{field: value}), error, message)


@pytest.mark.parametrize("call, error, message", [
    case("keys and values of different lengths",
         lambda: ca.KVCache().update(torch.randn(1, 2, 3, 4), torch.randn(1, 2, 2, 4)),
         ValueError, "k and v must share (B, H_kv, S_new), got k (1, 2, 3, 4) and v (1, 2, 2, 4)"),
    case("keys and values of different batches",
         lambda: ca.KVCache().update(torch.randn(1, 2, 3, 4), torch.randn(2, 2, 3, 4)),
         ValueError, "k and v must share (B, H_kv, S_new), got k (1, 2, 3, 4) and v (2, 2, 3, 4)"),
    case("3-D keys", lambda: ca.KVCache().update(torch.randn(2, 3, 4), torch.randn(2, 3, 4)), ValueError,
         "k must be 4-D (B, H_kv, S_new, D), got shape (2, 3, 4)"),
    case("lists", lambda: ca.KVCache().update([1], [1]),
         TypeError, "k must be a torch.Tensor (B, H_kv, S_new, D), got list"),
    case("integer keys", lambda: ca.KVCache().update(*[torch.ones(1, 2, 3, 4, dtype=torch.long)] * 2), TypeError,
         "k must hold floating-point values, got dtype torch.int64"),
    case("keys and values of two dtypes",
         lambda: ca.KVCache().update(torch.randn(1, 2, 3, 4), torch.randn(1, 2, 3, 4).double()),
         TypeError, "k and v must share one dtype, got k torch.float32 and v torch.float64"),
    case("keys and values on two devices",
         lambda: ca.KVCache().update(torch.randn(1, 2, 3, 4), torch.randn(1, 2, 3, 4, device="meta")),
         ValueError, "k and v must be on one device, got k cpu and v meta"),
    case("new values of another length", lambda: cache_with(torch.randn(1, 2, 1, 4), torch.randn(1, 2, 2, 4)),
         ValueError, "k and v must share (B, H_kv, S_new), got k (1, 2, 1, 4) and v (1, 2, 2, 4)"),
    case("new values with other heads", lambda: cache_with(torch.randn(1, 2, 1, 4), torch.randn(1, 3, 1, 4)),
         ValueError, "k and v must share (B, H_kv, S_new)"),
    case("new keys of another dtype",
         lambda: cache_with(torch.randn(1, 2, 1, 4).double(), torch.randn(1, 2, 1, 4).double()),
         TypeError, "new keys are torch.float64 but the cache holds torch.float32"),
])
def test_kv_cache(call, error, message):
    check(call, error, message)


@pytest.mark.parametrize("call, error, message", [
    case("FeedForward d_ff zero", lambda: ca.FeedForward(8, 0), ValueError, "d_ff must be a positive int, got 0"),
    case("FeedForward activation", lambda: ca.FeedForward(8, 16, activation="silu"), ValueError,
         "activation must be one of ('gelu', 'relu'), got 'silu'"),
    case("FeedForward dropout", lambda: ca.FeedForward(8, 16, dropout=2.0), ValueError,
         "dropout must be a finite number in [0, 1), got 2.0"),
    case("FeedForward x features", lambda: ca.FeedForward(8, 16)(torch.randn(2, 3)), ValueError,
         "x must be (..., d_model=8), got shape (2, 3)"),
    case("EncoderBlock config dict", lambda: ca.EncoderBlock({"d_model": 8}), TypeError,
         "config must be a TransformerConfig, got dict"),
    case("DecoderBlock cross_attention str", lambda: ca.DecoderBlock(config(), cross_attention="no"), TypeError,
         "cross_attention must be True or False, got 'no' (str)"),
])
def test_blocks(call, error, message):
    check(call, error, message)


def types(value, shape=(2, 5), dtype=torch.long):
    return encoder(type_vocab_size=2)(ids(), token_type_ids=torch.full(shape, value, dtype=dtype))


@pytest.mark.parametrize("call, error, message", [
    case("token_type_ids too large", lambda: types(2), ValueError,
         "token_type_ids must lie in [0, 2) (type_vocab_size), got values from 2 to 2"),
    case("token_type_ids negative", lambda: types(-1), ValueError,
         "token_type_ids must lie in [0, 2) (type_vocab_size), got values from -1 to -1"),
    case("token_type_ids float", lambda: types(0, dtype=torch.float), TypeError,
         "token_type_ids must hold integers, got dtype torch.float32"),
    case("token_type_ids shorter", lambda: types(0, shape=(2, 4)), ValueError,
         "token_type_ids must be (B, L) = (2, 5), got (2, 4)"),
    case("token_type_ids broadcast", lambda: types(0, shape=(5,)), ValueError,
         "token_type_ids must be 2-D (B, L), got shape (5,)"),
    case("token_type_ids without segments", lambda: encoder()(ids(), token_type_ids=torch.ones(2, 5, dtype=torch.long)),
         ValueError, "token_type_ids must lie in [0, 1) (the model has no segment embeddings), got values from 1 to 1"),
    case("start negative", lambda: encoder().embeddings(ids(), start=-1), ValueError,
         "start must be a non-negative int, got -1"),
    case("start float", lambda: encoder().embeddings(ids(), start=1.5), TypeError,
         "start must be a non-negative int, got 1.5 (float)"),
    case("embeds integer", lambda: encoder()(embeds=torch.ones(2, 5, 16, dtype=torch.long)), TypeError,
         "embeds must hold floating-point values, got dtype torch.int64"),
    case("embeds float64", lambda: encoder()(embeds=torch.ones(2, 5, 16, dtype=torch.double)), TypeError,
         "embeds has dtype torch.float64 but the model's weights are torch.float32"),
    case("embeds list", lambda: encoder()(embeds=[[1.0]]),
         TypeError, "embeds must be a torch.Tensor (B, L, 16), got list"),
    case("input_ids list", lambda: encoder()([[1, 2]]), TypeError, "input_ids must be a torch.Tensor (B, L), got list"),
    case("input_ids bool", lambda: encoder()(ids().bool()),
         TypeError, "input_ids must hold integers, got dtype torch.bool"),
    case("input_ids on another device", lambda: encoder()(ids().to("meta")), ValueError,
         "input_ids is on meta but the model's weights are on cpu"),
    case("scale negative", lambda: ca.models.Embeddings(config(), None, scale=-1.0), ValueError,
         "scale must be a finite number in (0, inf), got -1.0"),
    case("scale nan", lambda: ca.models.Embeddings(config(), None, scale=NAN), ValueError,
         "scale must be a finite number in (0, inf), got nan"),
    case("a relative position scheme",
         lambda: ca.models.Embeddings(config(), ca.positional.build("rope", d_model=16, num_heads=2)),
         TypeError, "position must be None or an absolute course_attn.positional.PositionScheme "
                    "(sinusoidal, learned), got RotaryEmbedding"),
    case("encoder config None", lambda: ca.TransformerEncoder(None),
         TypeError, "config must be a TransformerConfig, got NoneType"),
    case("encoder output_hidden_states int", lambda: encoder()(ids(), output_hidden_states=1), TypeError,
         "output_hidden_states must be True or False, got 1 (int)"),
    case("decoder cross_attention int", lambda: ca.TransformerDecoder(config(), cross_attention=1), TypeError,
         "cross_attention must be True or False, got 1 (int)"),
    case("decoder caches of str", lambda: decoder()(ids(), caches=["a"]), TypeError,
         "caches must be a list of KVCache (from new_caches()), got ['a']"),
    case("decoder caches one KVCache", lambda: decoder()(ids(), caches=ca.KVCache()), TypeError,
         "caches must be a list of KVCache (from new_caches()), got KVCache(length=0, shape=None)"),
    case("encoder-decoder config str", lambda: ca.EncoderDecoder("config"),
         TypeError, "config must be a TransformerConfig, got str"),
])
def test_embeddings_and_models(call, error, message):
    check(call, error, message)


@pytest.mark.parametrize("call, error, message", [
    case("max_new_tokens negative", lambda: decoder().generate(ids(), -1), ValueError,
         "max_new_tokens must be a non-negative int, got -1"),
    case("max_new_tokens fractional", lambda: decoder().generate(ids(), 2.5), TypeError,
         "max_new_tokens must be a non-negative int, got 2.5 (float)"),
    case("max_new_tokens bool", lambda: decoder().generate(ids(), True), TypeError,
         "max_new_tokens must be a non-negative int, got True (bool)"),
    case("float prompt", lambda: decoder().generate(ids().float(), 0),
         TypeError, "input_ids must hold integers, got dtype torch.float32"),
    case("empty prompt", lambda: decoder().generate(torch.zeros(2, 0, dtype=torch.long), 3), ValueError,
         "input_ids must hold at least one token per sequence (the prompt), got shape (2, 0)"),
    case("eos_id negative", lambda: decoder().generate(ids(), 2, eos_id=-1),
         ValueError, "eos_id must be a non-negative int, got -1"),
    case("eos_id outside the vocabulary", lambda: decoder().generate(ids(), 2, eos_id=99), ValueError,
         "eos_id must be a token id in [0, 20) (vocab_size), got 99"),
    case("eos_id fractional", lambda: decoder().generate(ids(), 2, eos_id=1.5), TypeError,
         "eos_id must be a non-negative int, got 1.5 (float)"),
    case("use_cache str", lambda: decoder().generate(ids(), 2, use_cache="no"), TypeError,
         "use_cache must be True or False, got 'no' (str)"),
    case("bos_id negative", lambda: ca.EncoderDecoder(config()).generate(ids(), -1, 2), ValueError,
         "bos_id must be a non-negative int, got -1"),
    case("bos_id outside the vocabulary", lambda: ca.EncoderDecoder(config()).generate(ids(), 99, 2), ValueError,
         "bos_id must be a token id in [0, 20) (vocab_size), got 99"),
    case("bos_id fractional", lambda: ca.EncoderDecoder(config()).generate(ids(), 1.5, 2), TypeError,
         "bos_id must be a non-negative int, got 1.5 (float)"),
    case("encoder-decoder max_new_tokens negative", lambda: ca.EncoderDecoder(config()).generate(ids(), 1, -2),
         ValueError, "max_new_tokens must be a non-negative int, got -2"),
    case("encoder-decoder max_new_tokens fractional", lambda: ca.EncoderDecoder(config()).generate(ids(), 1, 1.5),
         TypeError, "max_new_tokens must be a non-negative int, got 1.5 (float)"),
    case("encoder-decoder eos_id", lambda: ca.EncoderDecoder(config()).generate(ids(), 1, 2, eos_id=50), ValueError,
         "eos_id must be a token id in [0, 20) (vocab_size), got 50"),
    case("encoder-decoder use_cache int", lambda: ca.EncoderDecoder(config()).generate(ids(), 1, 2, use_cache=0),
         TypeError, "use_cache must be True or False, got 0 (int)"),
])
def test_generate(call, error, message):
    check(call, error, message)


# --- task heads ---------------------------------------------------------------------------------


def hidden():
    return torch.randn(2, 5, 16)


@pytest.mark.parametrize("call, error, message", [
    case("mean_pool mask shorter", lambda: ca.mean_pool(hidden(), torch.ones(2, 4, dtype=torch.bool)), ValueError,
         "key_mask must be (B, L) = (2, 5), True/1 for real tokens; got (2, 4)"),
    case("mean_pool mask (B, L, 1)", lambda: ca.mean_pool(hidden(), torch.ones(2, 5, 1, dtype=torch.bool)), ValueError,
         "key_mask must be (B, L) = (2, 5), True/1 for real tokens; got (2, 5, 1)"),
    case("mean_pool mask (L,)", lambda: ca.mean_pool(hidden(), torch.ones(5, dtype=torch.bool)), ValueError,
         "key_mask must be (B, L) = (2, 5), True/1 for real tokens; got (5,)"),
    case("mean_pool mask float", lambda: ca.mean_pool(hidden(), torch.full((2, 5), 0.5)), TypeError,
         "key_mask must hold booleans or 0/1 integers, got dtype torch.float32"),
    case("mean_pool mask of 2s", lambda: ca.mean_pool(hidden(), torch.full((2, 5), 2)), ValueError,
         "key_mask must hold only 0 and 1 (1 = real token)"),
    case("mean_pool hidden 2-D", lambda: ca.mean_pool(torch.randn(2, 5), None), ValueError,
         "hidden must be 3-D (B, L, d), got shape (2, 5)"),
    case("mean_pool hidden list", lambda: ca.mean_pool([[1.0]], None),
         TypeError, "hidden must be a torch.Tensor (B, L, d), got list"),
    case("mean_pool hidden integer", lambda: ca.mean_pool(torch.ones(2, 5, 3, dtype=torch.long), None), TypeError,
         "hidden must hold floating-point values, got dtype torch.int64"),
    case("one class", lambda: ca.SequenceClassificationHead(16, 0),
         ValueError, "num_classes must be an int >= 2, got 0"),
    case("d_model float", lambda: ca.SequenceClassificationHead(2.0, 3),
         TypeError, "d_model must be a positive int, got 2.0 (float)"),
    case("hidden of another width", lambda: ca.SequenceClassificationHead(16, 3)(torch.randn(2, 5, 8)), ValueError,
         "hidden must be (..., d_model=16), got shape (2, 5, 8)"),
    case("label outside the classes",
         lambda: ca.SequenceClassificationHead(16, 3).loss(torch.randn(2, 3), torch.tensor([0, 5])),
         ValueError, "labels must lie in [0, 3) or be -100 (ignored), got values from 0 to 5"),
    case("float labels", lambda: ca.SequenceClassificationHead(16, 3).loss(torch.randn(2, 3), torch.tensor([0.0, 1.0])),
         TypeError, "labels must hold integers, got dtype torch.float32"),
    case("labels for another batch",
         lambda: ca.SequenceClassificationHead(16, 3).loss(torch.randn(2, 3), torch.tensor([0, 1, 2])),
         ValueError, "labels must be (2,), one class id per row of the logits (2, 3), got (3,)"),
    case("token labels shorter",
         lambda: ca.TokenClassificationHead(16, 3).loss(torch.randn(2, 5, 3), torch.zeros(2, 4, dtype=torch.long)),
         ValueError, "labels must be (2, 5), one class id per row of the logits (2, 5, 3), got (2, 4)"),
    case("token key_mask shorter", lambda: ca.TokenClassificationHead(16, 3).loss(
        torch.randn(2, 5, 3), torch.zeros(2, 5, dtype=torch.long), torch.ones(2, 4, dtype=torch.bool)),
        ValueError, "key_mask must be (B, L) = (2, 5), True/1 for real tokens; got (2, 4)"),
    case("token classes negative", lambda: ca.TokenClassificationHead(16, -1),
         ValueError, "num_classes must be an int >= 2, got -1"),
    case("tied to a Linear", lambda: ca.NextItemHead(16, 20, tied_embedding=nn.Linear(16, 20)), TypeError,
         "tied_embedding must be an nn.Embedding or None, got Linear"),
    case("no items", lambda: ca.NextItemHead(16, 0), ValueError, "num_items must be a positive int, got 0"),
    case("heads a list", lambda: ca.MultiTaskModel(encoder(), [ca.SequenceClassificationHead(16, 3)]), TypeError,
         "heads must be a dict {task: head module}, got list"),
    case("a head that is not a module", lambda: ca.MultiTaskModel(encoder(), {"a": 3}), TypeError,
         "heads['a'] must be an nn.Module, got int"),
    case("encoder a str", lambda: ca.MultiTaskModel("encoder", one_head()),
         TypeError, "encoder must be an nn.Module, got str"),
    case("loss weight nan", lambda: ca.MultiTaskModel(encoder(), one_head(), {"a": NAN}), ValueError,
         "loss_weights['a'] must be a finite number in [0, inf), got nan"),
    case("loss weight str", lambda: ca.MultiTaskModel(encoder(), one_head(), {"a": "2"}), TypeError,
         "loss_weights['a'] must be a number, got '2' (str)"),
    case("loss weight negative", lambda: ca.MultiTaskModel(encoder(), one_head(), {"a": -1.0}), ValueError,
         "loss_weights['a'] must be a finite number in [0, inf), got -1.0"),
    case("loss weights a list", lambda: ca.MultiTaskModel(encoder(), one_head(), [1.0]), TypeError,
         "loss_weights must be a dict {task: weight} or None, got list"),
    case("labels a tensor",
         lambda: ca.MultiTaskModel(encoder(), one_head())(ids(), labels=torch.zeros(2, dtype=torch.long)),
         TypeError, "labels must be a dict {task: labels} or None, got Tensor"),
    case("num_features float", lambda: ca.LinearPerTask(2.0, {"a": 2}),
         TypeError, "num_features must be a positive int, got 2.0 (float)"),
    case("num_classes a list", lambda: ca.LinearPerTask(4, [2]),
         TypeError, "num_classes must be a dict {task: number of classes}, got list"),
    case("num_classes float", lambda: ca.LinearPerTask(4, {"a": 2.0}),
         TypeError, "num_classes['a'] must be an int >= 2, got 2.0 (float)"),
    case("features a list", lambda: ca.LinearPerTask(4, {"a": 2})([[1.0] * 4]),
         TypeError, "features must be a torch.Tensor (N, 4), got list"),
    case("features integer", lambda: ca.LinearPerTask(4, {"a": 2})(torch.ones(3, 4, dtype=torch.long)), TypeError,
         "features must hold floating-point values, got dtype torch.int64"),
    case("linear label outside the classes",
         lambda: ca.LinearPerTask(4, {"a": 2})(torch.ones(3, 4), {"a": torch.tensor([0, 1, 2])}),
         ValueError, "labels must lie in [0, 2) or be -100 (ignored), got values from 0 to 2"),
])
def test_heads(call, error, message):
    check(call, error, message)


# --- text -------------------------------------------------------------------------------------


@pytest.mark.parametrize("call, error, message", [
    case("words one str", lambda: text.WordVocab("hello"), TypeError,
         "words must be a sequence of strings, got a single str; wrap it in a list"),
    case("words of ints", lambda: text.WordVocab([1, 2]), TypeError, "words[0] must be a str, got int"),
    case("build from one str", lambda: text.WordVocab.build("hello world"), TypeError,
         "texts must be a sequence of strings, got a single str; wrap it in a list"),
    case("max_size negative", lambda: text.WordVocab.build(["a b c"], max_size=-1), ValueError,
         "max_size must be a non-negative int, got -1"),
    case("max_size float", lambda: text.WordVocab.build(["a b c"], max_size=1.5), TypeError,
         "max_size must be a non-negative int, got 1.5 (float)"),
    case("min_count bool", lambda: text.WordVocab.build(["a b c"], min_count=True), TypeError,
         "min_count must be a positive int, got True (bool)"),
    case("min_count float", lambda: text.WordVocab.build(["a b c"], min_count=1.0), TypeError,
         "min_count must be a positive int, got 1.0 (float)"),
    case("encode max_len negative", lambda: vocab().encode(["a b c"], max_len=-1), ValueError,
         "max_len must be a positive int, got -1"),
    case("encode max_len zero", lambda: vocab().encode(["a b c"], max_len=0),
         ValueError, "max_len must be a positive int, got 0"),
    case("encode max_len float", lambda: vocab().encode(["a b c"], max_len=2.5), TypeError,
         "max_len must be a positive int, got 2.5 (float)"),
    case("encode add_cls str", lambda: vocab().encode(["a b c"], add_cls="no"), TypeError,
         "add_cls must be True or False, got 'no' (str)"),
    case("decode negative id", lambda: vocab().decode([-1]), ValueError, "ids[0] must be a non-negative int, got -1"),
    case("decode id too large", lambda: vocab().decode([99]),
         ValueError, "ids[0] must be a word id in [0, 7) (len(vocab)), got 99"),
    case("decode a matrix", lambda: vocab().decode(torch.full((2, 2), 3)),
         ValueError, "ids must be 1-D, got shape (2, 2)"),
    case("decode a float id", lambda: vocab().decode([1.5]),
         TypeError, "ids[0] must be a non-negative int, got 1.5 (float)"),
    case("bag_of_words vocab list", lambda: text.bag_of_words(["a"], ["a"]),
         TypeError, "vocab must be a WordVocab, got list"),
    case("LengthBatches labels list", lambda: text.LengthBatches(vocab(), ["a"], [torch.zeros(1)]), TypeError,
         "labels must be a dict {task: (N,) tensor}, got list"),
    case("LengthBatches batch_size float", lambda: text.LengthBatches(vocab(), ["a"], {}, batch_size=2.0), TypeError,
         "batch_size must be a positive int, got 2.0 (float)"),
    case("LengthBatches seed str", lambda: text.LengthBatches(vocab(), ["a"], {}, seed="x"), TypeError,
         "seed must be an int, got 'x' (str)"),
    case("LengthBatches vocab None", lambda: text.LengthBatches(None, ["a"], {}),
         TypeError, "vocab must be a WordVocab, got NoneType"),
])
def test_text(call, error, message):
    check(call, error, message)


# --- ranking metrics ------------------------------------------------------------------------------


def ranks(**kw):
    return recsys.full_ranks(torch.randn(2, 3), torch.tensor([0, 1]), **kw)


@pytest.mark.parametrize("call, error, message", [
    case("scores a list", lambda: recsys.full_ranks([[1.0]], torch.tensor([0])), TypeError,
         "scores must be a torch.Tensor (N, num_items), got list"),
    case("integer scores", lambda: recsys.full_ranks(torch.ones(1, 3, dtype=torch.long), torch.tensor([0])), TypeError,
         "scores must hold floating-point values, got dtype torch.int64"),
    case("float targets", lambda: recsys.full_ranks(torch.randn(2, 3), torch.tensor([0.0, 1.0])), TypeError,
         "target must hold integers, got dtype torch.float32"),
    case("float exclude", lambda: ranks(exclude=torch.zeros(2, 3)), TypeError,
         "exclude must hold booleans or 0/1 integers, got dtype torch.float32"),
    case("exclude a list", lambda: ranks(exclude=[[1]]),
         TypeError, "exclude must be a torch.Tensor (N, 3) bool or (N, L) item ids, got list"),
    case("num_negatives float", lambda: recsys.sampled_ranks(torch.randn(2, 5), torch.tensor([0, 1]), 2.0), TypeError,
         "num_negatives must be a positive int, got 2.0 (float)"),
    case("generator an int", lambda: recsys.sampled_ranks(torch.randn(2, 5), torch.tensor([0, 1]), 2, generator=3),
         TypeError, "generator must be a torch.Generator or None, got int"),
    case("k float", lambda: recsys.hit_rate(torch.tensor([1, 2]), 2.0),
         TypeError, "k must be a positive int, got 2.0 (float)"),
    case("k bool", lambda: recsys.hit_rate(torch.tensor([1, 2]), True),
         TypeError, "k must be a positive int, got True (bool)"),
    case("float ranks", lambda: recsys.hit_rate(torch.tensor([1.5, 2.0]), 2),
         TypeError, "ranks must hold integers, got dtype torch.float32"),
    case("NaN ranks", lambda: recsys.ndcg(torch.tensor([NAN, 1.0]), 2),
         TypeError, "ranks must hold integers, got dtype torch.float32"),
    case("ranks a list", lambda: recsys.hit_rate([1, 2], 2), TypeError, "ranks must be a torch.Tensor (N,), got list"),
])
def test_recsys(call, error, message):
    check(call, error, message)


# --- tools: profiling, explore, interpret, plotting, runtime --------------------------------------


def layers():
    return [torch.rand(2, 2, 3, 3)]


@pytest.mark.parametrize("call, error, message", [
    case("repeat float", lambda: profiling.median_time(abs, 1, repeat=2.5),
         TypeError, "repeat must be a positive int, got 2.5 (float)"),
    case("warmup bool", lambda: profiling.median_time(abs, 1, warmup=True), TypeError,
         "warmup must be a non-negative int, got True (bool)"),
    case("NaN size", lambda: profiling.growth_exponent([1, 2, NAN], [1.0, 2.0, 3.0]), ValueError,
         "sizes and costs must be positive (and finite) to fit on log-log axes, got sizes [1.0, 2.0, nan]"),
    case("infinite size", lambda: profiling.growth_exponent([1, 2, INF], [1.0, 2.0, 3.0]), ValueError,
         "sizes and costs must be positive (and finite) to fit on log-log axes, got sizes [1.0, 2.0, inf]"),
    case("sizes of str", lambda: profiling.growth_exponent(["a", "b"], [1.0, 2.0]), TypeError,
         "sizes must be a sequence of numbers, got ['a', 'b']"),
    case("sizes None", lambda: profiling.growth_exponent(None, [1.0, 2.0]),
         TypeError, "sizes must be a sequence of numbers, got None"),
    case("synchronize unknown device", lambda: profiling.synchronize("gpu"), ValueError,
         "device must be a torch.device or a device name such as 'cpu' or 'cuda', got 'gpu'"),
    case("synchronize float", lambda: profiling.synchronize(3.5),
         TypeError, "device must be a torch.device or a device name"),
    case("example float", lambda: explore.stack_attentions(layers(), 0.5),
         TypeError, "example must be an int, got 0.5 (float)"),
    case("example bool", lambda: explore.stack_attentions(layers(), True),
         TypeError, "example must be an int, got True (bool)"),
    case("highlight not a pair", lambda: explore.plot_attention_grid(layers(), highlight=[0]), TypeError,
         "highlight takes (layer, head) pairs, got 0"),
    case("highlight float", lambda: explore.plot_attention_grid(layers(), highlight=[(0.5, 0)]), TypeError,
         "highlight layer must be an int, got 0.5 (float)"),
    case("size negative", lambda: explore.plot_attention_grid(layers(), size=-1), ValueError,
         "size must be a finite number in (0, inf), got -1.0"),
    case("tokens one str", lambda: explore.plot_attention_grid(layers(), tokens="abc"), TypeError,
         "tokens must be a list of strings, got a single str"),
    case("sentence an int", lambda: explore.sentence_attention(None, None, 3),
         TypeError, "sentence must be a str, got int"),
    case("weights a list of lists", lambda: ca.plot_attention([["a", "b"]]), TypeError,
         "weights must be a tensor or an array of numbers, got list"),
    case("empty weights", lambda: ca.plot_attention(torch.zeros(0, 0)), ValueError,
         "plot_attention needs one non-empty (L, S) matrix, got shape (0, 0)"),
    case("NaN weights", lambda: ca.plot_attention(torch.tensor([[NAN, 1.0]])), ValueError,
         "weights must be finite attention weights, got NaN or inf"),
    case("annotate str", lambda: ca.plot_attention(torch.rand(2, 2), annotate="no"), TypeError,
         "annotate must be True or False, got 'no' (str)"),
    case("colorbar int", lambda: ca.plot_attention(torch.rand(2, 2), colorbar=0),
         TypeError, "colorbar must be True or False, got 0 (int)"),
    case("queries one str", lambda: ca.plot_attention(torch.rand(2, 2), queries="ab"), TypeError,
         "queries must be a list of labels, got a single str"),
])
def test_tools(call, error, message):
    check(call, error, message)
    plt.close("all")


def test_attention_explorer():
    pytest.importorskip("ipywidgets")
    check(lambda: explore.attention_explorer(encoder(), None, ["a"], layer=0.5), TypeError,
          "layer must be an int, got 0.5 (float)")
    check(lambda: explore.attention_explorer(encoder(), None, "abc"), TypeError,
          "sentences must be a list of strings, got a single str; wrap it in a list")


@pytest.mark.parametrize("call, error, message", [
    case("fit on a GPU that is not there", lambda: fit(device="cuda"), ValueError,
         "device is 'cuda' but this machine has no CUDA device; course_attn.device() picks the best one it has"),
    case("time on a GPU that is not there", lambda: profiling.median_time(abs, 1, device="cuda"), ValueError,
         "device is 'cuda' but this machine has no CUDA device"),
])
def test_missing_gpu(call, error, message):
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    check(call, error, message)


def test_valid_inputs_that_were_refused():
    # numpy integers are ints, and any integer dtype holds token ids and targets
    a, b = ca.seed_everything(np.int64(3)), ca.seed_everything(3)
    assert torch.equal(torch.rand(3, generator=a), torch.rand(3, generator=b))
    data = sequences.long_range_recall(np.int64(4), np.int64(10))
    assert data["input_ids"].shape == (4, 10)
    model, tokens = encoder(), ids()
    torch.testing.assert_close(model(tokens.to(torch.int16)).last_hidden_state, model(tokens).last_hidden_state)
    scores = torch.randn(2, 5)
    assert torch.equal(recsys.full_ranks(scores, torch.tensor([1, 2], dtype=torch.int16)),
                       recsys.full_ranks(scores, torch.tensor([1, 2])))


# --- pretrained BERT ----------------------------------------------------------------------------


def test_from_hf_bert_names_the_fix_for_a_task_model():
    transformers = pytest.importorskip("transformers")
    config = transformers.BertConfig(vocab_size=60, hidden_size=24, num_hidden_layers=1, num_attention_heads=3,
                                     intermediate_size=40, max_position_embeddings=32, num_labels=2)
    classifier = transformers.BertForSequenceClassification(config)
    check(lambda: ca.pretrained.from_hf_bert(classifier), TypeError,
          "model must be a bare BertModel, got BertForSequenceClassification, which adds a task head; "
          "pass its encoder: from_hf_bert(model.bert)")
    encoder = ca.pretrained.from_hf_bert(classifier.bert)  # the fix it names
    ids = torch.randint(0, 60, (1, 6))
    with torch.no_grad():
        torch.testing.assert_close(encoder(ids).last_hidden_state, classifier.bert.eval()(ids).last_hidden_state,
                                   atol=1e-5, rtol=1e-5)


def test_other_architectures_are_not_read_as_bert():
    transformers = pytest.importorskip("transformers")
    roberta = transformers.RobertaModel(transformers.RobertaConfig(
        vocab_size=60, hidden_size=24, num_hidden_layers=1, num_attention_heads=3, intermediate_size=40,
        max_position_embeddings=34))
    # same parameter names as BERT, but positions start at padding_idx + 1: loading it would be silently wrong
    check(lambda: ca.pretrained.from_hf_bert(roberta), ValueError,
          "only BERT models are supported (model_type 'bert'), got model_type 'roberta'")


@pytest.mark.parametrize("call, error, message", [
    case("config a list", lambda: ca.pretrained.bert_config([1]), TypeError,
         "hf_config must be a transformers BertConfig or the dict of a config.json, got list"),
    case("config without sizes", lambda: ca.pretrained.bert_config({"hidden_act": "gelu"}), ValueError,
         "the BERT config lacks ['vocab_size', 'hidden_size'"),
    case("model a str", lambda: ca.pretrained.from_hf_bert("bert"),
         TypeError, "model must be a transformers BertModel, got str"),
    case("encoder None", lambda: ca.pretrained.load_bert_state_dict(None, {}), TypeError,
         "encoder must be a TransformerEncoder, got NoneType"),
    case("state dict a list", lambda: ca.pretrained.load_bert_state_dict(encoder(), [1]), TypeError,
         "state_dict must be a dict of tensors, got list"),
    case("batch_size float", lambda: ca.pretrained.sentence_embeddings(encoder(), None, ["a"], batch_size=2.0),
         TypeError, "batch_size must be a positive int, got 2.0 (float)"),
    case("max_length zero", lambda: ca.pretrained.sentence_embeddings(encoder(), None, ["a"], max_length=0), ValueError,
         "max_length must be a positive int, got 0"),
    case("sentences a generator", lambda: ca.pretrained.sentence_embeddings(encoder(), None, (s for s in ["a"])),
         TypeError, "sentences must be a list of strings (wrap a single sentence in a list)"),
    case("unknown device", lambda: ca.pretrained.load_minilm(device="gpu"), ValueError,
         "device must be a torch.device or a device name such as 'cpu' or 'cuda', got 'gpu'"),
])
def test_pretrained(call, error, message):
    check(call, error, message)


def test_state_dicts_that_do_not_fit():
    transformers = pytest.importorskip("transformers")
    config = transformers.BertConfig(vocab_size=60, hidden_size=24, num_hidden_layers=2, num_attention_heads=3,
                                     intermediate_size=40, max_position_embeddings=32)
    state = transformers.BertModel(config).state_dict()
    one_layer = ca.TransformerEncoder(ca.pretrained.bert_config(config.to_dict() | {"num_hidden_layers": 1}))
    check(lambda: ca.pretrained.load_bert_state_dict(one_layer, state), ValueError,
          "the state dict has 16 parameters the encoder lacks, e.g. ['layers.1.attn.k_proj.bias'")
    wider = ca.TransformerEncoder(ca.pretrained.bert_config(config.to_dict() | {"intermediate_size": 48}))
    check(lambda: ca.pretrained.load_bert_state_dict(wider, state), ValueError,
          "layers.0.ff.fc1.weight is (40, 24) in the state dict but the encoder needs (48, 24)")


# --- data generators --------------------------------------------------------------------------------


@pytest.mark.parametrize("call, error, message", [
    case("headlines_per_day nan", lambda: finance.headline_stream(40, headlines_per_day=NAN), ValueError,
         "headlines_per_day must be a finite number in (0, inf), got nan"),
    case("headlines_per_day inf", lambda: finance.headline_stream(40, headlines_per_day=INF), ValueError,
         "headlines_per_day must be a finite number in (0, inf), got inf"),
    case("headlines_per_day bool", lambda: finance.headline_stream(40, headlines_per_day=True), TypeError,
         "headlines_per_day must be a number, got True (bool)"),
    case("headlines_per_day str", lambda: finance.headline_stream(40, headlines_per_day="4"), TypeError,
         "headlines_per_day must be a number, got '4' (str)"),
    case("event_length an int", lambda: finance.headline_stream(40, event_length=3), TypeError,
         "event_length must be a (shortest, longest) tuple of ints, got 3"),
    case("event_length of three", lambda: finance.headline_stream(40, event_length=(1, 2, 3)), TypeError,
         "event_length must be a (shortest, longest) tuple of ints, got (1, 2, 3)"),
    case("sentiment_probs nan", lambda: finance.financial_headlines(5, sentiment_probs=(NAN, 0.5, 0.5)), ValueError,
         "sentiment_probs[0] must be a finite number in [0, 1], got nan"),
    case("sentiment_probs str", lambda: finance.financial_headlines(5, sentiment_probs="abc"), TypeError,
         "sentiment_probs must be 3 numbers (negative, neutral, positive), got 'abc'"),
    case("sentiment_probs of two", lambda: finance.financial_headlines(5, sentiment_probs=(0.5, 0.5)), TypeError,
         "sentiment_probs must be 3 numbers (negative, neutral, positive), got (0.5, 0.5)"),
])
def test_data(call, error, message):
    check(call, error, message)
