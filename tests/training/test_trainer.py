"""train(): ensembles equal solo runs, stateful semantics, callbacks, early stopping, divergence."""

from __future__ import annotations

import copy
import re

import numpy as np
import pytest
import torch

from lstmcast.data.windows import windows
from lstmcast.errors import InputError, TrainingDivergedError
from lstmcast.models.zoo import ModelConfig, build_network
from lstmcast.training.trainer import TrainConfig, evaluate_loss, predict, train

TOL = 1e-5


def supervised(values, n_in: int, n_out: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    X, y = windows(np.asarray(values, dtype=np.float64), n_in, n_out)
    return torch.tensor(np.array(X), dtype=torch.float32), torch.tensor(np.array(y), dtype=torch.float32)


def noisy_sine(n: int, seed: int = 0, noise: float = 0.1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.sin(np.arange(n) * 0.5) + noise * rng.standard_normal(n)


def params(net) -> list[torch.Tensor]:
    return [p.detach().clone() for p in net.parameters()]


CONFIGS = {
    "vanilla": dict(architecture="vanilla", n_in=4, units=6),
    "stacked": dict(architecture="stacked", n_in=4, units=5),
    "bidirectional": dict(architecture="bidirectional", n_in=4, units=5),
    "cnn-lstm": dict(architecture="cnn-lstm", n_in=4, units=5, filters=4, subsequences=2),
}


@pytest.mark.parametrize("stateful", [False, True], ids=["stateless-shuffled", "stateful"])
@pytest.mark.parametrize(
    "name, engine",
    [("vanilla", "auto"), ("vanilla", "torch"), ("vanilla", "numpy"), ("vanilla", "fused"), ("stacked", "fused"),
     ("bidirectional", "auto"), ("cnn-lstm", "torch")],
)
def test_member_k_ends_where_a_solo_run_with_seed_k_ends(name, engine, stateful):
    X, y = supervised(noisy_sine(16), 4)  # 12 samples
    cfg = ModelConfig(**CONFIGS[name])
    tc = TrainConfig(epochs=10, batch_size=4, learning_rate=0.01, shuffle=True, stateful=stateful, engine=engine)
    seeds = [5, 6, 7]
    ensemble = build_network(cfg, seeds)
    history = train(ensemble, X, y, tc, seeds)
    assert engine == "auto" or history.extra["engine"] == engine
    pred_ens, _ = predict(ensemble, X, batch_size=4, stateful=stateful)
    for k in (0, 2):
        solo = build_network(cfg, [seeds[k]])
        solo_history = train(solo, X, y, tc, [seeds[k]])
        for (pname, p_ens), p_solo in zip(ensemble.named_parameters(), solo.parameters()):
            torch.testing.assert_close(p_ens[k], p_solo[0], atol=TOL, rtol=0, msg=f"{pname} of member {k}")
        pred_solo, _ = predict(solo, X, batch_size=4, stateful=stateful)
        torch.testing.assert_close(pred_ens[k], pred_solo[0], atol=TOL, rtol=0)
        np.testing.assert_allclose(history.loss[:, k], solo_history.loss[:, 0], rtol=1e-4)
    assert not torch.allclose(pred_ens[0], pred_ens[1])  # the members really differ


def test_shuffling_gives_each_member_its_own_order_and_stateful_never_shuffles():
    X, y = supervised(noisy_sine(16), 4)
    cfg = ModelConfig(n_in=4, units=4)

    def run(**kw):
        net = build_network(cfg, [1])
        train(net, X, y, TrainConfig(epochs=3, batch_size=4, engine="torch", **kw), [1])
        return params(net)

    shuffled, ordered = run(shuffle=True), run(shuffle=False)
    assert any((a - b).abs().max() > 1e-6 for a, b in zip(shuffled, ordered))
    for a, b in zip(run(stateful=True, shuffle=True), run(stateful=True, shuffle=False)):
        torch.testing.assert_close(a, b, atol=0, rtol=0)


def test_stateful_batch_size_must_divide_the_samples():
    X, y = supervised(np.arange(13.0), 3)  # 10 samples
    net = build_network(ModelConfig(n_in=3, units=2), [0])
    with pytest.raises(InputError) as info:
        train(net, X, y, TrainConfig(epochs=1, batch_size=4, stateful=True), [0])
    message = str(info.value)
    assert re.search(r"\b10\b", message) and "batch_size=4" in message
    assert "batch_size=2" in message or "batch_size=5" in message  # a batch size that divides 10
    train(net, X, y, TrainConfig(epochs=1, batch_size=5, stateful=True), [0])  # 5 divides 10


@pytest.mark.parametrize(
    "overrides", [dict(epochs=0), dict(batch_size=0), dict(learning_rate=0), dict(optimizer="lbfgs"),
                  dict(loss="hinge"), dict(engine="jax"), dict(max_steps=0), dict(max_steps=2.5),
                  dict(device="tpu"), dict(learning_rate=float("nan"))]
)
def test_bad_train_config_is_an_input_error(overrides):
    with pytest.raises(InputError):
        TrainConfig(**overrides).validated(10)


def diverging_problem():
    """relu, 50 units, a huge learning rate, unscaled values 0..1000 over a 10-step window."""
    X, y = supervised(np.linspace(0, 1000, 40), 10)
    return X, y, ModelConfig(n_in=10, units=50, activation="relu")


def check_diverges(engine: str) -> None:
    X, y, cfg = diverging_problem()
    net = build_network(cfg, [0, 1])
    completed = []
    with pytest.raises(TrainingDivergedError) as info:
        train(net, X, y, TrainConfig(epochs=5, learning_rate=10, engine=engine), [0, 1],
              callbacks=(lambda epoch, *_: completed.append(epoch),))
    found = re.search(r"(nan|inf) at epoch (\d+)", str(info.value))
    assert found, str(info.value)
    epoch = int(found.group(2))
    assert 1 <= epoch <= 5
    assert completed == list(range(1, epoch))  # raised in that epoch, before its callbacks
    assert "learning rate" in str(info.value)


def test_huge_learning_rate_with_relu_raises_diverged_naming_the_epoch():
    check_diverges("torch")


def test_huge_learning_rate_diverges_with_the_default_engine_too():
    check_diverges("auto")


def test_huge_learning_rate_diverges_with_the_fused_engine_too():
    X, y = supervised(np.linspace(0, 1000, 40), 10)
    net = build_network(ModelConfig(n_in=10, units=50), [0, 1])
    with pytest.raises(TrainingDivergedError, match=r"(nan|inf) at epoch \d+"):
        train(net, X, y, TrainConfig(epochs=5, learning_rate=float("inf"), engine="fused"), [0, 1])


@pytest.mark.parametrize("engine", ["torch", "auto"])
def test_nan_loss_raises_diverged_at_epoch_one(engine):
    X, y = supervised(np.arange(20.0), 3)
    y = y.clone()
    y[4] = float("nan")
    with pytest.raises(TrainingDivergedError, match=r"nan at epoch 1\b"):
        train(build_network(ModelConfig(n_in=3, units=3), [0]), X, y, TrainConfig(epochs=3, engine=engine), [0])


@pytest.mark.parametrize("engine", ["torch", "auto"])
def test_callbacks_run_once_per_epoch_and_true_stops_training(engine):
    X, y = supervised(noisy_sine(30), 3)
    net = build_network(ModelConfig(n_in=3, units=4), [0, 1])
    initial = params(net)
    calls, snapshots = [], []

    def record(epoch, model, losses):
        calls.append((epoch, np.array(losses, copy=True)))
        snapshots.append(params(model))

    full = train(net, X, y, TrainConfig(epochs=6, batch_size=8, engine=engine), [0, 1], callbacks=(record,))
    assert [e for e, _ in calls] == [1, 2, 3, 4, 5, 6]
    for e, losses in calls:
        np.testing.assert_allclose(losses, full.loss[e - 1])
    # the callback sees the weights as they are after that epoch (the fast engine syncs them back)
    assert any((a - b).abs().max() > 0 for a, b in zip(snapshots[0], initial))
    assert any((a - b).abs().max() > 0 for a, b in zip(snapshots[0], snapshots[1]))
    for a, b in zip(snapshots[-1], params(net)):
        torch.testing.assert_close(a, b, atol=0, rtol=0)

    seen = []

    def stop_at_three(epoch, model, losses):
        seen.append(epoch)
        return epoch == 3

    net2 = build_network(ModelConfig(n_in=3, units=4), [0, 1])
    history = train(net2, X, y, TrainConfig(epochs=50, batch_size=8, engine=engine), [0, 1],
                    callbacks=(stop_at_three, lambda *a: None))
    assert seen == [1, 2, 3]
    assert history.stopped_epoch == 3 and history.loss.shape == (3, 2)
    np.testing.assert_allclose(history.loss, full.loss[:3], rtol=1e-5)
    for a, b in zip(params(net2), snapshots[2]):  # stopped exactly after epoch 3
        torch.testing.assert_close(a, b, atol=1e-6, rtol=0)


def test_early_stopping_restores_each_members_best_weights():
    data = noisy_sine(80, seed=0, noise=0.3)
    X, y = supervised(data, 4)
    (Xt, yt), val = (X[:50], y[:50]), (X[50:], y[50:])
    seeds = [0, 1, 2]
    net = build_network(ModelConfig(n_in=4, units=16), seeds)
    tc = TrainConfig(epochs=200, batch_size=8, learning_rate=0.05, patience=10)
    history = train(net, Xt, yt, tc, seeds, validation=val)

    best = history.val_loss.argmin(axis=0)
    assert history.stopped_epoch < 200  # patience ran out
    assert history.loss.shape == history.val_loss.shape == (history.stopped_epoch, 3)
    assert (best + 1 < history.stopped_epoch).any(), "no member got worse: the test would prove nothing"
    np.testing.assert_array_equal(history.best_epoch, best + 1)
    assert history.stopped_epoch == history.best_epoch.max() + tc.patience
    np.testing.assert_allclose(evaluate_loss(net, *val, tc), history.val_loss.min(axis=0), rtol=1e-5)


def test_validation_without_patience_keeps_the_last_weights():
    X, y = supervised(noisy_sine(40), 4)
    net = build_network(ModelConfig(n_in=4, units=4), [0])
    tc = TrainConfig(epochs=8, batch_size=8, learning_rate=0.05)
    history = train(net, X[:25], y[:25], tc, [0], validation=(X[25:], y[25:]))
    assert history.best_epoch is None and history.val_loss.shape == (8, 1)
    np.testing.assert_allclose(evaluate_loss(net, X[25:], y[25:], tc), history.val_loss[-1], rtol=1e-5)


@pytest.mark.parametrize("engine", ["torch", "auto", "fused"])
@pytest.mark.parametrize("stateful", [False, True])
def test_loss_decreases_on_a_learnable_problem(engine, stateful):
    X, y = supervised(np.sin(np.arange(44) * 0.3), 4)  # 40 samples
    net = build_network(ModelConfig(n_in=4, units=8), [0, 1])
    history = train(net, X, y, TrainConfig(epochs=60, batch_size=8, learning_rate=0.01, stateful=stateful,
                                           engine=engine), [0, 1])
    assert (history.loss[-1] < 0.1 * history.loss[0]).all()
    assert (history.loss[-1] < 0.02).all()


# ---- stateful semantics ----------------------------------------------------------------------


def test_stateful_predict_carries_each_sample_slot_into_the_next_batch():
    net = build_network(ModelConfig(n_in=2, units=5), [0, 1])
    X = torch.randn(6, 2, 1, generator=torch.Generator().manual_seed(0))
    stateless, _ = predict(net, X)
    stateful, _ = predict(net, X, batch_size=2, stateful=True)
    torch.testing.assert_close(stateful[:, :2], stateless[:, :2])  # the first batch starts from zero
    assert (stateful[:, 2:] - stateless[:, 2:]).abs().amin() > 1e-6

    # sample 2 sits in slot 0 of batch 1: it continues sample 0, not sample 1
    def changed(i: int) -> torch.Tensor:
        X2 = X.clone()
        X2[i] += 1.0
        out, _ = predict(net, X2, batch_size=2, stateful=True)
        return (out - stateful).abs().amax(dim=(0, 2, 3))  # per sample

    d0, d1 = changed(0), changed(1)
    assert d0[2] > 1e-4 and d0[4] > 1e-5 and d0[3] == 0 and d0[5] == 0
    assert d1[3] > 1e-4 and d1[5] > 1e-5 and d1[2] == 0 and d1[4] == 0


def check_state_continues(net) -> None:
    """predict(..., state=s) with the state returned for X equals predicting X + more in one go."""
    X = torch.randn(6, 2, 1, generator=torch.Generator().manual_seed(0))
    more = torch.randn(4, 2, 1, generator=torch.Generator().manual_seed(1))
    _, state = predict(net, X, batch_size=2, stateful=True)
    assert state is not None, "predict(stateful=True) returned no state"
    tail, _ = predict(net, more, batch_size=2, stateful=True, state=state)
    whole, _ = predict(net, torch.cat([X, more]), batch_size=2, stateful=True)
    torch.testing.assert_close(tail, whole[:, 6:], atol=1e-6, rtol=0)


def test_stateful_predict_continues_from_a_given_state_on_the_torch_path():
    check_state_continues(build_network(ModelConfig(architecture="bidirectional", n_in=2, units=5), [0, 1]))


def test_stateful_predict_continues_from_a_given_state_for_small_stacks():
    check_state_continues(build_network(ModelConfig(n_in=2, units=5), [0, 1]))


def test_stateful_predict_pads_a_short_last_batch_without_changing_earlier_outputs():
    net = build_network(ModelConfig(n_in=2, units=3), [0])
    X = torch.randn(7, 2, 1, generator=torch.Generator().manual_seed(2))
    out7, _ = predict(net, X, batch_size=3, stateful=True)
    out6, _ = predict(net, X[:6], batch_size=3, stateful=True)
    assert out7.shape == (1, 7, 1, 1)
    torch.testing.assert_close(out7[:, :6], out6, atol=0, rtol=0)


def test_predict_accepts_one_input_set_per_member():
    net = build_network(ModelConfig(n_in=3, units=4), [0, 1, 2])
    X = torch.randn(3, 5, 3, 1, generator=torch.Generator().manual_seed(0))
    out, _ = predict(net, X)
    for k in range(3):
        alone, _ = predict(net, X[k])
        torch.testing.assert_close(out[k], alone[k], atol=1e-6, rtol=0)


def hand_written_stateful_sgd(net, X, y, lr: float, batch: int, epochs: int) -> None:
    """Keras' stateful loop: no shuffle, slot i carries to slot i, state detached per batch, reset per epoch."""
    members = net.members
    for _ in range(epochs):
        state = None
        for start in range(0, len(X), batch):
            xb = X[start : start + batch].expand(members, -1, -1, -1)
            yb = y[start : start + batch].expand(members, -1, -1, -1)
            out, new_state = net(xb, state)
            loss = (out - yb).square().flatten(1).mean(dim=1).sum()
            net.zero_grad()
            loss.backward()
            with torch.no_grad():
                for p in net.parameters():
                    p -= lr * p.grad
            state = [tuple(t.detach() for t in s) for s in new_state]


def test_stateful_training_carries_state_detaches_it_and_resets_it_each_epoch():
    X, y = supervised(noisy_sine(14, seed=3), 2)  # 12 samples, 3 batches of 4
    cfg = ModelConfig(architecture="stacked", n_in=2, units=4)
    start = build_network(cfg, [0, 1])
    tc = TrainConfig(epochs=2, batch_size=4, learning_rate=0.1, optimizer="sgd", stateful=True)

    trained = copy.deepcopy(start)
    train(trained, X, y, tc, [0, 1])
    reference = copy.deepcopy(start)
    hand_written_stateful_sgd(reference, X, y, lr=0.1, batch=4, epochs=2)
    for a, b in zip(params(trained), params(reference)):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=0)

    # SGD keeps no optimizer state, so two one-epoch calls equal one two-epoch call iff state resets per epoch
    twice = copy.deepcopy(start)
    one_epoch = TrainConfig(epochs=1, batch_size=4, learning_rate=0.1, optimizer="sgd", stateful=True)
    train(twice, X, y, one_epoch, [0, 1])
    train(twice, X, y, one_epoch, [0, 1])
    for a, b in zip(params(trained), params(twice)):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=0)

    # and the carry matters here: the same batches without it end elsewhere
    no_carry = copy.deepcopy(start)
    train(no_carry, X, y, TrainConfig(epochs=2, batch_size=4, learning_rate=0.1, optimizer="sgd", shuffle=False),
          [0, 1])
    assert any((a - b).abs().max() > 1e-4 for a, b in zip(params(trained), params(no_carry)))


@pytest.mark.parametrize("optimizer", ["sgd", "rmsprop", "adam"])
@pytest.mark.parametrize("loss", ["mse", "mae", "huber"])
def test_every_optimizer_and_loss_keeps_members_independent(optimizer, loss):
    X, y = supervised(noisy_sine(14), 3)
    cfg = ModelConfig(n_in=3, units=3)
    tc = TrainConfig(epochs=3, batch_size=4, optimizer=optimizer, loss=loss, learning_rate=0.01)
    ensemble = build_network(cfg, [4, 9])
    train(ensemble, X, y, tc, [4, 9])
    solo = build_network(cfg, [9])
    train(solo, X, y, tc, [9])
    for p_ens, p_solo in zip(ensemble.parameters(), solo.parameters()):
        torch.testing.assert_close(p_ens[1], p_solo[0], atol=TOL, rtol=0)


@pytest.mark.parametrize("engine", ["torch", "auto"])
def test_a_zero_padded_narrow_member_trains_like_a_narrow_network(engine):
    X, y = supervised(noisy_sine(20), 3)
    tc = TrainConfig(epochs=8, batch_size=4, learning_rate=0.02, engine=engine)
    wide = build_network(ModelConfig(architecture="stacked", n_in=3, units=5), [1, 2], member_units=[2, 5])
    train(wide, X, y, tc, [1, 2])
    narrow = build_network(ModelConfig(architecture="stacked", n_in=3, units=2), [1])
    train(narrow, X, y, tc, [1])
    wide_pred, _ = predict(wide, X)
    narrow_pred, _ = predict(narrow, X)
    torch.testing.assert_close(wide_pred[0], narrow_pred[0], atol=TOL, rtol=0)
    cell = wide.rnns[0].cell
    assert cell.w_h[0, 2:].abs().max() == 0 and cell.w_h[0, :, 2:5].abs().max() == 0  # padding stayed zero


def test_stateful_validation_continues_from_the_state_training_builds():
    X, y = supervised(noisy_sine(45), 4)
    Xt, yt, Xv, yv = X[:32], y[:32], X[32:], y[32:]
    net = build_network(ModelConfig(n_in=4, units=4), [0])
    tc = TrainConfig(epochs=6, batch_size=4, learning_rate=0.05, stateful=True)
    history = train(net, Xt, yt, tc, [0], validation=(Xv, yv))
    continued = evaluate_loss(net, Xv, yv, tc, replay=Xt)
    from_zero = evaluate_loss(net, Xv, yv, tc)
    np.testing.assert_allclose(history.val_loss[-1], continued, rtol=1e-5)
    assert not np.allclose(continued, from_zero, rtol=1e-4)  # the carried state matters here
