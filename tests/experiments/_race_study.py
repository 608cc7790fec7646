"""Run a tiny study ROUNDS times, each round in its own store, in step with a second copy of this script.

    python _race_study.py DIR WHO ROUNDS TEST_SIZE

Started twice by test_concurrency.py. Before each round both copies wait at a file barrier in DIR,
so that they register and train the same study name in the same store at the same moment. Each
round's outcome is written to DIR/result-ROUND-WHO: "ok", "refused: <InputError message>" or
"crash: <exception>".
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from lstmcast.errors import InputError
from lstmcast.experiments.store import Store
from lstmcast.experiments.study import Study

BASE = {"units": 1, "difference": 1, "look_back": 1}


def study(test_size: int) -> Study:
    """Return the race's study: two groups (batch sizes), each read at 2 and 4 epochs, 2 repeats."""
    return Study("shampoo", grid={"batch_size": [1, 4], "epochs": [2, 4]}, repeats=2, base=BASE,
                 test_size=test_size, name="race")


def _barrier(folder: Path, round_: int, who: str, timeout: float = 120.0) -> None:
    (folder / f"ready-{round_}-{who}").touch()
    deadline = time.monotonic() + timeout
    while len(list(folder.glob(f"ready-{round_}-*"))) < 2:
        if time.monotonic() > deadline:
            raise SystemExit(f"the other process never reached round {round_}")
        time.sleep(0.001)


if __name__ == "__main__":
    folder, who, rounds, test_size = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    for k in range(rounds):
        _barrier(folder, k, who)
        try:
            store = Store(folder / f"race{k}.db")
            study(test_size).run(store)
            store.close()
            outcome = "ok"
        except InputError as exc:
            outcome = f"refused: {exc}"
        except Exception as exc:  # noqa: BLE001 - the test reports any crash
            outcome = f"crash: {type(exc).__name__}: {exc}"
        (folder / f"result-{k}-{who}").write_text(outcome)
