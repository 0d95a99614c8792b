import pytest
import torch

from course_attn.text import LengthBatches, WordVocab, bag_of_words, tokenize


def test_tokenize_words_and_punctuation():
    assert tokenize("Where's my CARD?!") == ["where's", "my", "card", "?", "!"]
    with pytest.raises(TypeError, match="text must be a str"):
        tokenize(3)


def test_vocab_orders_by_frequency_and_reserves_special_tokens():
    vocab = WordVocab.build(["b a a", "c a b", "d"], min_count=2)
    assert vocab.itos == ["[PAD]", "[UNK]", "[CLS]", "a", "b"]
    assert len(vocab) == 5
    assert WordVocab.build(["b a a", "c a b"], max_size=1).itos[3:] == ["a"]
    with pytest.raises(ValueError, match="min_count must be a positive int, got 0"):
        WordVocab.build(["a"], min_count=0)


def test_encode_pads_and_masks():
    vocab = WordVocab.build(["the card is lost", "the app"])
    batch = vocab.encode(["the app", "the card is lost", "a new word"])
    assert batch["input_ids"].shape == (3, 5)
    assert batch["key_mask"].sum(1).tolist() == [3, 5, 4]
    assert (batch["input_ids"][:, 0] == 2).all(), "[CLS] first"
    assert vocab.decode(batch["input_ids"][0]) == ["[CLS]", "the", "app"]
    assert vocab.decode(batch["input_ids"][2]) == ["[CLS]", "[UNK]", "[UNK]", "[UNK]"]
    assert (batch["input_ids"][~batch["key_mask"]] == 0).all()
    assert vocab.encode(["the card is lost"], max_len=2, add_cls=False)["input_ids"].tolist() == [
        [vocab.stoi["the"], vocab.stoi["card"]]]
    with pytest.raises(TypeError, match="got a single str"):
        vocab.encode("the app")


def test_bag_of_words_counts_words_not_padding():
    vocab = WordVocab.build(["a b", "a a c"])
    bow = bag_of_words(["a a c", "b", "zzz"], vocab)
    assert bow.shape == (3, len(vocab))
    assert bow[0, vocab.stoi["a"]] == 2 and bow[0, vocab.stoi["c"]] == 1 and bow[0].sum() == 3
    assert bow[1].sum() == 1 and bow[2, 1] == 1 and bow[:, 0].eq(0).all()
    torch.testing.assert_close(bow[0], bag_of_words(["c a a"], vocab)[0])  # order does not matter


def test_length_batches_cover_every_text_once_with_its_labels():
    texts = [" ".join(["w"] * n) for n in [5, 1, 9, 3, 7, 2, 8, 4, 6]]
    vocab = WordVocab.build(texts)
    index = torch.arange(len(texts))
    batches = LengthBatches(vocab, texts, {"index": index, "length": index * 0 + 1}, batch_size=4, seed=0)
    assert len(batches) == 3
    epoch = list(batches)
    seen = torch.cat([b["labels"]["index"] for b in epoch])
    assert sorted(seen.tolist()) == list(range(len(texts)))
    for b in epoch:
        # each row's real tokens are [CLS] + its text's words, so labels travel with their texts
        lengths = b["key_mask"].sum(1) - 1
        assert lengths.tolist() == [len(texts[i].split()) for i in b["labels"]["index"].tolist()]
    # grouped by length: a batch pads to its own longest text, not the longest of all (10 with [CLS])
    assert sorted(b["input_ids"].shape[1] for b in epoch) == [5, 9, 10]


def test_length_batches_shuffle_batches_reproducibly():
    texts = [" ".join(["w"] * (n % 17 + 1)) for n in range(64)]
    vocab = WordVocab.build(texts)
    labels = {"index": torch.arange(64)}

    def orders(seed):
        batches = LengthBatches(vocab, texts, labels, batch_size=4, seed=seed)
        return [[b["labels"]["index"][0].item() for b in batches] for _ in range(2)]

    first, second = orders(0)
    assert first != second, "a new order every epoch"
    assert orders(0) == [first, second] and orders(1) != [first, second]


def test_length_batches_reject_bad_input():
    vocab = WordVocab.build(["a b"])
    with pytest.raises(ValueError, match=r"labels\['intent'\] must be a \(2,\) tensor, one label per text, got \(3,\)"):
        LengthBatches(vocab, ["a", "b"], {"intent": torch.zeros(3)})
    with pytest.raises(ValueError, match="batch_size must be a positive int, got 0"):
        LengthBatches(vocab, ["a"], {}, batch_size=0)
    with pytest.raises(ValueError, match="texts is empty"):
        LengthBatches(vocab, [], {})
    with pytest.raises(TypeError, match="texts must be a sequence of strings"):
        LengthBatches(vocab, "a b", {})


def test_chinese_text_becomes_one_token_per_character():
    # Chapter 6.2 trains over characters with WordVocab: Han characters and full-width punctuation
    # are tokens of their own, runs of Latin letters and digits stay words.
    assert tokenize("这个酒店不错，wifi很快！") == ["这", "个", "酒", "店", "不", "错", "，", "wifi", "很", "快", "！"]
    vocab = WordVocab.build(["不错", "不好", "很好"], min_count=2)
    assert vocab.itos[3:] == ["不", "好"]
    assert vocab.decode(vocab.encode(["不错"])["input_ids"][0]) == ["[CLS]", "不", "[UNK]"]
