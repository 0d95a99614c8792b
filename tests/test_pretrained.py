"""The real pretrained MiniLM in course_attn against Hugging Face transformers and sentence-transformers."""

import os

import pytest
import torch

import course_attn as ca

os.environ.setdefault("HF_HUB_OFFLINE", "1")
transformers = pytest.importorskip("transformers")

SENTENCES = [
    "Attention is all you need.",
    "The cat sat on the mat because it was tired.",
    "Transformers replaced recurrent networks for machine translation in 2017.",
    "Hi!",
]


@pytest.fixture(scope="module")
def minilm():
    return ca.pretrained.load_minilm()


@pytest.fixture(scope="module")
def reference():
    model = transformers.BertModel.from_pretrained(ca.pretrained.minilm_path(), attn_implementation="eager")
    return model.eval()


def test_minilm_matches_transformers_layer_by_layer(minilm, reference):
    encoder, tokenizer = minilm
    batch = tokenizer(SENTENCES, padding=True, return_tensors="pt")
    real = batch["attention_mask"].bool()  # (B, L)
    assert not real.all(), "the batch must contain padding"
    with torch.no_grad():
        expected = reference(**batch, output_attentions=True, output_hidden_states=True)
        ours = encoder(batch["input_ids"], key_mask=batch["attention_mask"], token_type_ids=batch["token_type_ids"],
                       need_weights=True, output_hidden_states=True)
    assert len(ours.hidden_states) == len(expected.hidden_states) == 7
    for layer, (mine, theirs) in enumerate(zip(ours.hidden_states, expected.hidden_states)):
        torch.testing.assert_close(mine[real], theirs[real], atol=1e-5, rtol=1e-5, msg=f"hidden state {layer}")
    for layer, (mine, theirs) in enumerate(zip(ours.attentions, expected.attentions)):
        assert mine.shape == theirs.shape == (4, 12, real.shape[1], real.shape[1])
        rows = real[:, None, :, None].expand_as(mine)  # attention of real query tokens
        torch.testing.assert_close(mine[rows], theirs[rows], atol=1e-5, rtol=1e-5, msg=f"attention {layer}")
    torch.testing.assert_close(ours.last_hidden_state[real], expected.last_hidden_state[real], atol=1e-4, rtol=1e-4)


def test_sentence_embeddings_match_sentence_transformers(minilm):
    sentence_transformers = pytest.importorskip("sentence_transformers")
    encoder, tokenizer = minilm
    model = sentence_transformers.SentenceTransformer(str(ca.pretrained.minilm_path()), device="cpu")
    expected = model.encode(SENTENCES, convert_to_tensor=True, normalize_embeddings=True)
    ours = ca.pretrained.sentence_embeddings(encoder, tokenizer, SENTENCES)
    torch.testing.assert_close(ours, expected, atol=1e-5, rtol=1e-5)
    similarity = ours @ ours.T
    assert similarity[0, 2] > similarity[0, 3], "a sentence about Transformers is closer to 'Attention is all you need'"
    # in length-sorted batches of 3 and 1, back in the order given
    torch.testing.assert_close(ca.pretrained.sentence_embeddings(encoder, tokenizer, SENTENCES, batch_size=3),
                               expected, atol=1e-5, rtol=1e-5)
    with pytest.raises(TypeError, match="wrap a single sentence in a list"):
        ca.pretrained.sentence_embeddings(encoder, tokenizer, "Hi!")
    with pytest.raises(ValueError, match="batch_size must be a positive int, got 0"):
        ca.pretrained.sentence_embeddings(encoder, tokenizer, SENTENCES, batch_size=0)


def tiny_bert(**kw):
    config = transformers.BertConfig(vocab_size=60, hidden_size=24, num_hidden_layers=2, num_attention_heads=3,
                                     intermediate_size=40, max_position_embeddings=32, **kw)
    torch.manual_seed(0)
    return config


def test_from_hf_bert_loads_any_bert(tmp_path):
    model = transformers.BertModel(tiny_bert(), add_pooling_layer=True).eval()
    encoder = ca.pretrained.from_hf_bert(model)
    ids = torch.randint(0, 60, (2, 9))
    with torch.no_grad():
        torch.testing.assert_close(encoder(ids).last_hidden_state, model(ids).last_hidden_state, atol=1e-5, rtol=1e-5)
    # the state dict of a task model carries a "bert." prefix and a classifier
    classifier = transformers.BertForSequenceClassification(tiny_bert(num_labels=2)).eval()
    state = {k: v for k, v in classifier.state_dict().items() if k.startswith("bert.")}
    encoder2 = ca.pretrained.load_bert_state_dict(ca.TransformerEncoder(ca.pretrained.bert_config(classifier.config)), state)
    with torch.no_grad():
        torch.testing.assert_close(encoder2.eval()(ids).last_hidden_state, classifier.bert(ids).last_hidden_state,
                                   atol=1e-5, rtol=1e-5)


def test_loader_errors():
    config = tiny_bert()
    encoder = ca.TransformerEncoder(ca.pretrained.bert_config(config))
    state = transformers.BertModel(config).state_dict()
    with pytest.raises(ValueError, match="the state dict lacks 2 parameters"):
        ca.pretrained.load_bert_state_dict(encoder, {k: v for k, v in state.items() if "layer.1.output.dense" not in k})
    with pytest.raises(ValueError, match="unknown BERT parameter 'cls.predictions.bias'; a task head cannot be loaded"):
        ca.pretrained.load_bert_state_dict(encoder, {**state, "cls.predictions.bias": torch.zeros(1)})
    with pytest.raises(ValueError, match="only absolute position embeddings"):
        ca.pretrained.bert_config(transformers.BertConfig(position_embedding_type="relative_key"))


def _copy_of_minilm(tmp_path, replace=None, drop=None):
    """A folder of links to the wheel's files, with one file replaced by other bytes or left out."""
    source = ca.pretrained.minilm_path()
    for name in ca.pretrained.MINILM_SHA256:
        if name == drop:
            continue
        if name == replace:
            data = bytearray((source / name).read_bytes())
            data[len(data) // 2] ^= 1  # one bit flipped
            (tmp_path / name).write_bytes(bytes(data))
        else:
            (tmp_path / name).symlink_to(source / name)
    return tmp_path


def test_minilm_files_are_the_published_checkpoint():
    path = ca.pretrained.minilm_path()
    assert ca.pretrained.verify_minilm(path) == path
    assert "sentence-transformers/all-MiniLM-L6-v2" in ca.pretrained.MINILM_SOURCE
    assert ca.pretrained.MINILM_LICENSE == "Apache-2.0"


@pytest.mark.parametrize("name", ["model.safetensors", "vocab.txt"])
def test_verify_minilm_refuses_other_bytes(tmp_path, name):
    folder = _copy_of_minilm(tmp_path, replace=name)
    with pytest.raises(ValueError, match=f"{name} has SHA-256 .* but the checkpoint"):
        ca.pretrained.verify_minilm(folder)


def test_verify_minilm_refuses_a_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="lacks config.json"):
        ca.pretrained.verify_minilm(_copy_of_minilm(tmp_path, drop="config.json"))
    with pytest.raises(TypeError, match="folder must be a path"):
        ca.pretrained.verify_minilm(3)
