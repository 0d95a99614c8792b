"""Checks for the exercises of chapter 6.4, beyond text: images and sound."""

from __future__ import annotations

import torch

from ._report import exercise, expect_close, expect_tensor, fail, test


def _frame_orders(got, x):
    """For each series, where each output frame came from: ``(B, T)`` long, or ``None`` if a frame has no source."""
    match = (got[:, :, None, :] == x[:, None, :, :]).all(-1)  # (B, T out, T in)
    if not (match.sum(-1) == 1).all() or not (match.sum(-2) == 1).all():
        return None
    return match.int().argmax(-1)


@exercise("06_4_beyond_text", 1, "do our listeners care about order?")
def shuffle_frames(shuffle_frames):
    """``shuffle_frames(frames (B, T, F), generator) -> (B, T, F)``: a random order of the frames per series."""
    B, T, n_bins = 16, 12, 5
    x = torch.randn(B, T, n_bins)

    def shuffled(seed, clips=x):
        return shuffle_frames(clips, torch.Generator().manual_seed(seed))

    with test(f"frames of shape {(B, T, n_bins)}: a tensor of the same shape and dtype"):
        expect_tensor(shuffled(1), shape=x.shape, dtype=x.dtype, what="shuffle_frames(x, generator)")
    with test("each series keeps its own frames (compared sorted along time)"):
        expect_close(shuffled(1).sort(1).values, x.sort(1).values, atol=0, rtol=0,
                     what="shuffle_frames(x, generator).sort(1).values", hints={
            "shuffle within each clip (along dim 1), not across the batch": x.flatten(0, 1)[
                torch.randperm(B * T)].view(B, T, n_bins).sort(1).values,
        })
    with test("whole frames move: every frequency bin of a frame goes with it"):
        if _frame_orders(shuffled(1), x) is None:
            fail("some output frame is not a frame of the same series: use one permutation of the T frames per series "
                 "for all its bins, x[torch.arange(B)[:, None], order] with order of shape (B, T)")
    with test("most frames move, and each series gets its own order"):
        order = _frame_orders(shuffled(1), x)
        if order is None:
            fail("see the test above: the output frames are not the clips' frames")
        moved = (order != torch.arange(T)).float().mean().item()
        if moved < 0.5:
            fail(f"only {moved:.0%} of the frames moved; a random order of {T} frames moves about "
                 f"{1 - 1 / T:.0%} of them")
        if (order == order[0]).all():
            fail("every series got the same order: draw one permutation per series, e.g. "
                 "torch.rand(B, T, generator=generator).argsort(dim=1)")
    with test("the order comes from the generator: the same seed gives the same order, another seed another"):
        first, again, other = shuffled(1), shuffled(1), shuffled(2)
        if not torch.equal(first, again):
            fail("two calls with torch.Generator().manual_seed(1) gave different orders: draw the random "
                 "numbers with generator=generator")
        if torch.equal(first, other):
            fail("seeds 1 and 2 gave the same order: draw the random numbers with generator=generator")
    with test("every order is equally likely: frame 0 lands anywhere; frame 1 rarely stays right after it"):
        many = torch.arange(5.0).repeat(4000, 1)[..., None]  # (4000, 5, 1): frame t holds the value t
        order = expect_tensor(shuffled(3, many), shape=many.shape, what="shuffle_frames of 4000 clips")[..., 0]
        where0 = (order == 0).float().argmax(1)  # (4000,) the new position of frame 0
        counts = torch.bincount(where0, minlength=5)
        if ((counts - 800).abs() > 200).any():
            fail(f"frame 0 ended at positions 0 … 4 this often: {counts.tolist()}, expected about 800 each")
        follows = (order[:, 1:] == order[:, :-1] + 1) & (order[:, :-1] == 0)
        share = follows.any(1).float().mean().item()
        if share > 0.35:
            fail(f"frame 1 still follows frame 0 in {share:.0%} of the series (a random order: 20%); a shift "
                 "such as torch.roll keeps the order; draw a random permutation")
    with test("the frames passed in are left unchanged"):
        before = x.clone()
        shuffled(4)
        expect_close(x, before, atol=0, rtol=0, what="the spectrograms after the call")
    with test("one frame per series: nothing to shuffle, the series come back as they are"):
        one = x[:, :1]
        expect_close(shuffled(5, one), one, atol=0, rtol=0, what="shuffle_frames(x[:, :1], generator)")


# ----------------------------------------------------------------------------- zero_patches


def _zeroed(images, keep, patch):
    """The reference: every pixel of a removed patch (``keep`` False, row-major patches) set to 0."""
    B, H, W = images.shape
    grid = keep.reshape(B, H // patch, W // patch)  # (B, rows, cols)
    return images * grid.repeat_interleave(patch, 1).repeat_interleave(patch, 2)  # (B, H, W)


@exercise("06_4_beyond_text", 2, "remove image patches for a CNN")
def zero_patches(zero_patches):
    """``zero_patches(images (B, H, W), keep (B, N) bool, patch) -> (B, H, W)``: the pixels of every patch with
    ``keep`` False set to 0, the patches numbered row by row as ``patchify`` numbers them."""
    gen = torch.Generator().manual_seed(0)
    B, H, W, p = 5, 6, 9, 3  # a 2 x 3 grid of patches: rows and columns cannot be confused
    images = torch.rand(B, H, W, generator=gen) + 0.5  # no pixel is 0 to begin with
    keep = torch.rand(B, (H // p) * (W // p), generator=gen) < 0.5  # (B, 6)
    keep[0] = torch.tensor([True, False, True, True, True, False])  # not symmetric under transposition

    def call(x=None, k=keep, patch=p):
        return zero_patches(images.clone() if x is None else x, k, patch)  # a copy: an edit in place stays local

    with test(f"images {(B, H, W)}, keep {tuple(keep.shape)}, patch {p}: a tensor of the images' shape and dtype"):
        expect_tensor(call(), shape=images.shape, dtype=images.dtype, what=f"zero_patches(images, keep, {p})")
    with test("keep all True: the images come back unchanged; keep all False: all zeros"):
        expect_close(call(k=torch.ones_like(keep)), images, atol=0, rtol=0, what="with every patch kept")
        expect_close(call(k=torch.zeros_like(keep)), torch.zeros_like(images), atol=0, rtol=0,
                     what="with every patch removed")
    with test("the right pixels are zeroed: patch k is grid row k // (W / patch), column k % (W / patch)"):
        columns_first = keep.reshape(B, W // p, H // p).transpose(1, 2).reshape(B, -1)
        expect_close(call(), _zeroed(images, keep, p), atol=0, rtol=0, what=f"zero_patches(images, keep, {p})",
                     hints={
                         "keep is True for the patches that stay: zero the others (~keep)": _zeroed(images, ~keep, p),
                         "patches are numbered row by row, as patchify numbers them, not column by column":
                             _zeroed(images, columns_first, p),
                         "each image has its own keep row: use keep[b] for image b": _zeroed(
                             images, keep[:1].expand(B, -1), p),
                     })
    with test("the patch size is an argument: 2 x 2 patches of a 4 x 4 image"):
        small = torch.arange(1.0, 17.0).reshape(1, 4, 4)
        keep4 = torch.tensor([[True, False, False, True]])
        expect_close(call(small, keep4, 2), _zeroed(small, keep4, 2), atol=0, rtol=0,
                     what="zero_patches(4 x 4 image, keep, 2)")
    with test("the images passed in are left unchanged (removing is a copy, not an edit)"):
        passed = images.clone()
        zero_patches(passed, keep, p)
        if not torch.equal(passed, images):
            fail("zero_patches changed its input images; return a new tensor (images * mask, or clone first)")
