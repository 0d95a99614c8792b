"""The shared training loop: schedule, clipping, history, batching, determinism, errors."""

import pytest
import torch
from torch import nn
from torch.optim.optimizer import register_optimizer_step_pre_hook

import course_attn as ca


class Regression(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(3, 1)

    def forward(self, x, y):
        loss = nn.functional.mse_loss(self.linear(x).squeeze(-1), y)
        return type("Out", (), {"loss": loss})()


def regression_data(n=256):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, 3, generator=g)
    return {"x": x, "y": x @ torch.tensor([1.5, -2.0, 0.5]) + 0.3}


def test_fit_learns_and_records_history():
    model = Regression()
    calls = []
    history = ca.fit(model, regression_data(), epochs=30, batch_size=32, lr=0.05, warmup=5, progress=False,
                     eval_fn=lambda m: calls.append(m.training) or {"w0": m.linear.weight[0, 0].item()})
    assert len(history.step_loss) == len(history.lr) == 30 * 8
    assert history.step_loss[-1] < 1e-3 < history.step_loss[0]
    assert calls == [False] * 30, "eval_fn runs once per epoch, in eval mode"
    assert history.metric("w0")[-1] == pytest.approx(1.5, abs=0.02)
    assert not model.training


def test_warmup_then_linear_decay():
    model = Regression()
    history = ca.fit(model, regression_data(64), epochs=10, batch_size=32, lr=0.1, warmup=0.25, progress=False)
    lr = torch.tensor(history.lr)  # 20 steps, 5 of warm-up
    torch.testing.assert_close(lr[:5], 0.1 * torch.arange(1, 6) / 5)
    torch.testing.assert_close(lr[5:], 0.1 * (20 - torch.arange(5, 20)) / 15)


def test_fit_is_deterministic_for_a_seed():
    runs = []
    for _ in range(2):
        torch.manual_seed(0)
        runs.append(ca.fit(Regression(), regression_data(), epochs=2, progress=False, seed=3).step_loss)
    assert runs[0] == runs[1]


@pytest.mark.parametrize("clip", [1e-3, None])
def test_gradient_clipping_bounds_the_gradient_the_optimizer_sees(clip):
    model = Regression()
    with torch.no_grad():
        model.linear.weight.fill_(100.0)  # a huge loss and a huge gradient
    norms = []

    def record(optimizer, args, kwargs):
        grads = [p.grad for group in optimizer.param_groups for p in group["params"] if p.grad is not None]
        norms.append(torch.linalg.vector_norm(torch.stack([g.norm() for g in grads])).item())

    handle = register_optimizer_step_pre_hook(record)
    try:
        ca.fit(model, regression_data(64), epochs=1, batch_size=32, clip_grad=clip, progress=False)
    finally:
        handle.remove()
    assert len(norms) == 2
    if clip is None:
        assert min(norms) > 100
    else:
        assert max(norms) <= clip * (1 + 1e-5)


def test_nonfinite_loss_stops_training():
    model = Regression()
    with pytest.raises(FloatingPointError, match="loss became nan at step 0"):
        ca.fit(model, regression_data(32), loss_fn=lambda m, b: torch.tensor(float("nan"), requires_grad=True),
               progress=False)


def test_iterate_batches_covers_every_example_once():
    data = {"a": torch.arange(10), "nested": {"b": torch.arange(10) * 2}}
    batches = list(ca.iterate_batches(data, 4, shuffle=True, generator=torch.Generator().manual_seed(0)))
    assert [len(b["a"]) for b in batches] == [4, 4, 2]
    seen = torch.cat([b["a"] for b in batches])
    assert sorted(seen.tolist()) == list(range(10)) and seen.tolist() != list(range(10))
    assert all(torch.equal(b["nested"]["b"], 2 * b["a"]) for b in batches)
    with pytest.raises(ValueError, match="same number of examples"):
        list(ca.iterate_batches({"a": torch.zeros(3), "b": torch.zeros(4)}, 2))
    with pytest.raises(TypeError, match=r"data\['a'\] must be a tensor or a dict of tensors, got list"):
        list(ca.iterate_batches({"a": [1, 2]}, 2))


def test_accuracy_skips_ignored_labels():
    logits = torch.tensor([[2.0, 0.0], [0.0, 1.0], [1.0, 0.0]])
    assert ca.accuracy(logits, torch.tensor([0, 0, -100])) == 0.5
    with pytest.raises(ValueError, match="every label is ignore_index"):
        ca.accuracy(logits, torch.full((3,), -100))
