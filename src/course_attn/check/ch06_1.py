"""Checks for the exercises of chapter 6.1, customer service."""

from __future__ import annotations

import math

import torch

from ._report import exercise, expect_close, expect_number, fail, test


def _class_f1(pred: list[int], truth: list[int], c: int) -> float:
    """F1 of class ``c``: 2·TP / (2·TP + FP + FN), 0 when there is no true positive."""
    tp = sum(p == c and t == c for p, t in zip(pred, truth))
    fp = sum(p == c and t != c for p, t in zip(pred, truth))
    fn = sum(p != c and t == c for p, t in zip(pred, truth))
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def _f1_over(pred: list[int], truth: list[int], classes) -> float:
    """The F1 of each of ``classes``, averaged."""
    return sum(_class_f1(pred, truth, c) for c in classes) / len(classes)


def _macro_f1_loop(pred: list[int], truth: list[int]) -> float:
    """The brute-force answer: the F1 of every class seen in ``truth`` or ``pred``, averaged."""
    return _f1_over(pred, truth, set(pred) | set(truth))


@exercise("06_1_customer_service", 1, "macro-F1 by hand")
def macro_f1(macro_f1):
    """``macro_f1(pred (N,), truth (N,)) -> float``: the F1 of each class, averaged over the classes."""
    def check_case(pred, truth, label):
        p, t = pred.tolist(), truth.tolist()
        expected = _macro_f1_loop(p, t)
        with test(f"{label}: {expected:.4f}"):
            got = macro_f1(pred, truth)
            typical = {  # sentence: what a typical mistake returns
                "that is the accuracy (micro-F1): compute an F1 per class, then average them":
                    sum(a == b for a, b in zip(p, t)) / len(p),
                "a class that the model never predicts still counts, with F1 = 0": _f1_over(p, t, set(p)),
                "a class that occurs only in the predictions counts too, with F1 = 0": _f1_over(p, t, set(t)),
            }
            for sentence, wrong in typical.items():
                if (isinstance(got, float) and math.isclose(got, wrong, rel_tol=1e-6)
                        and not math.isclose(wrong, expected, rel_tol=1e-6)):
                    fail(f"macro_f1 ({label}) is {got!r}, expected {expected!r}\nhint: {sentence}")
            expect_number(got, expected, rel_tol=1e-6, what=f"macro_f1 ({label})")

    check_case(torch.tensor([0, 0, 1, 1, 2]), torch.tensor([0, 1, 1, 1, 2]), "the example of the exercise")
    truth = torch.tensor([1] * 82 + [0] * 18)
    check_case(torch.ones(100, dtype=torch.long), truth, "always 'yes' on 82 yes and 18 no")
    check_case(torch.tensor([0, 2, 1, 2]), torch.tensor([0, 1, 1, 1]), "a class that is only predicted")
    for n, classes in ((50, 2), (200, 5), (7, 5)):
        pred, truth = torch.randint(0, classes, (n,)), torch.randint(0, classes, (n,))
        check_case(pred, truth, f"{n} random labels of {classes} classes")


def _keep_mask_loop(importance: torch.Tensor, allowed: torch.Tensor, k: int) -> torch.Tensor:
    """The brute-force answer: in each row, drop the ``k`` allowed positions of highest importance."""
    keep = torch.ones_like(allowed)
    for r in range(importance.shape[0]):
        candidates = [j for j in range(importance.shape[1]) if allowed[r, j]]
        candidates.sort(key=lambda j: -float(importance[r, j]))
        for j in candidates[:k]:
            keep[r, j] = False
    return keep


@exercise("06_1_customer_service", 2, "occlusion: which tokens to remove")
def keep_mask(keep_mask):
    """``keep_mask(importance (N, T), allowed (N, T), k) -> (N, T)`` bool: ``False`` on the ``k`` allowed
    positions of highest importance in each row (all allowed ones if there are fewer), ``True`` elsewhere."""
    def hints(importance, allowed, k):
        return {
            "True means kept: return the mask of what stays, not of what you remove":
                ~_keep_mask_loop(importance, allowed, k),
            "remove the most important positions (the highest importance), not the least":
                _keep_mask_loop(-importance, allowed, k),
            "never remove a position that is not allowed (padding, [CLS])":
                _keep_mask_loop(importance, torch.ones_like(allowed), k),
            "rank only the allowed positions (mask the others with -inf before you take the top k)":
                _keep_mask_loop(importance, torch.ones_like(allowed), k) | ~allowed,
        }

    importance = torch.tensor([[0.1, 0.5, 0.2, 0.15, 0.05], [0.3, 0.1, 0.4, 0.2, 0.0]])
    allowed = torch.tensor([[False, True, True, True, True], [False, True, True, True, False]])
    with test("the example of the exercise: k = 2"):
        expect_close(keep_mask(importance, allowed, 2), _keep_mask_loop(importance, allowed, 2),
                     what="keep_mask(importance, allowed, 2)", hints=hints(importance, allowed, 2))
    importance = torch.rand(64, 12)
    lengths = torch.randint(1, 13, (64,))
    allowed = torch.arange(12) < lengths[:, None]  # (N, T): real tokens first, then padding
    allowed[:, 0] = False  # the first position is special ([CLS])
    for k in (1, 3, 8):
        with test(f"64 rows of 1 to 12 tokens, padding and [CLS] not allowed, k = {k}: agrees with a loop"):
            expect_close(keep_mask(importance, allowed, k), _keep_mask_loop(importance, allowed, k),
                         what=f"keep_mask(importance, allowed, {k})", hints=hints(importance, allowed, k))
    with test("the inputs are left unchanged"):
        before = (importance.clone(), allowed.clone())
        keep_mask(importance, allowed, 3)
        expect_close(importance, before[0], what="importance after keep_mask")
        expect_close(allowed, before[1], what="allowed after keep_mask")
