import time

import pytest
import torch

from course_attn import profiling

MiB = 2**20
CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")


def allocate(nbytes, device="cpu"):
    return torch.empty(nbytes, dtype=torch.uint8, device=device)


@pytest.mark.parametrize("device", ["cpu", pytest.param("cuda", marks=CUDA)])
def test_peak_of_a_known_allocation_is_exact(device):
    assert profiling.peak_extra_bytes(allocate, MiB, device, device=device) == MiB
    assert profiling.peak_extra_bytes(lambda: allocate(3 * MiB, device), device=device) == 3 * MiB


@pytest.mark.parametrize("device", ["cpu", pytest.param("cuda", marks=CUDA)])
def test_freed_temporaries_count_toward_the_peak_but_not_beyond(device):
    def temporaries():
        a = allocate(2 * MiB, device)  # live: 2 MiB
        b = allocate(MiB, device)  # live: 3 MiB  <- the peak
        del a, b  # live: 0
        return allocate(MiB, device)  # live: 1 MiB

    assert profiling.peak_extra_bytes(temporaries, device=device) == 3 * MiB

    def one_after_another():
        for _ in range(4):
            t = allocate(2 * MiB, device)
            del t  # never more than one alive

    assert profiling.peak_extra_bytes(one_after_another, device=device) == 2 * MiB


def test_memory_alive_before_the_call_does_not_count():
    x = torch.zeros(MiB // 4)  # 1 MiB of float32, allocated before
    assert profiling.peak_extra_bytes(torch.Tensor.zero_, x) == 0  # in place: nothing new
    assert profiling.peak_extra_bytes(lambda t: t + t, x) == x.nbytes  # the result is new
    assert profiling.peak_extra_bytes(lambda: None) == 0


def test_peak_matches_the_attention_score_matrix():
    q = torch.randn(2, 4, 256, 8)
    scores = 2 * 4 * 256 * 256 * 4  # (B, H, L, L) float32 = 2 MiB
    assert profiling.peak_extra_bytes(lambda a, b: a @ b.transpose(-2, -1), q, q) == scores


def test_peak_device_follows_the_first_tensor_argument():
    assert profiling.peak_extra_bytes(lambda n, t: allocate(n), MiB, torch.ones(1)) == MiB


def test_timing_returns_the_median_and_respects_repeat_and_warmup():
    calls = []

    def fn(seconds):
        calls.append(seconds)
        time.sleep(seconds)

    t = profiling.median_time(fn, 0.01, repeat=5, warmup=2)
    assert len(calls) == 7
    assert 0.01 <= t < 0.5
    calls.clear()
    assert profiling.median_time(fn, 0.0, repeat=1, warmup=0) > 0
    assert len(calls) == 1


def test_median_ignores_one_slow_call():
    delays = iter([0.0, 0.2, 0.0])  # one slow call out of three (no warm-up)

    t = profiling.median_time(lambda: time.sleep(next(delays)), repeat=3, warmup=0)
    assert 0 < t < 0.1


@CUDA
def test_timing_on_cuda_waits_for_the_kernels():
    x = torch.randn(2048, 2048, device="cuda")
    assert profiling.median_time(torch.matmul, x, x, repeat=3) > 0


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda: profiling.peak_extra_bytes("f"), TypeError, "fn must be callable, got str"),
        (lambda: profiling.median_time(None), TypeError, "fn must be callable, got NoneType"),
        (lambda: profiling.median_time(abs, 1, repeat=0), ValueError, "repeat must be a positive int, got 0"),
        (lambda: profiling.median_time(abs, 1, repeat=2.5), TypeError,
         r"repeat must be a positive int, got 2.5 \(float\)"),
        (lambda: profiling.median_time(abs, 1, repeat=True), TypeError, "repeat must be a positive int, got True"),
        (lambda: profiling.median_time(abs, 1, warmup=-1), ValueError, "warmup must be a non-negative int, got -1"),
        (lambda: profiling.median_time(abs, 1, device="tpu"), ValueError,
         "device must be a torch.device or a device name such as 'cpu' or 'cuda', got 'tpu'"),
        (lambda: profiling.peak_extra_bytes(abs, 1, device="meta"), ValueError,
         r"device must be one of \('cpu', 'cuda'\) for peak memory, got 'meta'"),
        (lambda: profiling.peak_extra_bytes(abs, 1, device=3.5), TypeError,
         r"device must be a torch.device .* got 3.5 \(float\)"),
    ],
)
def test_bad_arguments_raise_clear_errors(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_errors_inside_fn_propagate_and_leave_the_profiler_stopped():
    def boom():
        raise RuntimeError("inside fn")

    with pytest.raises(RuntimeError, match="inside fn"):
        profiling.peak_extra_bytes(boom)
    assert profiling.peak_extra_bytes(allocate, MiB) == MiB  # a new profiler starts cleanly


def test_synchronize_is_a_no_op_on_the_cpu():
    assert profiling.synchronize("cpu") is None
    assert profiling.synchronize(None) is None


def test_growth_exponent_recovers_a_power_law_and_matches_numpy():
    np = pytest.importorskip("numpy")
    sizes = [256, 512, 1024, 2048]
    assert profiling.growth_exponent(sizes, [3e-6 * n**2 for n in sizes]) == pytest.approx(2.0)
    assert profiling.growth_exponent(sizes, [7.0] * 4) == pytest.approx(0.0)
    costs = [1.1, 3.9, 17.0, 61.0]  # noisy
    expected = np.polyfit(np.log(sizes), np.log(costs), 1)[0]
    assert profiling.growth_exponent(sizes, costs) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("sizes, costs, message", [
    ([1], [1.0], "at least two"),
    ([1, 2], [1.0], "at least two"),
    ([1, 2], [1.0, 0.0], "must be positive"),
    ([4, 4], [1.0, 2.0], "must not all be equal"),
])
def test_growth_exponent_rejects_what_it_cannot_fit(sizes, costs, message):
    with pytest.raises(ValueError, match=message):
        profiling.growth_exponent(sizes, costs)


def test_attention_sweep_memory_grows_as_the_score_matrix():
    sweep = profiling.attention_sweep([64, 128, 256], ["math", "chunked"], heads=2, head_dim=8, repeat=1,
                                      max_length={"chunked": 128})
    seconds, peak = sweep["seconds"], sweep["peak"]
    assert set(peak) == {("math", 64), ("math", 128), ("math", 256), ("chunked", 64), ("chunked", 128)}
    assert set(seconds) == set(peak) and all(t > 0 for t in seconds.values())
    for L in (64, 128, 256):
        assert peak["math", L] >= 2 * L * L * 4, "at least one float32 (B, H, L, L) matrix"
    slope = profiling.growth_exponent([64, 128, 256], [peak["math", L] for L in (64, 128, 256)])
    assert 1.7 < slope < 2.2
    with pytest.raises(ValueError, match="backends must be one of"):
        profiling.attention_sweep([8], ["fast"])
    with pytest.raises(ValueError, match="lengths must not be empty"):
        profiling.attention_sweep([])
