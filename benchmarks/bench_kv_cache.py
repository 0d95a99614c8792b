"""Greedy generation from a small decoder-only Transformer with and without the KV cache.

Without the cache every step runs the whole sequence again (quadratic work in the number of
generated tokens); with it every step runs only the newest token against the cached keys and
values. Both must produce identical tokens; the script checks that, then reports the speed-up
and how it grows with the number of generated tokens.

    python benchmarks/bench_kv_cache.py
    python benchmarks/bench_kv_cache.py --new-tokens 64 128 256 --position rope
"""

from __future__ import annotations

import argparse
from functools import partial

import torch
from tqdm import tqdm

import course_attn as ca
from course_attn.profiling import median_time


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--new-tokens", type=int, nargs="+", default=[64, 128, 256, 512])
    parser.add_argument("--prompt", type=int, default=16)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--position", default="learned", choices=ca.positional.SCHEMES)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per setting; the median is reported")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    ca.seed_everything(0)
    config = ca.TransformerConfig(vocab_size=1000, d_model=128, num_heads=4, num_layers=4, dropout=0.0,
                                  position=args.position, max_len=args.prompt + max(args.new_tokens))
    model = ca.TransformerDecoder(config, cross_attention=False).eval()
    prompt = torch.randint(0, config.vocab_size, (args.batch, args.prompt))
    model.generate(prompt, 4)  # warm-up

    print(f"decoder: {config.num_layers} layers, d={config.d_model}, {config.num_heads} heads, "
          f"position={args.position}; batch {args.batch}, prompt {args.prompt} tokens, "
          f"{args.threads} threads, torch {torch.__version__}")
    print(f"{'new tokens':>10} {'no cache s':>11} {'cache s':>9} {'speed-up':>9}   (medians of {args.repeat} runs)")
    for n in tqdm(args.new_tokens, desc="lengths", leave=False):
        if not torch.equal(model.generate(prompt, n, use_cache=True), model.generate(prompt, n, use_cache=False)):
            raise AssertionError(f"cached and uncached generation differ for {n} new tokens")
        t_cache = median_time(partial(model.generate, use_cache=True), prompt, n, repeat=args.repeat, warmup=0)
        t_plain = median_time(partial(model.generate, use_cache=False), prompt, n, repeat=args.repeat, warmup=0)
        tqdm.write(f"{n:>10} {t_plain:>11.2f} {t_cache:>9.2f} {t_plain / t_cache:>8.1f}x")
    print("identical tokens with and without the cache at every length")


if __name__ == "__main__":
    main()
