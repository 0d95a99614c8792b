import pytest
import torch

from course_attn.text import WordVocab, bag_of_words, tokenize


def test_tokenize_words_and_punctuation():
    assert tokenize("Where's my CARD?!") == ["where's", "my", "card", "?", "!"]
    with pytest.raises(TypeError, match="text must be a str"):
        tokenize(3)


def test_vocab_orders_by_frequency_and_reserves_special_tokens():
    vocab = WordVocab.build(["b a a", "c a b", "d"], min_count=2)
    assert vocab.itos == ["[PAD]", "[UNK]", "[CLS]", "a", "b"]
    assert len(vocab) == 5
    assert WordVocab.build(["b a a", "c a b"], max_size=1).itos[3:] == ["a"]
    with pytest.raises(ValueError, match="min_count must be an int >= 1"):
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
