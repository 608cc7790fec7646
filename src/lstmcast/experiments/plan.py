"""The execution plan of a study: which runs train together.

A *run* is one repeat of one configuration. Runs whose configurations differ only in ``epochs``
are the same model looked at after different numbers of epochs, so they share one *member*
(same seed) and are read off as snapshots. Members whose configurations have the same tensor
shapes and training schedule (everything but the seed, the epochs and labels) form a *group*,
which trains as one ensemble for the largest epoch count among its members. For the LSTM stacks
(vanilla, stacked, vector) ``units`` is per member too: narrower members are zero-padded to the
widest, which is exact (see ``models.zoo.build_network``), so a units grid is one group.

The plan is plain data: print it (``lstmcast tune --dry-run``), test it, store its keys.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from lstmcast.forecaster import Forecaster
from lstmcast.params import MODEL_DEFAULTS, PARAMS

FORECASTER_PARAMS = frozenset(PARAMS)
SNAPSHOT_PARAMS = frozenset({"epochs"})  # differ within a member: read off as snapshots
MEMBER_PARAMS = frozenset({"seed", "members"})  # set by the plan, never by a configuration
PADDABLE_MODELS = frozenset({"vanilla", "stacked", "vector"})  # units may differ between members
DEFAULT_UNITS = MODEL_DEFAULTS["units"]


def canonical(params: dict) -> str:
    """Return a stable JSON text for ``params`` (sorted keys), used as an identity."""
    return json.dumps(params, sort_keys=True, separators=(",", ":"), default=str)


def stable_seed(*parts: object) -> int:
    """Return a 31-bit seed derived from ``parts``, the same on every machine and run."""
    digest = hashlib.sha256(canonical(list(parts)).encode()).digest()
    return int.from_bytes(digest[:4], "little") & 0x7FFFFFFF


@dataclass(frozen=True)
class Run:
    """One repeat of one configuration: its identity, seed and the epoch count to read it at."""

    config_key: str
    repeat: int
    seed: int
    epochs: int


@dataclass(frozen=True)
class Member:
    """One trained model (one seed) and the runs read off it at their epoch counts."""

    seed: int
    runs: tuple[Run, ...]
    units: int | None = None  # per-member width (padded groups), None when the group fixes it


@dataclass(frozen=True)
class Group:
    """Members that train together as one ensemble with ``params`` (epochs = the largest needed)."""

    key: str
    params: dict
    members: tuple[Member, ...]

    @property
    def epochs(self) -> int:
        return max(r.epochs for m in self.members for r in m.runs)

    @property
    def n_runs(self) -> int:
        return sum(len(m.runs) for m in self.members)

    def forecaster_params(self) -> dict:
        """Return the Forecaster parameters that train this group as one ensemble."""
        params = {**self.params, "epochs": self.epochs, "seed": [m.seed for m in self.members]}
        if self.members[0].units is not None:
            params["units"] = [m.units for m in self.members]
        return params

    def work(self, n_train: int) -> int:
        """Return the optimizer steps this group takes on ``n_train`` training observations.

        The window layout of the group's own parameters counts them (look-back, difference,
        trim, batch size and max_steps all change it).
        """
        return Forecaster(**self.params).layout().total_steps(n_train, self.epochs)


@dataclass(frozen=True)
class Plan:
    """The groups of a study, in the order they run."""

    groups: tuple[Group, ...]
    skipped_runs: int = 0  # finished earlier (found in the store)

    @property
    def n_runs(self) -> int:
        return sum(g.n_runs for g in self.groups)

    def describe(self, n_train: int | None = None) -> list[dict]:
        """Return one row per group: key params, members, runs, epochs and estimated steps."""
        rows = []
        for i, g in enumerate(self.groups):
            row = {"group": i, "params": g.params, "members": len(g.members), "runs": g.n_runs, "epochs": g.epochs}
            if n_train is not None:
                row["steps"] = g.work(n_train)
            rows.append(row)
        return rows


def split_params(config: dict) -> tuple[dict, dict, dict]:
    """Return (group params, snapshot params, labels) of one configuration.

    Labels are keys that are not Forecaster parameters (e.g. which experiment of a reproduction
    a configuration belongs to): they change seeds and identity but not how runs are grouped.
    """
    group, snap, labels = {}, {}, {}
    for k, v in config.items():
        if k in SNAPSHOT_PARAMS:
            snap[k] = v
        elif k in MEMBER_PARAMS:
            continue
        elif k in FORECASTER_PARAMS:
            group[k] = v
        else:
            labels[k] = v
    return group, snap, labels


def make_plan(study_name: str, configs: list[dict], repeats: int, done: set[tuple[str, int]] = frozenset()) -> Plan:
    """Return the plan for ``configs`` x ``repeats``, leaving out the (config_key, repeat) runs in ``done``.

    Seeds depend on the study name, the configuration without its epochs, and the repeat, so a
    run's result does not depend on how the plan grouped it (resuming gives the same numbers).
    Members are grouped by shape key and by their own epoch count: a member that needs 1000
    epochs never rides along a 6000-epoch group, where padding would make it cost 6x more.
    """
    members: dict[tuple, dict] = {}  # (member id, repeat) -> group params, units, runs
    skipped = 0
    for config in configs:
        group_params, snap, labels = split_params(config)
        member_id = canonical({**group_params, **labels})
        units = None
        if group_params.get("model", "vanilla") in PADDABLE_MODELS:
            units = int(group_params.pop("units", DEFAULT_UNITS))
        for r in range(repeats):
            run = Run(canonical(config), r, stable_seed(study_name, member_id, r), int(snap.get("epochs", 100)))
            if (run.config_key, r) in done:
                skipped += 1
                continue
            entry = members.setdefault((member_id, r), {"params": group_params, "units": units, "runs": []})
            entry["runs"].append(run)
    groups: dict[str, dict] = {}
    for entry in members.values():
        horizon = max(run.epochs for run in entry["runs"])
        gkey = canonical({**entry["params"], "epochs": horizon})
        group = groups.setdefault(gkey, {"params": entry["params"], "members": []})
        group["members"].append(Member(entry["runs"][0].seed, tuple(entry["runs"]), entry["units"]))
    out = tuple(Group(key, g["params"], tuple(g["members"])) for key, g in groups.items())
    return Plan(out, skipped_runs=skipped)
