"""Run a shampoo study into a store; started by test_resume.py as a process to SIGKILL.

    python _run_study.py STORE NAME EPOCHS BATCH_SIZE[,BATCH_SIZE...] REPEATS

Each batch size is its own group (one transaction); each group is read at EPOCHS // 2 and EPOCHS.
"""

from __future__ import annotations

import sys

from lstmcast.experiments.store import Store
from lstmcast.experiments.study import Study

SHAMPOO = {"units": 1, "stateful": True, "difference": 1, "trim": 2, "look_back": 1}


def study(name: str, epochs: int, batch_sizes: list[int], repeats: int) -> Study:
    """Return the study both this script and the test that kills it run."""
    return Study("shampoo", grid={"batch_size": batch_sizes, "epochs": [epochs // 2, epochs]}, repeats=repeats,
                 base=SHAMPOO, test_size=12, name=name, validation_tail=0)  # batch 4 needs all 20 windows


if __name__ == "__main__":
    path, name, epochs, batch_sizes, repeats = sys.argv[1:]
    study(name, int(epochs), [int(b) for b in batch_sizes.split(",")], int(repeats)).run(Store(path))
