"""course_attn: the package behind the course on Transformer attention.

The public names a chapter needs::

    import course_attn as ca
    ca.device()                                   # CUDA, then MPS, then CPU
    out, w = ca.scaled_dot_product_attention(q, k, v, mask, need_weights=True)
    mha = ca.MultiHeadAttention(embed_dim=64, num_heads=4)
    ca.masks.causal_mask(5)                       # True = may attend
    enc = ca.TransformerEncoder(ca.TransformerConfig(vocab_size=100, position="rope"))
    encoder, tokenizer = ca.pretrained.load_minilm()   # a real pretrained BERT-style model
"""

from . import check, errors, explore, interpret, masks, positional, pretrained, profiling, recsys, views
from .attention import MultiHeadAttention
from .errors import show_error
from .cache import KVCache
from .config import TransformerConfig
from .functional import scaled_dot_product_attention
from .layers import DecoderBlock, EncoderBlock, FeedForward
from .models import DecoderOutput, EncoderDecoder, EncoderOutput, TransformerDecoder, TransformerEncoder
from .multitask import (
    LinearPerTask,
    MultiTaskModel,
    MultiTaskOutput,
    NextItemHead,
    SequenceClassificationHead,
    TokenClassificationHead,
    mean_pool,
)
from .plotting import plot_attention
from .runtime import device, seed_everything
from .seeds import Spread, over_seeds
from .train import History, accuracy, fit, iterate_batches

__version__ = "0.2.0"


def __getattr__(name: str):
    """``ca.baselines`` is imported on first use: it needs scikit-learn, which the rest does not."""
    if name == "baselines":
        import importlib
        return importlib.import_module(".baselines", __name__)
    raise AttributeError(f"module 'course_attn' has no attribute {name!r}")


__all__ = [
    "DecoderBlock", "DecoderOutput", "EncoderBlock", "EncoderDecoder", "EncoderOutput", "FeedForward",
    "History", "KVCache", "LinearPerTask", "MultiHeadAttention", "MultiTaskModel", "MultiTaskOutput", "NextItemHead",
    "SequenceClassificationHead", "Spread", "TokenClassificationHead", "TransformerConfig", "TransformerDecoder",
    "TransformerEncoder", "accuracy", "baselines", "check", "device", "errors", "explore", "fit", "interpret", "iterate_batches", "masks", "mean_pool",
    "over_seeds", "plot_attention", "positional", "pretrained", "profiling", "recsys", "scaled_dot_product_attention",
    "seed_everything", "show_error", "views",
]
