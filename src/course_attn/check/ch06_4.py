"""Checks for the exercises of chapter 6.4, beyond text: images and sounds."""

from __future__ import annotations

import contextlib
import dataclasses
import math

import torch
import torch.nn.functional as F

from ..config import TransformerConfig
from ..train import History
from ._report import exercise, expect_close, expect_equal, expect_number, expect_tensor, fail, test


def _frame_orders(got, x):
    """For each clip, where each output frame came from: ``(B, T)`` long, or ``None`` if a frame has no source."""
    match = (got[:, :, None, :] == x[:, None, :, :]).all(-1)  # (B, T out, T in)
    if not (match.sum(-1) == 1).all() or not (match.sum(-2) == 1).all():
        return None
    return match.int().argmax(-1)


@exercise("06_4_beyond_text", 1, "does our listener care about order?")
def shuffle_frames(shuffle_frames):
    """``shuffle_frames(spectrograms (B, T, F), generator) -> (B, T, F)``: a random order of the frames per clip."""
    B, T, n_bins = 16, 12, 5
    x = torch.randn(B, T, n_bins)

    def shuffled(seed, clips=x):
        return shuffle_frames(clips, torch.Generator().manual_seed(seed))

    with test(f"spectrograms of shape {(B, T, n_bins)}: a tensor of the same shape and dtype"):
        expect_tensor(shuffled(1), shape=x.shape, dtype=x.dtype, what="shuffle_frames(x, generator)")
    with test("each clip keeps its own frames (compared sorted along time, as in the notebook)"):
        expect_close(shuffled(1).sort(1).values, x.sort(1).values, atol=0, rtol=0,
                     what="shuffle_frames(x, generator).sort(1).values", hints={
            "shuffle within each clip (along dim 1), not across the batch": x.flatten(0, 1)[
                torch.randperm(B * T)].view(B, T, n_bins).sort(1).values,
        })
    with test("whole frames move: every frequency bin of a frame goes with it"):
        if _frame_orders(shuffled(1), x) is None:
            fail("some output frame is not a frame of the same clip: use one permutation of the T frames per clip "
                 "for all its bins, x[torch.arange(B)[:, None], order] with order of shape (B, T)")
    with test("most frames move, and each clip gets its own order"):
        order = _frame_orders(shuffled(1), x)
        if order is None:
            fail("see the test above: the output frames are not the clips' frames")
        moved = (order != torch.arange(T)).float().mean().item()
        if moved < 0.5:
            fail(f"only {moved:.0%} of the frames moved; a random order of {T} frames moves about "
                 f"{1 - 1 / T:.0%} of them")
        if (order == order[0]).all():
            fail("every clip got the same order: draw one permutation per clip, e.g. "
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
            fail(f"frame 1 still follows frame 0 in {share:.0%} of the clips (a random order: 20%); a shift "
                 "such as torch.roll keeps the order; draw a random permutation")
    with test("the spectrograms passed in are left unchanged"):
        before = x.clone()
        shuffled(4)
        expect_close(x, before, atol=0, rtol=0, what="the spectrograms after the call")
    with test("one frame per clip: nothing to shuffle, the clips come back as they are"):
        one = x[:, :1]
        expect_close(shuffled(5, one), one, atol=0, rtol=0, what="shuffle_frames(x[:, :1], generator)")


# ----------------------------------------------------------------------------- vit_accuracy


@dataclasses.dataclass
class _FitCall:
    model: torch.nn.Module
    data: object
    kwargs: dict


@contextlib.contextmanager
def _fit_recorded(calls: list[_FitCall]):
    """Replace ``ca.fit`` with a stand-in that records its call and trains nothing."""
    import course_attn

    from .. import train

    def fit(model, train_data, **kwargs):
        calls.append(_FitCall(model, train_data, kwargs))
        if kwargs.get("device") is not None:
            model.to(kwargs["device"])
        model.eval()  # as ca.fit leaves it
        return History()

    saved = course_attn.fit, train.fit
    course_attn.fit = train.fit = fit
    try:
        yield
    finally:
        course_attn.fit, train.fit = saved


def _config_of(model) -> TransformerConfig | None:
    found = [m.config for m in model.modules() if isinstance(getattr(m, "config", None), TransformerConfig)]
    return found[0] if found else None


def _accuracy(model, x, labels) -> float:
    device = next(model.parameters()).device
    with torch.no_grad():
        logits = model(x.to(device))[0].cpu()
    return (logits.argmax(-1) == labels).float().mean().item()


_test = test  # the check below has a keyword called test


@exercise("06_4_beyond_text", 2, "does the ViT need its positions?")
def vit_accuracy(vit_accuracy, *, vit=None, train=None, test=None, epochs=30, lr=5e-3, batch_size=64):
    """``vit_accuracy(position) -> float``: train a ViT like ``vit`` but for ``position``, return its test accuracy.

    Training takes too long for a check, so while it runs ``ca.fit`` is replaced by a stand-in that
    records what your function passes to it and trains nothing. The check compares the model with
    the notebook's trained ``vit``, the call with the one that trained it (``epochs``, ``lr``,
    ``batch_size``, the training patches, a cross-entropy ``loss_fn``), and the number returned
    with the test accuracy of that (untrained) model. Pass the notebook's objects::

        check.vit_accuracy(vit_accuracy, vit=vit, train=(p_train, y_train), test=(p_test, y_test))
    """
    if vit is None or train is None or test is None:
        raise TypeError("check.vit_accuracy needs the notebook's ViT and data: check.vit_accuracy(vit_accuracy, "
                        "vit=vit, train=(p_train, y_train), test=(p_test, y_test))")
    (train_x, train_y), (test_x, test_y) = train, test
    vit_config = _config_of(vit)
    vit_shapes = {name: tuple(p.shape) for name, p in vit.named_parameters()}
    vit_device = next(vit.parameters()).device
    for position in ("learned", None):
        call = f"vit_accuracy({position!r})"
        calls: list[_FitCall] = []
        with _test(f"{call} calls ca.fit once and returns the test accuracy of its model (nothing is trained here)"):
            with _fit_recorded(calls):
                got = vit_accuracy(position)
            if got is None:
                fail(f"{call} is None: did you forget to `return` it?")
            if len(calls) != 1:
                fail(f"{call} called ca.fit {len(calls)} times, expected once: build one new model and train it "
                     "with ca.fit(model, ...)")
            expected = _accuracy(calls[0].model, test_x, test_y)
            if (isinstance(got, float) and not math.isclose(got, expected, rel_tol=1e-6)
                    and math.isclose(got, _accuracy(calls[0].model, train_x, train_y), rel_tol=1e-6)):
                fail(f"{call} is {got!r}, the accuracy on the training patches; return the accuracy on the test "
                     f"patches, {expected!r}: test_accuracy(model, p_test, y_test)")
            expect_number(got, expected, rel_tol=1e-6, abs_tol=1e-9, what=call)
        with _test(f"{call} builds a new model like the ViT above, with position={position!r}"):
            if not calls:
                fail("no call of ca.fit to look at (see the test above)")
            model = calls[0].model
            if model is vit or {p.data_ptr() for p in model.parameters()} & {p.data_ptr() for p in vit.parameters()}:
                fail(f"{call} trains the ViT above (or shares its weights): build a new TokenClassifier")
            config = _config_of(model)
            if config is None:
                fail(f"the model {type(model).__name__} has no ca.TransformerConfig: build it like the ViT above, "
                     "TokenClassifier(4, 10, config)")
            wanted = dataclasses.replace(vit_config, position=position)
            differ = [f"{f.name}={getattr(config, f.name)!r} (expected {getattr(wanted, f.name)!r})"
                      for f in dataclasses.fields(wanted) if getattr(config, f.name) != getattr(wanted, f.name)]
            if differ:
                fail("its config differs from the ViT's (with the new position): " + ", ".join(differ))
            shapes = {name: tuple(p.shape) for name, p in model.named_parameters()}
            differ = [f"{name} {shapes.get(name, 'missing')} (the ViT's: {vit_shapes.get(name, 'none')})"
                      for name in sorted(set(shapes) | set(vit_shapes))
                      if "position" not in name and shapes.get(name) != vit_shapes.get(name)]
            if differ:
                fail("its parameters differ from the ViT's: " + "; ".join(differ[:3]))
            device = next(model.parameters()).device
            if device.type != vit_device.type:
                fail(f"the model is on {device}, the ViT above on {vit_device}: move it with .to(dev)")
        with _test(f"{call} trains it like the ViT above: ca.fit on the training patches, epochs={epochs}, "
                   f"lr={lr}, batch_size={batch_size}, loss_fn=loss_fn"):
            if not calls:
                fail("no call of ca.fit to look at (see the first test)")
            model, data, kwargs = calls[0].model, calls[0].data, calls[0].kwargs
            if not isinstance(data, dict) or set(data) != {"x", "labels"}:
                fail(f"ca.fit got {type(data).__name__} {sorted(data) if isinstance(data, dict) else ''} as its "
                     'data, expected {"x": p_train, "labels": y_train}')
            x, labels = data["x"], data["labels"]
            if isinstance(x, torch.Tensor) and x.shape == test_x.shape and torch.equal(x.cpu(), test_x.cpu()):
                fail("ca.fit got the test patches: train on p_train, keep p_test for the accuracy")
            expect_close(x, train_x, atol=0, rtol=0, what='the "x" that ca.fit got (expected p_train)')
            expect_close(labels, train_y, what='the "labels" that ca.fit got (expected y_train)')
            for key, value in dict(epochs=epochs, lr=lr, batch_size=batch_size).items():
                expect_equal(kwargs.get(key, "(fit's default)"), value, what=f"ca.fit's {key}")
            extra = sorted(set(kwargs) - {"epochs", "lr", "batch_size", "loss_fn", "progress", "device"})
            if extra:
                fail(f"ca.fit got {', '.join(f'{k}={kwargs[k]!r}' for k in extra)}; the ViT above kept fit's "
                     "defaults for these")
            loss_fn = kwargs.get("loss_fn")
            if loss_fn is None:
                fail("ca.fit got no loss_fn: pass loss_fn=loss_fn, as for the ViT above")
            device = next(model.parameters()).device
            batch = {"x": train_x[:8].to(device), "labels": train_y[:8].to(device)}
            with torch.no_grad():
                expected = F.cross_entropy(model(batch["x"])[0], batch["labels"])
                expect_close(loss_fn(model, batch), expected, what="loss_fn(model, batch) (expected the "
                             "cross-entropy of the logits, as loss_fn above)")
