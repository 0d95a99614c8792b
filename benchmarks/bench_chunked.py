"""Memory-efficient ("chunked") attention against PyTorch's fused kernel: speed, then memory.

Speed: ``course_attn.scaled_dot_product_attention`` with ``backend="chunked"`` against
``backend="sdpa"`` (``F.scaled_dot_product_attention``, PyTorch's fused kernel), B=1, 8 heads,
d_head=64, fp32, at ``--speed-length`` (4096), causal and not, with each thread count of
``--threads``; forward under ``torch.inference_mode()``, and forward + backward. The two backends
alternate call by call and the median of ``--repeat`` calls is taken, so that load on the machine
hits both alike. The course's goals: chunked forward at most 1.5x the fused kernel with 1 thread and
at most 2x with 2 threads.

Memory: peak extra memory of one forward pass at each of ``--lengths``, against the math backend
(which materializes the ``(B, H, L, L)`` scores) and the fused kernel; the math backend is skipped
where its scores alone would exceed ``--math-limit-gb``.

    python benchmarks/bench_chunked.py
    python benchmarks/bench_chunked.py --threads 1 --lengths 4096 16384
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from tqdm import tqdm

import course_attn as ca
from course_attn.profiling import peak_extra_bytes

BACKENDS = ("chunked", "sdpa")


def attend(q, k, v, backend, causal=False):
    return ca.scaled_dot_product_attention(q, k, v, causal=causal, backend=backend)[0]


def forward_backward(q, k, v, backend, causal):
    out = attend(q, k, v, backend, causal)
    out.sum().backward()


def alternating_medians(calls: dict, repeat: int) -> dict:
    """Median seconds of each zero-argument call, timed in alternation after one warm-up each."""
    for call in calls.values():
        call()
    times = {name: [] for name in calls}
    for _ in range(repeat):
        for name, call in calls.items():
            start = time.perf_counter()
            call()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}


def speed(args, progress):
    L, rows = args.speed_length, []
    q, k, v = (torch.randn(args.batch, args.heads, L, args.head_dim) for _ in range(3))
    leaves = [t.clone().requires_grad_() for t in (q, k, v)]
    for threads in args.threads:
        torch.set_num_threads(threads)
        for causal in (False, True):
            with torch.inference_mode():
                forward = alternating_medians(
                    {b: lambda b=b: attend(q, k, v, b, causal) for b in BACKENDS}, args.repeat)
            backward = alternating_medians(
                {b: lambda b=b: forward_backward(*leaves, b, causal) for b in BACKENDS}, max(1, args.repeat // 2))
            rows.append((threads, causal, forward, backward))
            progress.update(1)
    with torch.inference_mode():  # the two backends compute the same thing
        torch.testing.assert_close(attend(q, k, v, "chunked", True), attend(q, k, v, "sdpa", True),
                                   atol=1e-4, rtol=1e-4)
    print(f"\nSpeed at L={L}: B={args.batch}, heads={args.heads}, d_head={args.head_dim}, fp32, "
          f"torch {torch.__version__}, median of {args.repeat} alternating calls")
    print(f"{'threads':>7} {'causal':>6} {'sdpa fwd s':>10} {'chunked fwd s':>13} {'ratio':>6} "
          f"{'sdpa fwd+bwd s':>14} {'chunked fwd+bwd s':>17} {'ratio':>6}")
    for threads, causal, fwd, bwd in rows:
        print(f"{threads:>7} {str(causal):>6} {fwd['sdpa']:>10.3f} {fwd['chunked']:>13.3f} "
              f"{fwd['chunked'] / fwd['sdpa']:>5.2f}x {bwd['sdpa']:>14.3f} {bwd['chunked']:>17.3f} "
              f"{bwd['chunked'] / bwd['sdpa']:>5.2f}x")


def memory(args, progress):
    torch.set_num_threads(max(args.threads))
    rows = []
    with torch.inference_mode():
        for L in args.lengths:
            q, k, v = (torch.randn(args.batch, args.heads, L, args.head_dim) for _ in range(3))
            scores_bytes = args.batch * args.heads * L * L * 4
            for backend in ("chunked", "sdpa", "math"):
                if backend == "math" and scores_bytes > args.math_limit_gb * 2**30:
                    rows.append((L, backend, None, scores_bytes))
                    continue
                rows.append((L, backend, peak_extra_bytes(attend, q, k, v, backend), scores_bytes))
            progress.update(1)
    print(f"\nPeak extra memory of one forward pass ({max(args.threads)} threads)")
    print(f"{'L':>6} {'backend':>8} {'peak extra MiB':>15} {'% of L×L scores':>16}")
    for L, backend, peak, scores_bytes in rows:
        if peak is None:
            print(f"{L:>6} {backend:>8}   skipped: one (B, H, L, L) score tensor is {scores_bytes / 2**30:.1f} GiB")
        else:
            print(f"{L:>6} {backend:>8} {peak / 2**20:>15.1f} {100 * peak / scores_bytes:>15.2f}%")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--speed-length", type=int, default=4096)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--lengths", type=int, nargs="*", default=[4096, 16384],
                        help="lengths for the memory table (none: skip it)")
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--heads", type=int, default=8)
    parser.add_argument("--head-dim", type=int, default=64)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--math-limit-gb", type=float, default=4.0,
                        help="skip the math backend where one score tensor exceeds this")
    args = parser.parse_args()

    torch.manual_seed(0)
    with tqdm(total=2 * len(args.threads) + len(args.lengths), desc="bench_chunked", leave=False) as progress:
        speed(args, progress)
        if args.lengths:
            memory(args, progress)


if __name__ == "__main__":
    main()
