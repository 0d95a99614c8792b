"""Checks for the exercises of chapter 1, background: RNNs against attention."""

from __future__ import annotations

import torch
from torch import nn

from ..data import key_value_recall
from ._report import exercise, expect_close, expect_equal, expect_number, expect_tuple, test


def _answer_from_last_loop(input_ids, window, num_keys, num_values):
    """The brute-force answer: look at each of the last ``window - 1`` items one by one."""
    answers = []
    for row in input_ids.tolist():
        asked = row[-1] - num_keys * num_values
        answer = 0
        for token in row[len(row) - window:-1] if window > 1 else []:
            if token // num_values == asked:
                answer = token % num_values
        answers.append(answer)
    return torch.tensor(answers)  # (N,)


@exercise("01_background", 1, "what the last tokens can tell")
def answer_from_last(answer_from_last, *, num_keys=32, num_values=4):
    """``answer_from_last(input_ids (N, L), window) -> (N,)``: the asked value if among the last items, else 0.

    Pass the constants your function uses: ``check.answer_from_last(answer_from_last,
    num_keys=NUM_KEYS, num_values=NUM_VALUES)``.
    """
    L = 17
    data = key_value_recall(300, L, num_keys=num_keys, num_values=num_values, generator=7)
    ids, labels = data["input_ids"], data["labels"]
    for window in (L, 9, 2):
        with test(f"window = {window} of {L}: agrees with a loop over the last {window - 1} items"):
            expected = _answer_from_last_loop(ids, window, num_keys, num_values)
            expect_close(answer_from_last(ids, window), expected, what=f"answer_from_last(ids, {window})")
    with test("the whole sequence always holds the answer"):
        got = answer_from_last(ids, L)
        expect_close(got, labels, what=f"answer_from_last(ids, {L}) compared with the labels")
    with test("window = 1 sees only the question: the guess is 0 everywhere"):
        expect_close(answer_from_last(ids, 1), torch.zeros(len(ids), dtype=torch.long),
                     what="answer_from_last(ids, 1)")


@exercise("01_background", 2, "count the sequential steps")
def elman_rnn(elman_rnn):
    """``elman_rnn(x (B, L, I), rnn) -> (states (B, L, H), steps)``, the loop of ``nn.RNN``."""
    for inputs, hidden, B, lengths in [(8, 16, 3, (1, 7, 30)), (3, 5, 1, (4,))]:
        rnn = nn.RNN(inputs, hidden, batch_first=True)
        for L in lengths:
            with test(f"x of shape {(B, L, inputs)}, hidden size {hidden}: agrees with torch.nn.RNN"):
                x = torch.randn(B, L, inputs)
                states, steps = expect_tuple(elman_rnn(x, rnn), 2, names="(states, steps)")
                with torch.no_grad():
                    expected, _ = rnn(x)  # (B, L, H)
                expect_close(states, expected, what="the states")
                expect_equal(steps, L, what="the number of steps (one sequential step per token)")


@exercise("01_background", 3, "the gradient along a path of length L")
def first_input_gradient(first_input_gradient):
    """``first_input_gradient(a, L) -> float``, the derivative of ``h_L`` by ``x_1``: ``a ** (L - 1)``."""
    for a in (0.5, 0.9, 1.1, -2.0):
        for L in (1, 2, 10, 100):
            if abs(a) > 1.5 and L > 10:
                continue
            with test(f"a = {a}, L = {L}: a ** (L - 1) = {a ** (L - 1):.4g}"):
                expect_number(first_input_gradient(a, L), a ** (L - 1), rel_tol=1e-4,
                              what=f"first_input_gradient({a}, {L})")
