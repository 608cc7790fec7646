"""Open a fresh store, register a study and save its runs ROUNDS times, in step with other copies of this script.

    python _race_store.py DIR WHO COPIES ROUNDS

Started several times at once by test_concurrency.py (no training: the race is on creating the
file, registering the study and committing runs). Round k uses DIR/storek.db; its outcome is
written to DIR/result-k-WHO: "ok <new runs>" or "crash: <exception>".
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from lstmcast.experiments.store import Store

CONFIGS = [("a", {"epochs": 5}), ("b", {"epochs": 10})]
SPEC = {"configs": [p for _, p in CONFIGS], "repeats": 3}


def results(who: int) -> list[dict]:
    """Return every run of the study; each copy saves them in its own order."""
    runs = [{"config_key": key, "repeat": r, "seed": r, "rmse": float(r), "predictions": [float(r)] * 4}
            for key, _ in CONFIGS for r in range(3)]
    return runs[who:] + runs[:who]


if __name__ == "__main__":
    folder, who, copies, rounds = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    for k in range(rounds):
        (folder / f"ready-{k}-{who}").touch()
        while len(list(folder.glob(f"ready-{k}-*"))) < copies:
            time.sleep(0.0005)
        try:
            store = Store(folder / f"store{k}.db")
            study_id = store.open_study("s", "data", SPEC, CONFIGS, fingerprint="f" * 64)
            new = sum(store.save_group(study_id, [run], seconds=1.0) for run in results(who))
            store.close()
            outcome = f"ok {new}"
        except Exception as exc:  # noqa: BLE001 - the test reports any failure
            outcome = f"crash: {type(exc).__name__}: {exc}"
        (folder / f"result-{k}-{who}").write_text(outcome)
