"""max_steps bounds the work (a 10-million-point series trains without copying its windows); device checks."""

from __future__ import annotations

import resource
import tracemalloc

import numpy as np
import pytest
import torch

from lstmcast.data.windows import windows
from lstmcast.errors import InputError
from lstmcast.models.zoo import ModelConfig, build_network
from lstmcast.training.trainer import TrainConfig, ensure_tensor, predict, train


def ramp_windows(n: int = 44, look_back: int = 4):
    X, y = windows(np.sin(np.arange(n + look_back, dtype=np.float32) * 0.3), look_back)
    return ensure_tensor(X), ensure_tensor(y)


@pytest.mark.parametrize("engine", ["torch", "numpy", "fused"])
def test_max_steps_stops_after_that_many_optimizer_steps(engine):
    X, y = ramp_windows()  # 44 samples, batch 8: 6 steps per epoch
    cfg = ModelConfig(n_in=4, units=4)

    def run(**kw):
        net = build_network(cfg, [0])
        history = train(net, X, y, TrainConfig(batch_size=8, engine=engine, **kw), [0])
        return history, [p.detach().clone() for p in net.parameters()]

    h6, p6 = run(epochs=50, max_steps=6)
    h_epoch, p_epoch = run(epochs=1)
    assert h6.extra["steps"] == 6 and h6.stopped_epoch == 1 and h6.loss.shape == (1, 1)
    for a, b in zip(p6, p_epoch):  # six steps are exactly the first epoch
        torch.testing.assert_close(a, b, atol=0, rtol=0)
    h8, p8 = run(epochs=50, max_steps=8)
    assert h8.extra["steps"] == 8 and h8.stopped_epoch == 2 and h8.loss.shape == (2, 1)
    assert any((a - b).abs().max() > 0 for a, b in zip(p8, p6))
    h9, _ = run(epochs=50, max_steps=9)
    assert h9.extra["steps"] == 9


def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize()


@pytest.mark.slow  # about 2 s: two shuffling orders of 10M indices
@pytest.mark.skipif(not hasattr(resource, "getrusage") or not __import__("os").path.exists("/proc/self/statm"),
                    reason="needs Linux /proc and getrusage")
def test_a_ten_million_point_series_trains_fifty_steps_without_copying_its_windows():
    look_back = 24
    series = np.sin(np.arange(10_000_000, dtype=np.float32) * 0.01)  # 40 MB; all windows would be 960 MB
    X_view, y_view = windows(series, look_back)
    X, y = ensure_tensor(X_view), ensure_tensor(y_view)
    assert X.shape == (10_000_000 - look_back, look_back, 1)
    assert X.untyped_storage().nbytes() <= series.nbytes  # a view of the series, not a copy
    net = build_network(ModelConfig(n_in=look_back, units=8), [0, 1])
    before_rss = _rss_bytes()
    before_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    tracemalloc.start()
    try:
        history = train(net, X, y, TrainConfig(epochs=1, batch_size=64, max_steps=50), [0, 1])
        numpy_peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    after_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    assert history.extra["steps"] == 50 and np.isfinite(history.loss).all()
    assert numpy_peak < 50e6  # NumPy never held the windows
    # torch allocations are not traced: the process peak must not have grown by anything like 960 MB
    # (two members' shuffling orders of 10M int64 indices, 160 MB, are the largest allocation)
    assert after_peak - max(before_peak, before_rss) < 400e6


def test_cuda_without_a_gpu_is_an_input_error_naming_the_fix():
    if torch.cuda.is_available():
        pytest.skip("a GPU is present: benchmarks/gpu_check.py compares cpu and cuda there")
    X, y = ramp_windows()
    with pytest.raises(InputError, match=r"device='cuda'.*no.*use device='cpu'|device='cuda'.*use device='cpu'"):
        train(build_network(ModelConfig(n_in=4, units=4), [0]), X, y, TrainConfig(device="cuda"), [0])


def test_predictions_come_back_on_the_cpu():
    X, y = ramp_windows()
    net = build_network(ModelConfig(architecture="bidirectional", n_in=4, units=4), [0])
    train(net, X, y, TrainConfig(epochs=1, device="cpu"), [0])
    out, _ = predict(net, X)
    assert out.device.type == "cpu" and out.shape == (1, len(X), 1, 1)
