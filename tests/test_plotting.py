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


def _missing_glyphs(fig) -> list[str]:
    """The warnings matplotlib gives when it draws a character its fonts lack (a tofu box)."""
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig.canvas.draw()
    return [str(w.message) for w in caught if "missing from font" in str(w.message)]


def test_chinese_labels_are_drawn_with_a_cjk_font_not_as_boxes():
    import matplotlib as mpl

    tokens = ["注意力", "机制", "attention"]
    with mpl.rc_context({"font.family": ["DejaVu Sans"]}):  # the fallback stays out of other tests
        fig, ax = plt.subplots()
        ax.set_yticks(range(3), labels=tokens)
        assert _missing_glyphs(fig), "without a CJK font the check sees the missing glyphs"
        plt.close(fig)
        fonts = ca.plotting.use_cjk_fonts()
        if not fonts:
            pytest.skip("no CJK font installed (CI installs Debian's fonts-wqy-zenhei)")
        ax = ca.plot_attention(torch.eye(3), tokens, tokens, title="多头注意力")
        assert _missing_glyphs(ax.figure) == []
        family = mpl.rcParams["font.family"]
        assert family[0] == "DejaVu Sans" and set(fonts) <= set(family), "Latin text keeps its font"
        plt.close(ax.figure)
