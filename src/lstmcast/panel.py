"""PanelForecaster: many series, one global LSTM network (or one per series), with known-future covariates.

Each series keeps its own transforms (scaler, difference and, for ``model="auto"``, its own
statistical skeleton), fitted on its own training rows by its own clone of the template
Forecaster; the windows of every series are pooled and ONE network learns from all of them
(the M4 lesson: cross-learning is where RNNs beat per-series statistics).

    pf = PanelForecaster(Forecaster(model="vanilla", look_back=12, epochs=50, seed=0)).fit(long_frame)
    pf.forecast(12)                                   # long frame: unique_id, ds, forecast
    panel_walk_forward(pf, long_frame, test_size=12).rmse

Covariates. A future-known column (``future_columns``, or the calendar features) is *led*: row t
of the frame the network sees holds its values at t+1 .. t+steps_out, so a window ending at t
sees the covariate at the times it predicts. Forecasting needs those values over the horizon
(``forecast(h, future=...)``; calendar features are derived from the dates). Past covariates
(``past_columns``) are observed only up to the forecast origin, so they serve direct forecasts
(``steps_out >= horizon``) only.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from sklearn.base import BaseEstimator, clone

from lstmcast.data.panel import _LONG_FORMAT, calendar_features, to_long, to_panel
from lstmcast.data.timeindex import future_index
from lstmcast.data.validate import _label, check_int, validate_series
from lstmcast.errors import InputError, NotFittedError, TrainingDivergedError
from lstmcast.evaluation.baselines import interval_frame
from lstmcast.evaluation.conformal import PanelBands, check_pooling, n_calibration_origins, naive_scale, panel_bands
from lstmcast.evaluation.metrics import check_levels, coverage, level_label, mean_width, winkler
from lstmcast.evaluation.metrics import rmse as rmse_of
from lstmcast.evaluation.split import resolve_test_size
from lstmcast.evaluation.walk_forward import interval_summary, metrics_by_step
from lstmcast.params import HORIZON

POINT = "forecast"


class PanelForecaster(BaseEstimator):
    """Forecast every series of a panel with one shared network (``global_model=True``) or one each.

    ``forecaster`` is an unfitted ``lstmcast.Forecaster`` template (default ``Forecaster(model="auto")``);
    each series gets a clone, so members, seeds and every other parameter are the template's (the
    target becomes ``value_column``). ``future_columns``/``past_columns`` name the covariate
    columns known over the horizon / observed only up to the origin; ``calendar=True`` adds the
    index's calendar features as future-known covariates. Covariates need an architecture
    (``model="auto"`` models one column). ``pooling`` says how prediction intervals
    (``forecast(h, level=...)``) use the calibration errors: see ``calibration``.
    """

    def __init__(
        self,
        forecaster=None,
        global_model: bool = True,
        id_column: str = "unique_id",
        time_column: str = "ds",
        value_column: str = "y",
        calendar: bool = False,
        future_columns: Sequence[str] = (),
        past_columns: Sequence[str] = (),
        pooling: str = "auto",
    ):
        self.forecaster = forecaster
        self.global_model = global_model
        self.id_column = id_column
        self.time_column = time_column
        self.value_column = value_column
        self.calendar = calendar
        self.future_columns = future_columns
        self.past_columns = past_columns
        self.pooling = pooling

    # ---- fitting -----------------------------------------------------------------------------

    def fit(self, data) -> "PanelForecaster":
        """Return self, trained on every series of ``data`` (a long frame, a dict, ... see ``to_panel``)."""
        panel = self._panel(data)  # every series validated here, once
        template = self._template()  # the parameters checked here, once
        self.leads_ = int(template.resolved()["steps_out"])
        self.data_ = panel
        self.bands_ = None  # calibrated on demand (calibration), for the data fitted here
        self.forecasters_ = _copies(template, panel)
        values, failed = {}, {}
        for key, f in self.forecasters_.items():
            try:
                values[key] = f.fit_transforms(self._model_frame(panel[key]))
            except InputError as exc:  # collect them all, so one error names every series that fails
                failed[key] = str(exc)
        if failed:
            first = next(iter(failed))
            raise InputError(f"{len(failed)} of {len(panel)} series cannot be fitted ({_names(failed)}); "
                             f"series {first!r}: {failed[first]}. Drop or lengthen them, or shorten look_back")
        start = time.perf_counter()
        if self.global_model:
            if template.model == "auto" and template.skeleton_weight is None:
                self._choose_skeleton_weights(template)
            self.n_windows_ = self._fit_global(values)
        else:
            self.n_windows_ = 0
            for key, z in values.items():
                f = self.forecasters_[key].choose_skeleton_weight()  # its own network: chosen as fit chooses
                self.n_windows_ += f.fit_windows(*f.training_windows(z)).n_train_windows_
        self.train_seconds_ = time.perf_counter() - start
        return self

    def _choose_skeleton_weights(self, template) -> None:
        """Set each series' skeleton weight (model="auto", one global network), chosen on its validation tail.

        As ``Forecaster.choose_skeleton_weight`` does for one series, with one second network for
        all of them: a clone panel with the LSTM alone is fitted on every series minus its own
        validation tail, and each series keeps the weight whose blend has the lowest RMSE on its
        tail (``Forecaster.tail_weight_report``). When the shortened series cannot be fitted, every
        series keeps the LSTM alone and its report says why.
        """
        from lstmcast.forecaster import weight_not_chosen

        tails = {key: int(f.chosen_["tail"]) for key, f in self.forecasters_.items()}
        inner = clone(self).set_params(forecaster=clone(template).set_params(skeleton_weight=0.0))
        try:
            inner.fit({key: s.iloc[: len(s) - tails[key]] for key, s in self.data_.items()})
        except (InputError, TrainingDivergedError) as exc:
            reports = {key: weight_not_chosen(exc) for key in self.forecasters_}
        else:
            reports = {key: inner.forecasters_[key].tail_weight_report(self.data_[key], tails[key])
                       for key in self.forecasters_}
        for key, f in self.forecasters_.items():
            f.chosen_ = {**f.chosen_, **reports[key]}
            f.skeleton_weight_ = float(reports[key]["skeleton_weight"])

    def _fit_global(self, values: dict) -> int:
        """Return the number of training windows after training one network on every series and sharing it.

        The series' transformed values are pooled in one array and the network trains on its
        windows that lie inside one series (``rows``), so batches gather from one compact array as
        for one long series: the same windows in the same order as concatenating every series' own
        windows, without copying them.
        """
        forecasters = self.forecasters_
        lead, *others = forecasters.values()
        # the copies share their parameters, so a layout differs only with the season length (model="auto")
        layouts = {m: lead.layout(0, m) for m in {f.season_length_ for f in forecasters.values()}}
        shapes = {key: (layouts[forecasters[key].season_length_].look_back, z.shape[1]) for key, z in values.items()}
        first = next(iter(shapes))
        odd = next((key for key in shapes if shapes[key] != shapes[first]), None)
        if odd is not None:
            raise InputError(f"one global network needs windows of one shape; series {first!r} gives look_back x "
                             f"columns {shapes[first]} and series {odd!r} gives {shapes[odd]} (different frequencies "
                             "give model='auto' different look-backs); set look_back and season_length, or use "
                             "global_model=False")
        from lstmcast.training.trainer import ensure_tensor  # torch's training stack loads with the forecaster

        pooled = np.concatenate(list(values.values()))  # (rows of every series, columns), float32
        X, Y = (ensure_tensor(a) for a in lead._frame(pooled))  # views: windows crossing a boundary are never used
        layout = layouts[lead.season_length_]  # one look-back now, so one count of windows for all
        lengths = np.fromiter((len(z) for z in values.values()), dtype=np.int64, count=len(values))
        starts = np.cumsum(lengths) - lengths  # each series' first row in the pooled array
        ends = starts + layout.windows(lengths)  # past each series' last window
        rows = _ranges(starts + layout.trim, ends - layout.validation)
        held = torch.from_numpy(_ranges(ends - layout.validation, ends))
        validation = (X[held], Y[held]) if len(held) else None  # a few windows per series: copied
        lead.fit_windows(X, Y, validation, rows=rows)
        for f in others:
            f.share_network(lead)
        self.network_ = lead.network_
        return len(rows)

    def _template(self):
        """Return the checked template: the given Forecaster, or model="auto", its target set to the value column."""
        from lstmcast.forecaster import Forecaster  # torch loads with the forecaster, not with this module

        template = Forecaster(model="auto") if self.forecaster is None else self.forecaster
        if not isinstance(template, Forecaster):
            raise InputError(f"forecaster must be an lstmcast.Forecaster; got {type(template).__name__}")
        template = clone(template).set_params(target=self.value_column if self._covariates() else None)
        template.check_params()
        if self._covariates() and template.model == "auto":
            raise InputError(
                f"covariates ({', '.join(self._covariates())}) need an architecture: model='auto' models one column; "
                "pass forecaster=Forecaster(model='vanilla', look_back=..., ...)")
        if self.global_model and template.stateful:
            raise InputError("a stateful network carries its state along one series; the global model pools many. "
                             "Use stateful=False or global_model=False")
        return template

    def _covariates(self) -> list[str]:
        """Return the covariate names in model order: past columns, then future columns, then calendar."""
        return [*self.past_columns, *self.future_columns] + (["calendar"] if self.calendar else [])

    def _panel(self, data) -> dict:
        """Return ``data`` as a panel whose covariate columns are exactly those named."""
        if isinstance(self.future_columns, str) or isinstance(self.past_columns, str):
            raise InputError("future_columns and past_columns are lists of column names, e.g. ['price']")
        panel = to_panel(data, self.id_column, self.time_column, self.value_column)
        named = [*self.past_columns, *self.future_columns]
        both = set(self.past_columns) & set(self.future_columns)
        if both:
            raise InputError(f"column {sorted(both)[0]!r} is in both past_columns and future_columns; choose one")
        for key, s in panel.items():
            have = [] if isinstance(s, pd.Series) else [c for c in s.columns if c != self.value_column]
            extra = [c for c in have if c not in named]
            missing = [c for c in named if c not in have]
            if extra:
                raise InputError(f"series {key!r} has column {extra[0]!r}, which is neither in future_columns "
                                 "(known over the horizon) nor in past_columns (observed up to the origin); "
                                 "name it in one of them or drop it")
            if missing:
                raise InputError(f"series {key!r} has no covariate column {missing[0]!r} (columns: "
                                 f"{have + [self.value_column]})")
        return panel

    # ---- covariate layout --------------------------------------------------------------------

    def _model_frame(self, series, future: pd.DataFrame | None = None):
        """Return the frame the network sees: past covariates, led future covariates, then the target.

        Each future-known column c becomes ``c+1 .. c+L`` (L = steps_out): row t holds c at
        t+1 .. t+L. ``future`` holds the values after the series (at least L rows when given);
        without it the unknown tail is filled with the last value, harmless because those rows
        are only ever targets in training windows and one-step predictions, never inputs.
        """
        if isinstance(series, pd.Series) and not self._covariates():
            return series
        frame = series.to_frame() if isinstance(series, pd.Series) else series
        known = self._known(frame.index, frame)
        if future is not None:
            known = pd.concat([known, future[known.columns]])
        parts = [frame[list(self.past_columns)]]
        for column in known.columns:
            values = known[column].to_numpy()
            for k in range(1, self.leads_ + 1):
                led = np.concatenate([values[k:], np.repeat(values[-1:], k)])[: len(frame)]
                parts.append(pd.Series(led, index=frame.index, name=f"{column}+{k}"))
        parts.append(frame[self.value_column])
        return pd.concat(parts, axis=1)

    def _known(self, index: pd.Index, values: pd.DataFrame | None) -> pd.DataFrame:
        """Return the future-known covariates at ``index``: the named columns, then calendar features."""
        parts = [] if values is None else [values[list(self.future_columns)]]
        if self.calendar:
            parts.append(calendar_features(index))
        return pd.concat(parts, axis=1) if parts else pd.DataFrame(index=index)

    # ---- forecasting -------------------------------------------------------------------------

    def forecast(self, horizon: int, future=None, level=None, data=None) -> pd.DataFrame:
        """Return the next ``horizon`` values of every series as a long frame (id, time, forecast).

        ``future`` gives the future-known covariates over the horizon, as a long frame (id, time,
        columns) or a dict of time-indexed frames; InputError when they do not cover it.
        ``level`` (e.g. [80, 95]) adds conformal prediction intervals, columns ``lower_80``,
        ``upper_80``, ... calibrated once per horizon (``calibration``). ``data`` forecasts from new
        histories instead of the fitted ones, without refitting: a fitted id keeps its fitted
        transforms (as ``Forecaster.forecast(y=)``); a new id gets its own transforms fitted on its
        history and shares the global network (and, with ``level``, the unit bands times its scale).
        """
        self._check_fitted()
        horizon = HORIZON.check(horizon)
        levels = None if level is None else check_levels(level)
        histories = self.data_ if data is None else self._panel(data)
        forecasters = {key: self.forecasters_[key] if key in self.forecasters_ else self._adopt(key, series)
                       for key, series in histories.items()}
        futures = self._future_panel(future, forecasters)
        bands = None if levels is None else self.calibration(horizon, levels)
        out = {}
        for key, history in histories.items():
            point = self._forecast_one(key, history, horizon, futures.get(key), forecasters[key])
            if bands is not None:
                own = bands.series[key] if key in bands.series else bands.for_history(self._target(history))
                wanted = {lv: own.apply(point.to_numpy())[lv] for lv in levels}
                point = interval_frame(point.to_numpy(), wanted, point.index)
            out[key] = point
        return to_long(out, self.id_column, self.time_column)

    def _adopt(self, key, series):
        """Return a forecaster for a series the panel was not fitted on: its own transforms, the shared network."""
        if not self.global_model:
            raise InputError(f"series {key!r} was not in the fitted panel, and global_model=False keeps one network "
                             "per fitted series; forecast it with a global model or fit on it first")
        f = _copies(self._template(), [key])[key]
        f.fit_transforms(self._model_frame(series))
        lead = next(iter(self.forecasters_.values()))
        have = (f.network_look_back, len(f.columns_))
        want = (lead.network_look_back, len(lead.columns_))
        if have != want:
            raise InputError(f"new series {key!r} gives look_back x columns {have}, but the global network takes {want}"
                             " (a different frequency gives model='auto' another look-back); give it the panel's "
                             "frequency and columns")
        return f.share_network(lead)

    def calibration(self, horizon: int, levels) -> PanelBands:
        """Return the conformal bands of every series' 1..``horizon``-step forecasts at ``levels``, calibrating once.

        One clone of this panel (same parameters) is fitted on every series minus its
        calibration tail (half the series, at least ten origins, as ``evaluation.conformal.calibrate``),
        so a global network is trained once, not once per series; it forecasts ``horizon`` steps
        from every origin of every tail (future-known covariates read off the data), and the
        absolute errors give the widths (``evaluation.conformal.panel_bands``). Kept in ``bands_``.

        ``pooling`` chooses whose errors make a series' band. ``"series"``: its own errors alone
        (Mondrian conformal: coverage holds for each series). ``"pooled"``: every series' errors
        divided by its scale (the in-sample naive MAE of its fitted part), their quantiles taken
        together and multiplied back by the series' scale: quantiles resting on hundreds of
        errors, but coverage holds only over the panel, per series only where scaled errors are
        alike. ``"auto"`` (the default): its own errors at each level where a series has enough
        origins for that level's finite-sample quantile (4 for 80%, 19 for 95%), pooled ones at
        the others. Why: on 16 AR(1) series of 70-110 months with different persistence and noise
        (test 24, h=6; docs/panel.md) the pooled bands covered 49-100% per series
        at 80% (median 99.6%) and 73% at worst at 95%, while each series' own errors gave 74-100%
        and 96% at worst, narrower on average (mean width 10.6 against 11.7 at 80%): the naive
        MAE does not say how hard a series is to forecast h steps ahead. Pooling remains the
        fallback where one series' dozen errors cannot give a 95% quantile, and the way a new
        series (``forecast(data=)``) gets bands: the pooled unit widths times its scale.
        """
        self._check_fitted()
        bands = getattr(self, "bands_", None)
        if (bands is None or bands.horizon < horizon or not set(levels) <= set(bands.levels)
                or bands.pooling != self.pooling):  # set_params(pooling=...) after calibrating
            wanted = sorted(set(levels) | (set(bands.levels) if bands is not None else set()))
            self.bands_ = self._calibrate(max(horizon, bands.horizon if bands is not None else 0), wanted)
        return self.bands_

    def _calibrate(self, horizon: int, levels) -> PanelBands:
        """Return the panel's bands from the errors of a clone fitted on every series minus its calibration tail."""
        check_pooling(self.pooling)  # before the clone's fit, not after it
        tails, failed = {}, {}
        for key, series in self.data_.items():
            needs = self.forecasters_[key].min_train_size()
            try:
                tails[key] = n_calibration_origins(len(series), horizon, needs, None, f"series {key!r}",
                                                   "the template") + horizon - 1
            except InputError as exc:
                failed[key] = str(exc)
        if failed:
            first = next(iter(failed))
            raise InputError(f"{len(failed)} of {len(self.data_)} series are too short for {horizon}-step intervals "
                             f"({_names(failed)}); {failed[first]}")
        model = clone(self)
        model.fit({key: s.iloc[: len(s) - tails[key]] for key, s in self.data_.items()})
        errors, scales = {}, {}
        for key, series in self.data_.items():
            target = self._target(series).to_numpy()
            cut = len(series) - tails[key]
            origins = range(cut, len(series) - horizon + 1)
            truth = target[np.add.outer(np.asarray(origins), np.arange(horizon))]  # (origins, steps)
            errors[key] = np.abs(truth - model._forecast_origins(key, series, origins, horizon))
            scales[key] = naive_scale(target[:cut])
        return panel_bands(errors, scales, levels, self.pooling)

    def _target(self, series) -> pd.Series:
        """Return the target column of a panel series (the series itself without covariates)."""
        return series if isinstance(series, pd.Series) else series[self.value_column]

    def _future_panel(self, future, known: Mapping) -> dict:
        """Return ``{id: frame of future-known values}`` from a long frame or a dict (empty when None)."""
        if future is None:
            return {}
        if not self.future_columns:
            raise InputError("future= gives future-known covariates, but none were named; set future_columns")
        if isinstance(future, pd.DataFrame) and self.id_column in future.columns:
            future = future.assign(**{self.value_column: 0.0}) if self.value_column not in future else future
            future = to_panel(future, self.id_column, self.time_column, self.value_column)
        if not isinstance(future, Mapping):
            raise InputError("future must be " + _LONG_FORMAT.format(id=self.id_column, time=self.time_column,
                                                                     value="future columns") + f"; got {type(future).__name__}")
        unknown = [k for k in future if k not in known]
        if unknown:
            raise InputError(f"future has series {unknown[0]!r}, which is not among the series forecast")
        return {k: validate_series(v, f"future values of series {k!r}").pipe(
            lambda v: v.to_frame() if isinstance(v, pd.Series) else v) for k, v in future.items()}

    def _forecast_one(self, key, history, horizon: int, future: pd.DataFrame | None, f=None) -> pd.Series:
        """Return series ``key``'s next ``horizon`` values after ``history`` (raw: covariates + target).

        ``f`` is the series' forecaster, by default the fitted one.
        """
        f = self.forecasters_[key] if f is None else f
        if not self._covariates():
            return f.forecast(horizon, y=history).rename(POINT)
        if self.past_columns and horizon > self.leads_:
            raise InputError(f"past covariates ({', '.join(self.past_columns)}) are unknown after the origin, so "
                             f"horizon={horizon} needs direct forecasts: set steps_out >= {horizon}")
        index = future_index(history.index, horizon)
        blocks = -(-horizon // self.leads_)  # the last block's leads may reach past the horizon
        ahead = future_index(history.index, blocks * self.leads_)
        known = self._known(ahead, self._future_values(key, future, index, ahead))
        frame = self._model_frame(history, known)
        done, values = 0, []
        while done < horizon:
            step = f.forecast(min(self.leads_, horizon - done), y=frame).to_numpy()
            values.append(step)
            done += len(step)
            if done < horizon:  # extend the history with the forecasts and their led covariates
                raw = pd.concat([history, self._future_rows(history, values, ahead, known)])
                frame = self._model_frame(raw, known.iloc[done:])
        return pd.Series(np.concatenate(values)[:horizon], index=index, name=POINT)

    def _forecast_origins(self, key, series, origins: range, horizon: int) -> np.ndarray:
        """Return series ``key``'s ``horizon``-step forecasts (origins, horizon) after ``series[:origin]`` for each origin.

        Without covariates one ``Forecaster.forecast_origins`` pass serves every origin; with
        them each origin builds its own frame of covariates (future-known ones read off ``series``).
        """
        if not self._covariates():
            return self.forecasters_[key].forecast_origins(series, origins, horizon)
        return np.stack([
            self._forecast_one(key, series.iloc[:origin], horizon,
                               series.iloc[origin : origin + horizon] if self.future_columns else None).to_numpy()
            for origin in origins])

    def _future_rows(self, history, values: list, ahead: pd.Index, known: pd.DataFrame) -> pd.DataFrame:
        """Return the forecast rows after ``history``: future columns from ``known``, the target forecast."""
        y = np.concatenate(values)
        rows = pd.DataFrame({c: known[c].to_numpy()[: len(y)] for c in self.future_columns}, index=ahead[: len(y)])
        rows[self.value_column] = y
        return rows

    def _future_values(self, key, future: pd.DataFrame | None, index: pd.Index, ahead: pd.Index) -> pd.DataFrame | None:
        """Return the named future columns over ``ahead``: given over the horizon, padded beyond it."""
        if not self.future_columns:
            return None
        if future is None:
            raise InputError(f"series {key!r} has future-known covariates ({', '.join(self.future_columns)}); "
                             f"pass future= with their values over the next {len(index)} periods")
        missing = [c for c in self.future_columns if c not in future.columns]
        if missing:
            raise InputError(f"future values of series {key!r} have no column {missing[0]!r}")
        given = future[list(self.future_columns)].set_axis(_like(future.index, index))
        covered = index.isin(given.index)
        if not covered.all():
            first = index[int(np.argmax(~covered))]
            raise InputError(f"future values of series {key!r} do not cover the horizon: {len(index)} periods from "
                             f"{_label(index[0])} to {_label(index[-1])} are needed, {_label(first)} is missing")
        # a direct block that reaches past the horizon sees the last known values there; its outputs
        # past the horizon are dropped
        return given.reindex(index).reindex(ahead, method=None).ffill()

    # ---- one-step prediction -----------------------------------------------------------------

    def predict(self, data, test_size: int | float) -> pd.DataFrame:
        """Return one-step forecasts of the last ``test_size`` rows of every series, no refitting.

        A long frame (id, time, actual, forecast): each forecast is made from the true values
        before it, as ``Forecaster.predict`` does. ``data`` must hold the fitted series (ids).
        """
        self._check_fitted()
        panel = self._panel(data)
        out = {}
        for key, series in panel.items():
            if key not in self.forecasters_:
                raise InputError(f"series {key!r} was not in the fitted panel; fit on it first")
            n_test = resolve_test_size(len(series), test_size)
            start = len(series) - n_test
            raw = np.asarray(self.forecasters_[key].predict(self._model_frame(series), start))
            target = series if isinstance(series, pd.Series) else series[self.value_column]
            out[key] = pd.DataFrame({"actual": target.iloc[start:].to_numpy(),
                                     POINT: raw.mean(axis=0) if raw.ndim == 2 else raw},
                                    index=target.index[start:])
        return to_long(out, self.id_column, self.time_column)

    def _check_fitted(self) -> None:
        if not hasattr(self, "forecasters_"):
            raise NotFittedError("this PanelForecaster is not fitted yet; call fit(data) first")


def _names(keys) -> str:
    """Return the first ten keys, quoted, for an error message."""
    keys = list(keys)
    return ", ".join(repr(k) for k in keys[:10]) + (" ..." if len(keys) > 10 else "")


def _copies(template, keys) -> dict:
    """Return ``{key: unfitted copy of template}``: what ``sklearn.base.clone`` gives, its parameters read once.

    ``clone`` reads the parameters twice per copy (sklearn's ``get_params`` inspects the
    constructor's signature each time, ~0.3 ms); for a thousand series that was a fifth of a second.
    """
    params = template.get_params(deep=False)
    return {key: type(template)(**copy.deepcopy(params)) for key in keys}


def _ranges(starts: np.ndarray, stops: np.ndarray) -> np.ndarray:
    """Return ``np.arange(start, stop)`` for every pair, concatenated (one vectorised pass, no loop over series)."""
    sizes = stops - starts
    return np.repeat(starts - (np.cumsum(sizes) - sizes), sizes) + np.arange(sizes.sum())


def _like(index: pd.Index, like: pd.Index) -> pd.Index:
    """Return ``index`` as the kind of ``like``: a long frame's dates parse to periods, a dict's may be timestamps."""
    if isinstance(index, pd.PeriodIndex) and isinstance(like, pd.DatetimeIndex):
        return index.to_timestamp().tz_localize(like.tz)
    if isinstance(index, pd.DatetimeIndex) and isinstance(like, pd.PeriodIndex):
        return index.to_period(like.freq)
    return index


@dataclass(frozen=True, eq=False)
class PanelWalkForwardResult:
    """Walk-forward results of a panel: per-forecast rows, per-series scores and pooled RMSE.

    ``folds``: id, origin (observations seen), step, time, actual, forecast, persistence (the
    last value at the origin) and, per level L, lower_L, upper_L. ``per_series``: indexed by id,
    columns n, rmse, persistence_rmse, ratio (rmse / persistence_rmse) and, per level L,
    coverage_L (percent), width_L and winkler_L. ``rmse``/``persistence_rmse`` pool every
    forecast of every series; ``geomean_ratio`` is the geometric mean of the per-series ratios.
    With levels, ``intervals`` maps each level to ``{"coverage", "width", "winkler"}`` over every
    forecast (widths in each series' units, so large series weigh most) and ``by_step`` gives
    n, rmse, mae and those per horizon step.
    """

    folds: pd.DataFrame
    per_series: pd.DataFrame
    rmse: float
    persistence_rmse: float
    geomean_ratio: float
    levels: tuple = ()
    intervals: dict | None = None
    by_step: pd.DataFrame | None = None


def panel_walk_forward(
    panel_forecaster: PanelForecaster, data, test_size: int | float, horizon: int = 1, stride: int = 1,
    future=None, level=None,
) -> PanelWalkForwardResult:
    """Return the walk-forward results of ``panel_forecaster`` on the last ``test_size`` rows of every series.

    A clone is fitted once on every series' training part (a count or fraction per series; series
    may differ in length). ``horizon=1, stride=1`` predicts each test row one step ahead from the
    true past; otherwise each origin forecasts ``horizon`` steps from the history before it
    (future-known covariates come from ``data``'s test rows, which hold their known values).
    ``level`` (e.g. [80, 95]) puts the clone's conformal bands (``PanelForecaster.calibration``,
    calibrated inside the training parts) around every forecast and scores their coverage,
    width and interval (Winkler) score. The caller's forecaster is never fitted or changed.
    """
    horizon = check_int(horizon, "horizon", minimum=1)
    stride = check_int(stride, "stride", minimum=1)
    levels = () if level is None else check_levels(level)
    model = clone(panel_forecaster)
    panel = model._panel(data)
    n_test = {key: resolve_test_size(len(s), test_size) for key, s in panel.items()}
    short = [k for k, n in n_test.items() if n < horizon]
    if short:
        raise InputError(f"series {short[0]!r} has {n_test[short[0]]} test rows (test_size={test_size}) but "
                         f"horizon={horizon}; raise test_size or lower horizon")
    model.fit({key: s.iloc[: len(s) - n_test[key]] for key, s in panel.items()})
    rows = []
    if horizon == 1 and stride == 1:
        pred = model.predict(panel, test_size)
        for key, part in pred.groupby(model.id_column, sort=False):
            n = len(panel[key])
            rows.append(_fold_rows(model, key, panel[key], np.arange(n - len(part), n), 1, part[POINT].to_numpy()))
    else:
        for key, series in panel.items():
            n = len(series)
            origins = range(n - n_test[key], n, stride)
            try:  # every origin at the full horizon; the last ones keep the steps inside the series
                points = model._forecast_origins(key, series, origins, horizon) if not model._covariates() else None
            except TrainingDivergedError:  # maybe only past the series' end: ask each origin for its own steps
                points = None
            for i, origin in enumerate(origins):
                steps = min(horizon, n - origin)
                if points is not None:
                    point = points[i, :steps]
                else:
                    history, ahead = series.iloc[:origin], series.iloc[origin : origin + horizon]
                    known = ahead if model.future_columns else None  # known in advance, so read off the data
                    point = model._forecast_one(key, history, steps, known).to_numpy()
                rows.append(_fold_rows(model, key, series, np.full(steps, origin), np.arange(1, steps + 1), point))
    folds = pd.concat(rows, ignore_index=True)
    if levels:
        folds = _with_bands(folds, model.calibration(horizon, levels), model.id_column)
    return _score(folds, model.id_column, levels)


def _with_bands(folds: pd.DataFrame, bands: PanelBands, id_column: str) -> pd.DataFrame:
    """Return ``folds`` with lower_L/upper_L columns: each series' band widths at each row's step."""
    out = {}
    for lv in bands.levels:
        width = np.empty(len(folds))
        for key, at in folds.groupby(id_column, sort=False).indices.items():
            width[at] = bands.series[key].widths[lv][folds["step"].to_numpy()[at] - 1]
        point = folds[POINT].to_numpy()
        out[f"lower_{level_label(lv)}"], out[f"upper_{level_label(lv)}"] = point - width, point + width
    return folds.assign(**out)


def _fold_rows(model, key, series, origin, step, point) -> pd.DataFrame:
    """Return fold rows of one series: origin, step, time, actual, forecast and persistence."""
    target = series if isinstance(series, pd.Series) else series[model.value_column]
    values = target.to_numpy()
    origin = np.broadcast_to(origin, np.shape(point))
    position = origin + np.asarray(step) - 1
    return pd.DataFrame({model.id_column: key, "origin": origin, "step": np.broadcast_to(step, np.shape(point)),
                         model.time_column: target.index[position], "actual": values[position], POINT: point,
                         "persistence": values[origin - 1]})


def _score(folds: pd.DataFrame, id_column: str, levels: tuple = ()) -> PanelWalkForwardResult:
    """Return the result with per-series and pooled RMSE of the model and of persistence (and interval scores)."""
    per = {}
    for key, part in folds.groupby(id_column, sort=False):
        model, naive = rmse_of(part["actual"], part[POINT]), rmse_of(part["actual"], part["persistence"])
        per[key] = {"n": len(part), "rmse": model, "persistence_rmse": naive,
                    "ratio": model / naive if naive > 0 else np.nan}
        for lv in levels:
            lower, upper = part[f"lower_{level_label(lv)}"], part[f"upper_{level_label(lv)}"]
            per[key][f"coverage_{level_label(lv)}"] = coverage(part["actual"], lower, upper)
            per[key][f"width_{level_label(lv)}"] = mean_width(lower, upper)
            per[key][f"winkler_{level_label(lv)}"] = winkler(part["actual"], lower, upper, lv)
    per_series = pd.DataFrame.from_dict(per, orient="index")
    per_series.index.name = id_column
    ratios = per_series["ratio"].dropna()
    ratios = ratios[ratios > 0]
    return PanelWalkForwardResult(
        folds=folds, per_series=per_series, rmse=float(rmse_of(folds["actual"], folds[POINT])),
        persistence_rmse=float(rmse_of(folds["actual"], folds["persistence"])),
        geomean_ratio=float(np.exp(np.log(ratios).mean())) if len(ratios) else float("nan"),
        levels=tuple(levels), intervals=interval_summary(folds) if levels else None,
        by_step=metrics_by_step(folds) if levels else None,
    )
