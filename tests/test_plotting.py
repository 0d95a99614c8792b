import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

import course_attn as ca


def test_plot_attention_draws_the_matrix_with_token_labels():
    weights = torch.rand(1, 3, 4).softmax(-1)
    ax = ca.plot_attention(weights, ["a", "b", "c"], ["w", "x", "y", "z"], title="demo")
    np.testing.assert_allclose(ax.images[0].get_array(), weights[0].numpy(), rtol=1e-6)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["w", "x", "y", "z"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "b", "c"]
    assert len(ax.texts) == 12, "small matrices are annotated cell by cell"
    assert ax.get_title() == "demo"
    plt.close(ax.figure)


def test_plot_attention_rejects_mismatched_labels():
    with pytest.raises(ValueError, match="keys has 2 labels but the matrix has 4 columns"):
        ca.plot_attention(torch.rand(3, 4), keys=["a", "b"])
    with pytest.raises(ValueError, match=r"needs one non-empty \(L, S\) matrix, got shape \(2, 3, 4\)"):
        ca.plot_attention(torch.rand(2, 3, 4))
