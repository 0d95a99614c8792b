"""course_attn.convnets: the CNN baselines build in locality and translation equivariance, count their
parameters as the formula says, ignore padding, and refuse bad input clearly."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from course_attn.convnets import ImageCNN, SignalCNN


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


# ----------------------------------------------------------------------------- ImageCNN


@pytest.mark.parametrize("channels, size, classes, in_channels", [((16, 32), (28, 28), 10, 1), ((8, 16), (12, 20), 3, 3)])
def test_image_cnn_parameter_count_matches_a_hand_computation(channels, size, classes, in_channels):
    c1, c2 = channels
    conv1 = c1 * in_channels * 9 + c1  # 3 x 3 kernels and a bias per output channel
    conv2 = c2 * c1 * 9 + c2
    head = c2 * (size[0] // 4) * (size[1] // 4) * classes + classes
    model = ImageCNN(classes, channels=channels, in_channels=in_channels, image_size=size)
    assert n_params(model) == conv1 + conv2 + head
    assert n_params(ImageCNN(10)) == 20490  # the default: 160 + 4,640 + 15,690


def test_image_cnn_trunk_is_translation_equivariant_in_steps_of_its_pooling():
    torch.manual_seed(0)
    trunk = ImageCNN(10).trunk.eval()
    images = torch.zeros(4, 1, 28, 28)
    images[:, :, 8:20, 6:16] = torch.rand(4, 1, 12, 10)  # a "stroke" well inside the frame
    shifted = images.roll(4, dims=-1)  # 4 pixels right: the content stays inside, the zeros wrap
    out, out_shifted = trunk(images), trunk(shifted)  # (B, 32, 7, 7)
    # away from the borders (where zero padding differs from the background) the map moves by 1 cell
    assert torch.allclose(out_shifted[..., 1:6, 2:6], out[..., 1:6, 1:5], atol=1e-6)
    assert not torch.allclose(out_shifted[..., 1:6, 2:6], out[..., 1:6, 2:6], atol=1e-3)  # it did move


def test_image_cnn_reads_grey_images_with_or_without_a_channel_dim():
    torch.manual_seed(0)
    model = ImageCNN(10).eval()
    x = torch.rand(3, 28, 28)
    assert torch.equal(model(x), model(x[:, None]))
    assert model(x).shape == (3, 10)


def test_image_cnn_uses_the_position_of_features_through_its_linear_head():
    torch.manual_seed(0)
    model = ImageCNN(10).eval()
    x = torch.zeros(1, 28, 28)
    x[:, 4:10, 4:10] = 1.0
    assert not torch.allclose(model(x), model(x.roll(12, dims=-1)), atol=1e-4)  # not shift-invariant


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(channels=16), TypeError, r"channels must be a pair \(c1, c2\)"),
    (dict(channels=(16, 0)), ValueError, r"channels\[1\] must be a positive int, got 0"),
    (dict(image_size=(30, 28)), ValueError, r"image_size must be \(H, W\) with both sides divisible by 4"),
    (dict(image_size=28), TypeError, r"image_size must be a pair \(H, W\)"),
    (dict(dropout=1.0), ValueError, r"dropout must be a finite number in \[0, 1\)"),
    (dict(in_channels=0), ValueError, r"in_channels must be a positive int"),
])
def test_image_cnn_refuses_bad_settings(kwargs, error, match):
    with pytest.raises(error, match=match):
        ImageCNN(10, **kwargs)


def test_image_cnn_refuses_bad_images():
    model = ImageCNN(10)
    with pytest.raises(ValueError, match=r"x must be images \(B, 1, 28, 28\), got \(2, 1, 32, 32\)"):
        model(torch.rand(2, 32, 32))
    with pytest.raises(ValueError, match=r"x must be images \(B, 1, 28, 28\), got \(2, 3, 28, 28\)"):
        model(torch.rand(2, 3, 28, 28))
    with pytest.raises(TypeError, match="x must hold floating-point values"):
        model(torch.zeros(2, 28, 28, dtype=torch.uint8))
    with pytest.raises(ValueError, match="x must be 3-D or 4-D"):
        model(torch.rand(28, 28))
    with pytest.raises(ValueError, match="num_classes must be an int >= 2"):
        ImageCNN(1)


# ----------------------------------------------------------------------------- SignalCNN


def test_signal_cnn_parameter_count_matches_a_hand_computation():
    F_in, c, k, classes = 12, 64, 3, 9
    expected = (c * F_in * k + c) + (c * c * k + c) + (c * classes + classes)
    assert n_params(SignalCNN(F_in, classes, channels=c, kernel_size=k)) == expected == 15305
    assert n_params(SignalCNN(6, 4, channels=8, kernel_size=5)) == (8 * 6 * 5 + 8) + (8 * 8 * 5 + 8) + (8 * 4 + 4)


def test_global_max_pooling_makes_the_signal_cnn_invariant_to_a_shift_in_time():
    torch.manual_seed(0)
    model = SignalCNN(5, 3, channels=16).eval()
    x = torch.zeros(4, 40, 5)
    x[:, 10:18] = torch.randn(4, 8, 5)  # a pattern in silence
    for shift in (-6, 3, 15):
        assert torch.allclose(model(x.roll(shift, dims=1)), model(x), atol=1e-6), shift


def test_the_signal_cnn_still_reads_local_order():
    torch.manual_seed(0)
    model = SignalCNN(5, 3, channels=16).eval()
    x = torch.randn(4, 20, 5)
    assert not torch.allclose(model(x.flip(1)), model(x), atol=1e-4)  # a kernel of 3 sees its neighbours in order


def test_padding_changes_nothing_when_masked():
    torch.manual_seed(0)
    model = SignalCNN(5, 3, channels=16).eval()
    series = torch.randn(1, 9, 5)
    padded = torch.cat([series, 100 * torch.randn(1, 7, 5)], dim=1)  # loud garbage after the end
    mask = torch.zeros(1, 16, dtype=torch.bool)
    mask[:, :9] = True
    assert torch.allclose(model(padded, key_mask=mask), model(series), atol=1e-5)
    features = model.features(padded, key_mask=mask)  # (1, 16, 16)
    assert torch.allclose(features[..., :9], model.features(series), atol=1e-5)
    assert (features[..., 9:] == 0).all()
    assert not torch.allclose(model(padded), model(series), atol=1e-3)  # unmasked, the garbage counts


def test_signal_cnn_refuses_bad_input():
    model = SignalCNN(5, 3)
    with pytest.raises(ValueError, match=r"x must be frames \(B, T, 5\), got \(2, 10, 4\)"):
        model(torch.randn(2, 10, 4))
    with pytest.raises(ValueError, match="x must be 3-D"):
        model(torch.randn(10, 5))
    with pytest.raises(ValueError, match=r"key_mask must be \(B, T\) = \(2, 10\)"):
        model(torch.randn(2, 10, 5), key_mask=torch.ones(2, 9, dtype=torch.bool))
    with pytest.raises(TypeError, match="key_mask must hold booleans"):
        model(torch.randn(2, 10, 5), key_mask=torch.ones(2, 10))
    empty = torch.ones(2, 10, dtype=torch.bool)
    empty[1] = False
    with pytest.raises(ValueError, match="key_mask has a row without any real frame"):
        model(torch.randn(2, 10, 5), key_mask=empty)
    with pytest.raises(ValueError, match="kernel_size must be odd"):
        SignalCNN(5, 3, kernel_size=4)
    with pytest.raises(TypeError, match="channels must be a positive int"):
        SignalCNN(5, 3, channels=3.5)
