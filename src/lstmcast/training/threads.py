"""How many torch threads a training or prediction step gets, by the size of the step.

Measured (benchmarks/bench_large.py and bench_medium.py, --threads both ways in one process):
for small steps a second thread costs more to wake than it saves, and on machines shared with
other processes two threads can be several times slower than one even for medium steps, because
every op waits for the slower thread. So small steps run on one thread; large ones keep torch's
setting.
"""

from __future__ import annotations

import torch

# units x batch x members at or below which per-call overhead dominates a step
SMALL_STEP = 4096


class threads_for:
    """Context manager: run steps of ``work`` (units x batch x members) on the thread count that suits them.

    Re-entrant: the previous setting is restored on exit, so the Forecaster's own wrapper and the
    trainer's can nest.
    """

    def __init__(self, work: int):
        self.work = work

    def __enter__(self) -> "threads_for":
        self.saved = torch.get_num_threads()
        if self.work <= SMALL_STEP and self.saved != 1:
            torch.set_num_threads(1)
        return self

    def __exit__(self, *exc) -> None:
        if torch.get_num_threads() != self.saved:
            torch.set_num_threads(self.saved)
