"""Forward-pass benchmark of course_attn.MultiHeadAttention against PyTorch's own layers.

Compared in one run, on the same input, with the same projection weights:

* ``course_attn auto``  -- ``MultiHeadAttention(backend="auto")`` (takes the fused kernel)
* ``course_attn math``  -- ``MultiHeadAttention(backend="math")`` (the readable formula)
* ``SDPA layer``        -- the same four projections around ``F.scaled_dot_product_attention``
* ``nn.MHA weights``    -- ``torch.nn.MultiheadAttention`` as called by default (``need_weights=True``)
* ``nn.MHA no weights`` -- ``torch.nn.MultiheadAttention`` with ``need_weights=False``

Times are medians over interleaved rounds (each round calls every layer once, in a fresh random
order), so that a slow moment of the machine, or the cost of re-mapping memory that the previous
layer released, hits all layers alike; ratios are taken against the SDPA layer.
Peak extra memory is what a forward allocates beyond its inputs and weights, read from the
PyTorch profiler's allocation events on the CPU or from the CUDA allocator on a GPU.

    python benchmarks/bench_attention.py                       # the defaults used in the README
    python benchmarks/bench_attention.py --lengths 128 512 --device cuda
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import statistics
import time
from datetime import date
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

import course_attn as ca
from course_attn.profiling import peak_extra_bytes, synchronize


class SDPALayer(nn.Module):
    """The reference: the projections of ``mha`` around one call of the fused kernel."""

    def __init__(self, mha: ca.MultiHeadAttention):
        super().__init__()
        self.mha = mha

    def forward(self, x):
        m, (B, L, E) = self.mha, x.shape
        H, D = m.num_heads, m.head_dim
        q = m.q_proj(x).view(B, L, H, D).transpose(1, 2)  # (B, H, L, D)
        k = m.k_proj(x).view(B, L, H, D).transpose(1, 2)
        v = m.v_proj(x).view(B, L, H, D).transpose(1, 2)
        out = F.scaled_dot_product_attention(q, k, v)  # (B, H, L, D)
        return m.out_proj(out.transpose(1, 2).reshape(B, L, E))


def build_layers(embed_dim, num_heads, device):
    torch_mha = nn.MultiheadAttention(embed_dim, num_heads, batch_first=True, device=device).eval()
    auto = ca.MultiHeadAttention.from_torch(torch_mha, backend="auto").eval()
    math = ca.MultiHeadAttention.from_torch(torch_mha, backend="math").eval()
    return {
        "course_attn auto": lambda x: auto(x)[0],
        "course_attn math": lambda x: math(x)[0],
        "SDPA layer": SDPALayer(auto),
        "nn.MHA weights": lambda x: torch_mha(x, x, x)[0],
        "nn.MHA no weights": lambda x: torch_mha(x, x, x, need_weights=False)[0],
    }


def bench_length(layers, x, device, rounds, warmup=2):
    times = {name: [] for name in layers}
    for _ in range(warmup):
        for fn in layers.values():
            fn(x)
    order = list(layers)
    for _ in range(rounds):
        random.shuffle(order)
        for name in order:
            fn = layers[name]
            synchronize(device)
            start = time.perf_counter()
            fn(x)
            synchronize(device)
            times[name].append(time.perf_counter() - start)
    memory = {name: peak_extra_bytes(fn, x, device=device) for name, fn in layers.items()}
    return {name: {"median_s": statistics.median(t), "peak_extra_bytes": memory[name]} for name, t in times.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--embed-dim", type=int, default=512)
    parser.add_argument("--heads", type=int, default=8)
    parser.add_argument("--lengths", type=int, nargs="+", default=[128, 512, 2048])
    parser.add_argument("--rounds", type=int, default=None, help="timed rounds per length (default: by length)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "attention.json")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    random.seed(0)
    device = torch.device(args.device)
    layers = build_layers(args.embed_dim, args.heads, device)
    results = {}
    with torch.inference_mode():
        for L in tqdm(args.lengths, desc="sequence lengths"):
            rounds = args.rounds or max(15, min(30, 4096 // L))
            x = torch.randn(args.batch, L, args.embed_dim, device=device)
            results[L] = bench_length(layers, x, device, rounds)

    print(f"\nB={args.batch}, d={args.embed_dim}, heads={args.heads}, fp32 forward, {args.threads} threads, "
          f"torch {torch.__version__}, device {device}")
    header = f"{'L':>5}  {'layer':<18} {'median ms':>10} {'vs SDPA':>8} {'peak extra MiB':>15} {'vs SDPA':>8}"
    print(header + "\n" + "-" * len(header))
    for L, row in results.items():
        ref = row["SDPA layer"]
        for name, r in row.items():
            r["time_vs_sdpa"] = r["median_s"] / ref["median_s"]
            r["memory_vs_sdpa"] = r["peak_extra_bytes"] / max(ref["peak_extra_bytes"], 1)
            print(f"{L:>5}  {name:<18} {1e3 * r['median_s']:>10.2f} {r['time_vs_sdpa']:>7.2f}x "
                  f"{r['peak_extra_bytes'] / 2**20:>15.1f} {r['memory_vs_sdpa']:>7.2f}x")
        speedup = row["nn.MHA weights"]["median_s"] / row["course_attn auto"]["median_s"]
        print(f"{'':>5}  course_attn auto is {speedup:.2f}x faster than nn.MultiheadAttention's default\n")

    args.out.parent.mkdir(parents=True, exist_ok=True)
    meta = {"date": date.today().isoformat(), "torch": torch.__version__, "device": str(device),
            "machine": platform.processor() or platform.machine(), "threads": args.threads,
            "batch": args.batch, "embed_dim": args.embed_dim, "heads": args.heads}
    args.out.write_text(json.dumps({"meta": meta, "results": results}, indent=2))
    print(f"results written to {args.out}")


if __name__ == "__main__":
    main()
