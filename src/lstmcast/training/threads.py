"""How many torch threads a training or prediction step gets, by the size of the step and the machine's load.

Measured in one process, thread counts 1,2,2,1 (benchmarks/bench_large.py --threads 1,2,2,1,
2 cores shared with other jobs, load average ~5): look-back 24, 64 units, batch 256 took
37-51 ms per nn.LSTM step on one thread and 440-1100 ms on two; our kernels alike. OpenMP's
second thread spin-waits for a core that another process holds, so every op waits for it. For
small steps (units x batch x members <= SMALL_STEP) a second thread costs more to wake than it
saves even on an idle machine. So: one thread for small steps, and one thread whenever the load
average says the cores are taken; otherwise torch's own setting.
"""

from __future__ import annotations

import os

import torch

# units x batch x members at or below which per-call overhead dominates a step
SMALL_STEP = 4096


def machine_busy() -> bool:
    """Return True when the load average says another process holds part of a core.

    The load includes this process's own runnable thread, so a load of cores - 0.5 means other
    work holds half a core or more (on 2 cores: 1.5). Whole training loops took 30-100x longer on two threads
    at loads of 1.9-2.4 here (the earlier threshold, cores + 0.5, let them run on two).
    """
    try:
        load = os.getloadavg()[0]
    except OSError:  # not available on this platform: assume a machine of our own
        return False
    return load >= (os.cpu_count() or 1) - 0.5


class threads_for:
    """Context manager: run steps of ``work`` (units x batch x members) on the thread count that suits them.

    Re-entrant: the previous setting is restored on exit, so the Forecaster's own wrapper and the
    trainer's can nest.
    """

    def __init__(self, work: int):
        self.work = work

    def __enter__(self) -> "threads_for":
        self.saved = torch.get_num_threads()
        if self.saved != 1 and (self.work <= SMALL_STEP or machine_busy()):
            torch.set_num_threads(1)
        return self

    def __exit__(self, *exc) -> None:
        if torch.get_num_threads() != self.saved:
            torch.set_num_threads(self.saved)
