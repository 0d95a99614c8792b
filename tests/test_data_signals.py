"""The synthetic spectrograms: their documented structure, the hidden event, determinism, errors."""

import pytest
import torch

from course_attn.data.signals import BURST_WIDTH, EVENT_CLASSES, event_spectrograms

TONE, CHIRP, CLICK, BURST = range(4)


def event_frames(data):
    """``(N, T)`` bool: the frames ``onset … onset + length - 1`` of each example."""
    T = data["spectrogram"].shape[1]
    t = torch.arange(T)[None, :] - data["onset"][:, None]
    return (t >= 0) & (t < data["length"][:, None])


def nearest_centroid_accuracy(train_features, train_labels, test_features, test_labels):
    """Classify by the nearest class mean of the features sorted in descending order (so that
    where in the spectrum the energy sits does not matter, only its shape)."""
    train_features = train_features.sort(-1, descending=True).values
    test_features = test_features.sort(-1, descending=True).values
    centroids = torch.stack([train_features[train_labels == c].mean(0) for c in range(len(EVENT_CLASSES))])
    return (torch.cdist(test_features, centroids).argmin(-1) == test_labels).float().mean().item()


def test_event_structure_without_noise_or_distractors():
    data = event_spectrograms(400, noise_std=0.0, distractors=False, label_noise=0.0, generator=1)
    x, labels = data["spectrogram"], data["labels"]
    assert x.shape == (400, 32, 16) and x.dtype == torch.float32
    assert torch.equal(labels, data["clean_labels"])
    assert set(labels.tolist()) == set(range(4)), "every class occurs"
    inside = event_frames(data)
    assert (x[~inside] == 0).all(), "outside the event the grid is empty"
    assert ((data["onset"] >= 0) & (data["onset"] + data["length"] <= 32)).all()
    for i in range(400):
        frames = x[i, inside[i]]  # (n, F)
        active = frames > 0  # (n, F)
        c, n = int(labels[i]), len(frames)
        assert (active.sum(1) > 0).all(), "every event frame holds energy"
        a = frames[active]
        if c == CLICK:
            assert n == 1 and active.all(), "a click: every bin of one frame"
            assert torch.allclose(a, a[0].expand_as(a))
        else:
            assert 4 <= n <= 8, "min_len … max_len frames"
        if c in (TONE, CHIRP):
            assert 0.6 <= a.min() and a.max() <= 1.4 and torch.allclose(a, a[0].expand_as(a))
        if c == TONE:
            assert (active.sum(1) == 1).all(), "a tone: one bin per frame"
            assert (active == active[0]).all(), "… the same bin in every frame"
        if c == CHIRP:
            assert (active.sum(1) == 2).all(), "a chirp: two bins per frame"
            low = active.float().argmax(1)  # (n,) the lower active bin of each frame
            assert (active[torch.arange(n), low + 1]).all(), "… adjacent"
            steps = set(low.diff().tolist())
            assert steps in ({2}, {-2}), f"… moving two bins per frame, one way, got steps {steps}"
        if c == BURST:
            assert (active.sum(1) == BURST_WIDTH).all(), "a burst: BURST_WIDTH bins per frame"
            assert (active == active[0]).all(), "… the same band in every frame"
            bins = active[0].nonzero().flatten()
            assert torch.equal(bins, torch.arange(bins[0], bins[0] + BURST_WIDTH)), "… adjacent"
            assert 0.5 * 0.6 <= a.min() and a.max() <= 1.5 * 1.4
            assert len(set(a.tolist())) > 1, "… with random energies"


def test_distractors_are_stationary_and_carry_no_label():
    data = event_spectrograms(300, noise_std=0.0, label_noise=0.0, generator=2)
    x, inside = data["spectrogram"], event_frames(data)
    for i in range(300):
        background = x[i, ~inside[i]]  # (T - n, F): hum and floor only
        assert len(background) >= 32 - 8
        assert (background == background[0]).all(), "the distractors are the same in every frame"
        floor = background[0].min()
        hum = background[0] - floor
        assert 0.0 <= floor <= 0.3, "a broadband floor in (0, 0.3)"
        assert (hum > 0).sum() == 1 and 0.3 <= hum.max() <= 0.6, "a hum at one bin, in (0.3, 0.6)"
    # the distractor's bin is uniform whatever the class: no class owns a hum bin
    hum_bins = x.amin(1).argmax(1)  # (N,) the loudest bin of the quietest frames
    for c in range(4):
        assert len(set(hum_bins[data["labels"] == c].tolist())) >= 10


def test_time_average_hides_the_event_that_a_window_reveals():
    g = torch.Generator().manual_seed(0)
    train, test = event_spectrograms(3000, generator=g), event_spectrograms(3000, generator=g)

    def window_minus_rest(data):
        x, w = data["spectrogram"], event_frames(data).float()[..., None]  # (N, T, F), (N, T, 1)
        return (x * w).sum(1) / w.sum(1) - (x * (1 - w)).sum(1) / (1 - w).sum(1)  # (N, F)

    y_train, y_test = train["clean_labels"], test["clean_labels"]
    window = nearest_centroid_accuracy(window_minus_rest(train), y_train, window_minus_rest(test), y_test)
    average = nearest_centroid_accuracy(train["spectrogram"].mean(1), y_train, test["spectrogram"].mean(1), y_test)
    # chance is 1/4; 3 standard errors of 3000 guesses are about 0.024
    assert window > 0.9, f"knowing where the event is, its class is plain, got {window:.3f}"
    assert average < 0.45, f"averaged over all frames the event is nearly lost, got {average:.3f}"


def test_labels_balance_and_label_noise():
    data = event_spectrograms(8000, label_noise=0.2, generator=3)
    labels, clean = data["labels"], data["clean_labels"]
    counts = torch.bincount(clean, minlength=4).float() / 8000
    assert (counts - 0.25).abs().max() < 0.02, f"classes are balanced, got {counts.tolist()}"
    flipped = labels != clean
    assert abs(flipped.float().mean().item() - 0.2) < 0.015, "label_noise of the labels changed"
    assert set(labels[flipped].tolist()) == set(range(4)), "a changed label can be any other class"
    exact = event_spectrograms(500, label_noise=0.0, generator=3)
    assert torch.equal(exact["labels"], exact["clean_labels"])


def test_is_deterministic_for_a_seed():
    a = event_spectrograms(50, generator=7)
    b = event_spectrograms(50, generator=torch.Generator().manual_seed(7))
    c = event_spectrograms(50, generator=8)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not torch.equal(a["spectrogram"], c["spectrogram"])
    g = torch.Generator().manual_seed(7)
    first, second = event_spectrograms(50, generator=g), event_spectrograms(50, generator=g)
    assert torch.equal(first["spectrogram"], a["spectrogram"])
    assert not torch.equal(first["spectrogram"], second["spectrogram"]), "a Generator advances between calls"


def test_sizes_follow_the_arguments():
    data = event_spectrograms(20, num_frames=12, num_bins=10, min_len=3, max_len=5, generator=0)
    assert data["spectrogram"].shape == (20, 12, 10)
    assert all(data[k].shape == (20,) and data[k].dtype == torch.long
               for k in ("labels", "clean_labels", "onset", "length"))
    assert (data["length"] <= 5).all() and (data["onset"] + data["length"] <= 12).all()


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(num_examples=0), ValueError, "num_examples must be a positive int, got 0"),
        (dict(num_examples=2.0), TypeError, r"num_examples must be a positive int, got 2.0 \(float\)"),
        (dict(num_examples=2, min_len=1), ValueError, "min_len must be an int >= 2, got 1"),
        (dict(num_examples=2, min_len=5, max_len=4), ValueError, "max_len must be an int >= 5, got 4"),
        (dict(num_examples=2, num_bins=15), ValueError, "num_bins must be an int >= 16, got 15"),
        (dict(num_examples=2, num_frames=7), ValueError, "num_frames must be an int >= 8, got 7"),
        (dict(num_examples=2, amplitude=1.0), TypeError, "amplitude must be a"),
        (dict(num_examples=2, amplitude=(1.0, 0.5)), ValueError,
         r"amplitude\[1\] must be a finite number in \[1, inf\), got 0.5"),
        (dict(num_examples=2, noise_std=-0.1), ValueError,
         r"noise_std must be a finite number in \[0, inf\), got -0.1"),
        (dict(num_examples=2, noise_std="0.1"), TypeError, "noise_std must be a number"),
        (dict(num_examples=2, label_noise=1.5), ValueError,
         r"label_noise must be a finite number in \[0, 1\], got 1.5"),
        (dict(num_examples=2, distractors=1), TypeError, r"distractors must be True or False, got 1 \(int\)"),
        (dict(num_examples=2, generator="0"), TypeError, "generator must be a torch.Generator"),
    ],
)
def test_rejects_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        event_spectrograms(**kwargs)
