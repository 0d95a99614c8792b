"""course_attn: the package behind the course on Transformer attention.

The public names a chapter needs::

    import course_attn as ca
    ca.device()                                   # CUDA, then MPS, then CPU
    out, w = ca.scaled_dot_product_attention(q, k, v, mask, need_weights=True)
    mha = ca.MultiHeadAttention(embed_dim=64, num_heads=4)
    ca.masks.causal_mask(5)                       # True = may attend
"""

from . import masks
from .attention import MultiHeadAttention
from .functional import scaled_dot_product_attention
from .plotting import plot_attention
from .runtime import device, seed_everything

__version__ = "0.1.0"

__all__ = [
    "MultiHeadAttention",
    "device",
    "masks",
    "plot_attention",
    "scaled_dot_product_attention",
    "seed_everything",
]
