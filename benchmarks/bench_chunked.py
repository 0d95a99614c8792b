"""Memory-efficient ("chunked") attention at long sequence lengths, against the math and fused backends.

For each length: peak extra memory and median time of a forward pass of
``course_attn.scaled_dot_product_attention`` with ``backend="chunked"``, ``"math"`` (which
materializes the ``(B, H, L, L)`` scores) and ``"sdpa"`` (PyTorch's fused kernel), fp32, under
``torch.inference_mode()``. The math backend is skipped where its scores alone would not fit in
``--math-limit-gb``. The target of the course: at L=16384 (B=1, 8 heads, d_head=64) the chunked
backend's peak extra memory stays below 5% of one full score tensor (8.6 GB).

    python benchmarks/bench_chunked.py
    python benchmarks/bench_chunked.py --lengths 4096 16384 --repeat 3
"""

from __future__ import annotations

import argparse

import torch
from tqdm import tqdm

import course_attn as ca
from course_attn.profiling import median_time, peak_extra_bytes


def attend(q, k, v, backend):
    return ca.scaled_dot_product_attention(q, k, v, backend=backend)[0]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lengths", type=int, nargs="+", default=[2048, 4096, 8192, 16384])
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--heads", type=int, default=8)
    parser.add_argument("--head-dim", type=int, default=64)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--math-limit-gb", type=float, default=4.0,
                        help="skip the math backend where one score tensor exceeds this")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    device = torch.device(args.device)
    rows = []
    with torch.inference_mode():
        for L in tqdm(args.lengths, desc="lengths", leave=False):
            q, k, v = (torch.randn(args.batch, args.heads, L, args.head_dim, device=device) for _ in range(3))
            scores_bytes = args.batch * args.heads * L * L * 4
            for backend in ("chunked", "sdpa", "math"):
                if backend == "math" and scores_bytes > args.math_limit_gb * 2**30:
                    rows.append((L, backend, None, None, scores_bytes))
                    continue
                memory = peak_extra_bytes(attend, q, k, v, backend)
                seconds = median_time(attend, q, k, v, backend, repeat=args.repeat, warmup=1)
                rows.append((L, backend, seconds, memory, scores_bytes))
            torch.testing.assert_close(attend(q, k, v, "chunked"), attend(q, k, v, "sdpa"), atol=1e-4, rtol=1e-4)

    print(f"\nB={args.batch}, heads={args.heads}, d_head={args.head_dim}, fp32 forward, {args.threads} threads, "
          f"torch {torch.__version__}, device {device}")
    print(f"{'L':>6} {'backend':>8} {'median s':>9} {'vs sdpa':>8} {'peak extra MiB':>15} {'% of L×L scores':>16}")
    times = {(L, b): t for L, b, t, _, _ in rows}
    for L, backend, seconds, memory, scores_bytes in rows:
        if seconds is None:
            print(f"{L:>6} {backend:>8}   skipped: one (B, H, L, L) score tensor is {scores_bytes / 2**30:.1f} GiB")
            continue
        ratio = seconds / times[(L, "sdpa")]
        print(f"{L:>6} {backend:>8} {seconds:>9.3f} {ratio:>7.2f}x {memory / 2**20:>15.1f} "
              f"{100 * memory / scores_bytes:>15.2f}%")


if __name__ == "__main__":
    main()
