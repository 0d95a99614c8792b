"""MultiTaskModel: shared encoder, task heads, weighted losses, and that it really learns."""

import math

import pytest
import torch
import torch.nn.functional as F

import course_attn as ca


def encoder():
    return ca.TransformerEncoder(ca.TransformerConfig(vocab_size=20, d_model=32, num_heads=4, num_layers=1,
                                                      dropout=0.0, position="learned", max_len=16))


def test_loss_is_the_weighted_sum_of_task_losses():
    enc = encoder()
    model = ca.MultiTaskModel(enc, {
        "intent": ca.SequenceClassificationHead(32, 3, dropout=0.0),
        "tags": ca.TokenClassificationHead(32, 4, dropout=0.0),
        "next": ca.NextItemHead(32, 20, tied_embedding=enc.embeddings.tokens),
    }, loss_weights={"intent": 2.0, "tags": 0.5}).eval()
    ids, key_mask = torch.randint(0, 20, (4, 6)), ca.masks.padding_mask([6, 6, 3, 5], 6)
    labels = {"intent": torch.randint(0, 3, (4,)), "tags": torch.randint(0, 4, (4, 6)),
              "next": torch.randint(0, 20, (4, 6))}
    out = model(ids, key_mask=key_mask, labels=labels)

    hidden = enc(ids, key_mask=key_mask).last_hidden_state
    real = key_mask
    intent = F.cross_entropy(model.heads["intent"].classifier(hidden[:, 0]), labels["intent"])
    tags = F.cross_entropy(model.heads["tags"].classifier(hidden)[real], labels["tags"][real])
    nxt = F.cross_entropy((hidden @ enc.embeddings.tokens.weight.T / 32 ** 0.5)[real], labels["next"][real])
    torch.testing.assert_close(out.losses["intent"], intent)
    torch.testing.assert_close(out.losses["tags"], tags)
    torch.testing.assert_close(out.losses["next"], nxt)
    torch.testing.assert_close(out.loss, 2.0 * intent + 0.5 * tags + 1.0 * nxt)

    partial = model(ids, key_mask=key_mask, labels={"tags": labels["tags"]})
    assert set(partial.losses) == {"tags"} and set(partial.logits) == {"intent", "tags", "next"}


def test_tied_next_item_scores_start_at_unit_scale():
    # Raw dot products with N(0, 1) embeddings would spread by √d = 8: a near one-hot first softmax.
    torch.manual_seed(0)
    enc = ca.TransformerEncoder(ca.TransformerConfig(vocab_size=500, d_model=64, num_heads=4, num_layers=1,
                                                     dropout=0.0, position="learned", max_len=16))
    head = ca.NextItemHead(64, 500, tied_embedding=enc.embeddings.tokens)
    hidden = enc(torch.randint(0, 500, (8, 16))).last_hidden_state  # (B, L, d)
    assert 0.7 < head(hidden).std(-1).median().item() < 1.5


def test_padding_labels_never_count():
    model = ca.MultiTaskModel(encoder(), {"tags": ca.TokenClassificationHead(32, 4)}).eval()
    ids, key_mask = torch.randint(0, 20, (2, 5)), ca.masks.padding_mask([5, 2], 5)
    labels = torch.randint(0, 4, (2, 5))
    other = labels.clone()
    other[1, 2:] = (labels[1, 2:] + 1) % 4
    loss = model(ids, key_mask=key_mask, labels={"tags": labels}).loss
    torch.testing.assert_close(model(ids, key_mask=key_mask, labels={"tags": other}).loss, loss)


def test_a_batch_without_labels_for_a_task_adds_zero_not_nan():
    model = ca.MultiTaskModel(encoder(), {"intent": ca.SequenceClassificationHead(32, 3, dropout=0.0),
                                          "tags": ca.TokenClassificationHead(32, 4, dropout=0.0)}).eval()
    ids = torch.randint(0, 20, (3, 5))
    intent = torch.tensor([2, 0, 1])
    missing = torch.full((3,), -100)                 # no example of this batch has an intent label
    out = model(ids, labels={"intent": missing, "tags": torch.randint(0, 4, (3, 5))})
    assert out.losses["intent"].item() == 0.0
    out.loss.backward()                              # still a graph: fit can take its step
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)
    some = torch.tensor([2, -100, 1])                # partly labelled: the mean over labelled ones
    logits = model(ids).logits["intent"]
    torch.testing.assert_close(model(ids, labels={"intent": some}).losses["intent"],
                               F.cross_entropy(logits[[0, 2]], intent[[0, 2]]))


def test_mean_pool_averages_real_tokens_only():
    hidden = torch.randn(2, 4, 3)
    key_mask = torch.tensor([[1, 1, 0, 0], [1, 1, 1, 1]])
    pooled = ca.mean_pool(hidden, key_mask)
    torch.testing.assert_close(pooled[0], hidden[0, :2].mean(0))
    torch.testing.assert_close(pooled[1], hidden[1].mean(0))


def test_shared_encoder_learns_two_tasks():
    """Task A: is token 1 in the sequence? Task B: the first token's parity. A sum needs attention."""
    g = ca.seed_everything(0)
    ids = torch.randint(2, 20, (512, 8), generator=g)
    has_one = torch.rand(512, generator=g) < 0.5
    ids[has_one, torch.randint(1, 8, (int(has_one.sum()),), generator=g)] = 1
    labels = {"has_one": has_one.long(), "parity": ids[:, 0] % 2}
    model = ca.MultiTaskModel(encoder(), {
        "has_one": ca.SequenceClassificationHead(32, 2, pooling="mean", dropout=0.0),
        "parity": ca.SequenceClassificationHead(32, 2, dropout=0.0),
    })
    data = {"input_ids": ids[:384], "labels": {k: v[:384] for k, v in labels.items()}}
    ca.fit(model, data, epochs=25, batch_size=64, lr=3e-3, progress=False)
    with torch.no_grad():
        out = model(ids[384:])
    for task in labels:
        assert ca.accuracy(out.logits[task], labels[task][384:]) > 0.9, task


def test_errors():
    enc = encoder()
    with pytest.raises(ValueError, match=r"loss_weights names unknown tasks \['topic'\]"):
        ca.MultiTaskModel(enc, {"intent": ca.SequenceClassificationHead(32, 2)}, loss_weights={"topic": 1.0})
    with pytest.raises(ValueError, match="needs at least one task head"):
        ca.MultiTaskModel(enc, {})
    model = ca.MultiTaskModel(enc, {"intent": ca.SequenceClassificationHead(32, 2)})
    with pytest.raises(ValueError, match=r"labels for unknown tasks \['topic'\]"):
        model(torch.zeros(1, 3, dtype=torch.long), labels={"topic": torch.zeros(1, dtype=torch.long)})
    with pytest.raises(ValueError, match=r"tied_embedding must be \(30, 32\)"):
        ca.NextItemHead(32, 30, tied_embedding=enc.embeddings.tokens)
    with pytest.raises(ValueError, match=r"pooling must be one of \('cls', 'mean'\), got 'max'"):
        ca.SequenceClassificationHead(32, 2, pooling="max")


def test_linear_per_task_is_one_logistic_regression_per_task():
    torch.manual_seed(0)
    features = torch.randn(600, 5)  # (N, F)
    labels = {"sign": (features[:, 0] > 0).long(), "band": torch.bucketize(features[:, 1].contiguous(), torch.tensor([-0.5, 0.5]))}
    model = ca.LinearPerTask(5, {"sign": 2, "band": 3})
    out = model(features, labels)
    for task, head in model.heads.items():
        torch.testing.assert_close(out.logits[task], features @ head.weight.T + head.bias)
        torch.testing.assert_close(out.losses[task], F.cross_entropy(out.logits[task], labels[task]))
    torch.testing.assert_close(out.loss, out.losses["sign"] + out.losses["band"])
    # the "sign" weights get no gradient from the "band" loss: separate classifiers
    out.losses["band"].backward()
    assert model.heads["sign"].weight.grad is None
    model.zero_grad()
    ca.fit(model, {"features": features, "labels": labels}, epochs=40, batch_size=100, lr=5e-2, progress=False)
    with torch.no_grad():
        logits = model(features).logits
    assert ca.accuracy(logits["sign"], labels["sign"]) > 0.95
    assert ca.accuracy(logits["band"], labels["band"]) > 0.85


def test_linear_per_task_errors():
    with pytest.raises(ValueError, match=r"num_classes\['a'\] must be an int >= 2, got 1"):
        ca.LinearPerTask(4, {"a": 1})
    model = ca.LinearPerTask(4, {"a": 2})
    with pytest.raises(ValueError, match=r"features must be \(N, 4\), got \(3, 5\)"):
        model(torch.zeros(3, 5))
    with pytest.raises(ValueError, match=r"labels for unknown tasks \['b'\]"):
        model(torch.zeros(3, 4), {"b": torch.zeros(3, dtype=torch.long)})


def test_position_wise_heads_take_any_leading_dims():
    # chapter 6.3 scores the next item from the last position only: (N, d) → (N, num_items)
    hidden = torch.randn(3, 32)
    assert ca.NextItemHead(32, 20)(hidden).shape == (3, 20)
    assert ca.TokenClassificationHead(32, 4)(hidden).shape == (3, 4)


# --- uncertainty weighting (Kendall, Gal & Cipolla, CVPR 2018) ---------------------------------------

UW = ca.multitask.UncertaintyWeighting


def test_uncertainty_weighting_loss_and_gradients_by_hand():
    # classification: exp(-s) L + s/2; regression: exp(-s) L / 2 + s/2 (the paper's eq. 10 and 7, s = log σ²)
    weighting = UW(["cls", "reg"], regression=["reg"])
    with torch.no_grad():
        weighting.log_vars["cls"].fill_(0.3)
        weighting.log_vars["reg"].fill_(-0.7)
    l_cls, l_reg = torch.tensor(1.7, requires_grad=True), torch.tensor(0.4, requires_grad=True)
    total = weighting({"cls": l_cls, "reg": l_reg})
    e_cls, e_reg = math.exp(-0.3), math.exp(0.7)
    expected = e_cls * 1.7 + 0.15 + 0.5 * e_reg * 0.4 - 0.35
    assert total.item() == pytest.approx(expected, rel=1e-6)
    total.backward()
    # d/dL = the weight; d/ds = -weight * L + 1/2
    assert l_cls.grad.item() == pytest.approx(e_cls, rel=1e-6)
    assert l_reg.grad.item() == pytest.approx(0.5 * e_reg, rel=1e-6)
    assert weighting.log_vars["cls"].grad.item() == pytest.approx(-e_cls * 1.7 + 0.5, rel=1e-6)
    assert weighting.log_vars["reg"].grad.item() == pytest.approx(-0.5 * e_reg * 0.4 + 0.5, rel=1e-6)
    assert weighting.weights() == pytest.approx({"cls": e_cls, "reg": 0.5 * e_reg})


def test_uncertainty_weights_settle_where_the_paper_says():
    # With the losses held fixed, minimizing over s gives s = log 2L (classification), log L (regression):
    # the task with the larger loss ends up with the smaller weight.
    weighting = UW(["easy", "hard", "reg"], regression=["reg"])
    losses = {"easy": torch.tensor(0.2), "hard": torch.tensor(1.5), "reg": torch.tensor(3.0)}
    optimizer = torch.optim.Adam(weighting.parameters(), lr=0.05)
    for _ in range(2000):
        optimizer.zero_grad()
        weighting(losses).backward()
        optimizer.step()
    s = {t: p.item() for t, p in weighting.log_vars.items()}
    assert s["easy"] == pytest.approx(math.log(0.4), abs=1e-3)
    assert s["hard"] == pytest.approx(math.log(3.0), abs=1e-3)
    assert s["reg"] == pytest.approx(math.log(3.0), abs=1e-3)
    w = weighting.weights()
    assert w["easy"] == pytest.approx(1 / 0.4, rel=1e-3) and w["hard"] == pytest.approx(1 / 3.0, rel=1e-3)


def test_multitask_model_with_uncertainty_weighting():
    enc = encoder()
    heads = {"a": ca.SequenceClassificationHead(32, 3, dropout=0.0), "b": ca.SequenceClassificationHead(32, 2, dropout=0.0)}
    weighting = UW(["a", "b"], init=0.5)
    model = ca.MultiTaskModel(enc, heads, loss_weights=weighting).eval()
    assert {n for n, _ in model.named_parameters()} >= {"weighting.log_vars.a", "weighting.log_vars.b"}
    ids = torch.randint(0, 20, (4, 6))
    labels = {"a": torch.tensor([0, 2, 1, 1]), "b": torch.tensor([1, 0, 1, 0])}
    out = model(ids, labels=labels)
    by_hand = sum(math.exp(-0.5) * out.losses[t] + 0.25 for t in ("a", "b"))
    torch.testing.assert_close(out.loss, by_hand)
    # a task with no label in the batch is left out: no s/2 term, no gradient to its log-variance
    out = model(ids, labels={"a": labels["a"], "b": torch.full((4,), -100)})
    torch.testing.assert_close(out.loss, math.exp(-0.5) * out.losses["a"] + 0.25)
    out.loss.backward()
    assert weighting.log_vars["b"].grad is None and weighting.log_vars["a"].grad is not None
    # fit trains the log-variances with the model
    before = weighting.log_vars["a"].item()
    data = {"input_ids": torch.randint(0, 20, (32, 6)), "labels": {"a": torch.randint(0, 3, (32,)),
                                                                   "b": torch.randint(0, 2, (32,))}}
    ca.fit(model, data, epochs=1, batch_size=16, lr=1e-2, progress=False)
    assert weighting.log_vars["a"].item() != before


def test_uncertainty_weighting_bad_inputs():
    with pytest.raises(TypeError, match="tasks must be a list of task names, got str"):
        UW("ab")
    with pytest.raises(ValueError, match="tasks must name at least one task"):
        UW([])
    with pytest.raises(TypeError, match=r"tasks\[1\] must be a task name \(str\), got int"):
        UW(["a", 2])
    with pytest.raises(ValueError, match=r"tasks must be distinct, got \['a', 'a'\]"):
        UW(["a", "a"])
    with pytest.raises(ValueError, match=r"regression names unknown tasks \['c'\]"):
        UW(["a", "b"], regression=["c"])
    with pytest.raises(TypeError, match="init must be a number, got '0' \\(str\\)"):
        UW(["a"], init="0")
    weighting = UW(["a", "b"])
    with pytest.raises(TypeError, match="losses must be a dict"):
        weighting([torch.tensor(1.0)])
    with pytest.raises(ValueError, match="losses is empty"):
        weighting({})
    with pytest.raises(ValueError, match=r"losses for unknown tasks \['c'\]"):
        weighting({"c": torch.tensor(1.0)})
    with pytest.raises(ValueError, match=r"losses\['a'\]"):
        weighting({"a": torch.ones(3)})
    with pytest.raises(ValueError, match=r"has tasks \['a', 'b'\]; the heads are \['a'\]"):
        ca.MultiTaskModel(encoder(), {"a": ca.SequenceClassificationHead(32, 2)}, loss_weights=weighting)
    with pytest.raises(TypeError, match=r"loss_weights must be a dict \{task: weight\} or None, got list"):
        ca.MultiTaskModel(encoder(), {"a": ca.SequenceClassificationHead(32, 2)}, loss_weights=[1.0])
