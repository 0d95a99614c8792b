"""Checks for the exercises of chapter 6.3, recommendation."""

from __future__ import annotations

import torch

from ._report import exercise, expect_close, expect_tuple, test


def _left_padded(N, L, *, vocab=50):
    """``(input_ids (N, L), key_mask (N, L))``: histories of 0 … L items, real items at the end."""
    lengths = torch.randint(0, L + 1, (N,))
    lengths[:2] = torch.tensor([0, L])[:N]  # an empty history and a full one
    key_mask = torch.arange(L) >= L - lengths[:, None]  # (N, L)
    input_ids = torch.randint(1, vocab, (N, L)).masked_fill(~key_mask, 0)
    return input_ids, key_mask


def _keep_last_loop(key_mask, k):
    """The brute-force answer: in each row, the last ``k`` True positions."""
    out = torch.zeros_like(key_mask)
    for r, row in enumerate(key_mask.tolist()):
        real = [j for j, m in enumerate(row) if m]
        for j in real[max(0, len(real) - k):] if k > 0 else []:
            out[r, j] = True
    return out


def _keep_first_loop(key_mask, k):  # a typical mistake: the oldest k items
    out = torch.zeros_like(key_mask)
    for r, row in enumerate(key_mask.tolist()):
        for j in [j for j, m in enumerate(row) if m][:k]:
            out[r, j] = True
    return out


@exercise("06_3_recommendation", 1, "how much history does SASRec need?")
def keep_last(keep_last):
    """``keep_last(key_mask (N, L), k) -> (N, L)`` bool: only the ``k`` most recent real items stay True."""
    with test("the example of the exercise: k = 2"):
        mask = torch.tensor([[False, False, True, True, True], [True, True, True, True, True]])
        expect_close(keep_last(mask, 2), _keep_last_loop(mask, 2), what="keep_last(mask, 2)")
    _, key_mask = _left_padded(64, 12)
    L = key_mask.shape[1]
    for k in (1, 3, 10):
        with test(f"64 left-padded histories of 0 … {L} items, k = {k}: agrees with a loop over each row"):
            expect_close(keep_last(key_mask, k), _keep_last_loop(key_mask, k), what=f"keep_last(key_mask, {k})",
                         hints={
                "keep only real items: the last k positions that are also True in key_mask (key_mask & ...)":
                    (torch.arange(L) >= L - k).expand(len(key_mask), L),
                "the most recent items are the last ones: the mask is left-padded, the real items are at the end":
                    _keep_first_loop(key_mask, k),
            })
    with test(f"k = 0 keeps nothing; k = {L} and k = {L + 5} keep the whole mask"):
        for k in (0, L, L + 5):
            expect_close(keep_last(key_mask, k), _keep_last_loop(key_mask, k), what=f"keep_last(key_mask, {k})")
    with test("the key_mask passed in is left unchanged (return a copy)"):
        before = key_mask.clone()
        keep_last(key_mask, 2)
        expect_close(key_mask, before, what="key_mask after keep_last(key_mask, 2)")


def _drop_items_loop(input_ids, key_mask, remove):
    """The brute-force answer: in each row, the kept items in order, moved to the end."""
    N, L = input_ids.shape
    new_ids, new_mask = torch.zeros_like(input_ids), torch.zeros_like(key_mask)
    for r in range(N):
        kept = [int(input_ids[r, j]) for j in range(L) if key_mask[r, j] and not remove[r, j]]
        if kept:
            new_ids[r, L - len(kept):] = torch.tensor(kept, dtype=input_ids.dtype)
            new_mask[r, L - len(kept):] = True
    return new_ids, new_mask


@exercise("06_3_recommendation", 2, "does SASRec do better on the films a user liked?")
def drop_items(drop_items):
    """``drop_items(input_ids (N, L), key_mask (N, L), remove (N, L)) -> (input_ids, key_mask)``, left-padded."""
    def check_case(ids, mask, remove, what):
        new_ids, new_mask = expect_tuple(drop_items(ids, mask, remove), 2, what=what, names="(input_ids, key_mask)")
        expected_ids, expected_mask = _drop_items_loop(ids, mask, remove)
        keep = mask & ~remove
        order = keep.int().sort(dim=1, stable=True).indices
        expect_close(new_ids, expected_ids, what=f"the input_ids of {what}", hints={
            "the result must be left-padded again: move the kept items to the end, in their order "
            "(a stable sort of keep.int() along the rows)": ids.masked_fill(~keep, 0),
            "put 0 in the padding positions: .masked_fill(~new_mask, 0)": ids.gather(1, order),
        })
        expect_close(new_mask, expected_mask, what=f"the key_mask of {what}")

    with test("the example of the exercise"):
        ids = torch.tensor([[0, 5, 6, 7, 8], [1, 2, 3, 4, 9]])
        check_case(ids, ids > 0, torch.tensor([[False, False, True, False, False], [True, False, False, True, False]]),
                   "drop_items(ids, mask, drop)")
    ids, mask = _left_padded(50, 12)
    with test("50 left-padded histories of 0 … 12 items, about a third removed (some on padding): "
              "agrees with a loop over each row"):
        check_case(ids, mask, torch.rand(ids.shape) < 0.35, "drop_items(ids, mask, remove)")
    with test("nothing removed: the histories come back as they are"):
        check_case(ids, mask, torch.zeros_like(mask), "drop_items(ids, mask, nothing)")
    with test("only padding positions removed: the histories come back as they are"):
        check_case(ids, mask, ~mask, "drop_items(ids, mask, ~mask)")
    with test("everything removed: only padding (0 and False) is left"):
        check_case(ids, mask, torch.ones_like(mask), "drop_items(ids, mask, everything)")
    with test("input_ids, key_mask and remove are left unchanged (return new tensors)"):
        remove = torch.rand(ids.shape) < 0.35
        before = ids.clone(), mask.clone(), remove.clone()
        drop_items(ids, mask, remove)
        for name, now, then in zip(("input_ids", "key_mask", "remove"), (ids, mask, remove), before, strict=True):
            expect_close(now, then, what=f"{name} after the call")
