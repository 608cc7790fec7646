"""The one progress helper: a tqdm bar on stderr that stays silent when it is not wanted.

    with progress_bar(total=epochs, desc="vanilla", enabled=None) as bar:
        forecaster.fit(y, callbacks=epoch_callbacks(bar))

``enabled=None`` shows the bar only when stderr is a terminal, so pipes, logs and tests stay clean;
``True`` forces it on (``--progress``), ``False`` off. Library code never prints: it takes
callbacks, and only the CLI decides whether a bar is drawn.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

import numpy as np
from tqdm import tqdm

EpochCallback = Callable[[int, object, np.ndarray], None]


def progress_bar(total: int, desc: str = "", unit: str = "epoch", enabled: bool | None = None) -> tqdm:
    """Return a tqdm bar over ``total`` steps writing to stderr; ``enabled=None`` means "only on a terminal"."""
    # tqdm's own disable=None means exactly "disable when the stream is not a TTY"
    disable = None if enabled is None else not enabled
    return tqdm(
        total=total,
        desc=desc,
        unit=unit,
        file=sys.stderr,  # looked up now, not at import: test runners swap sys.stderr
        disable=disable,
        leave=False,
        dynamic_ncols=True,
        mininterval=0.2,
    )


def epoch_callbacks(bar: tqdm) -> tuple[EpochCallback, ...]:
    """Return the trainer callbacks that advance ``bar`` once per epoch (none when the bar is silent).

    A silent bar gets no callback at all: the fast training path syncs its weights back to the
    network before every callback, which is wasted work when nothing is drawn.
    """
    if bar.disable:
        return ()

    def on_epoch(epoch: int, net, losses: np.ndarray) -> None:
        bar.set_postfix(loss=f"{float(np.mean(losses)):.4g}", refresh=False)
        bar.update(1)
        return None  # a true value would stop training

    return (on_epoch,)
