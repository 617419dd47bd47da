"""Members' positions in K dimensions, drifting year to year, and each roll call's direction.

A multidimensional ordered-logit item-response model over every recorded GA roll call from
`since` to a cut-off (Y/A/N; X is missing, not a vote), in the spirit of Bailey, Strezhnev and
Voeten's dynamic ideal points:

    eta_ij = a_j . x_i(year of j)           (a_j: the roll call's direction, K numbers)
    P(Y) = L(t1_j - eta),  P(N) = 1 - L(t2_j - eta),  A in between   (L logistic, t1 < t2)

- **Time.** x_i(y) is a random walk over calendar years: x_i(first) ~ N(0, 1),
  x_i(y) - x_i(y - 1) ~ N(0, walk_sd^2). A member's position at the cut-off is its position in
  the cut-off's year, so a state that changed course (the United States in 2025) is placed by
  its recent votes without forgetting the old ones.
- **Dimensions.** Axis 0, "general", is the main West-versus-rest axis; axis 1, "ukraine",
  is loaded only by the Ukraine texts (the ES-11 votes and the earlier Crimea and
  territorial-integrity texts of `UKRAINE_TEXTS`): it holds what those votes say beyond the other
  axes. Axes 2.. ("third", "fourth") are free for every other text. Every other axis is
  identified only up to a rotation among the non-Ukraine axes; after the fit they are rotated
  to their principal axes (axis 0 the largest variance of positions) and signed so that Russia
  is high on axes 0 and 1 and the United States low on the others: LOW = Western.
- **Weights.** Each roll call's log-likelihood is weighted 0.5 ** (age / half_life) years.
  Weak priors keep unanimous corners finite: a ~ N(0, 2^2), t1 ~ N(0, 4^2),
  log(t2 - t1) ~ N(0, 2^2). Unanimous roll calls say nothing and are left out.

Maximised by L-BFGS (scipy) with analytic gradients over the observed (member, roll call) pairs,
from a deterministic start (singular vectors of the vote matrix): the same data and settings
give the same numbers. Only rows dated strictly before `until` are used.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import expit

from sim.errors import BlocsimError
from sim.model.positions import ES11_PREFIX, UKRAINE_TEXTS, VOTE_CODE

AXIS_NAMES = ("general", "ukraine", "third", "fourth", "fifth")
GENERAL, UKRAINE = 0, 1


@dataclass(frozen=True)
class IdealPointSettings:
    """The estimator's choices (selected on roll calls before 2025, see docs/calibration.md)."""

    dimensions: int = 3
    since: str = "2015-01-01"
    walk_sd: float = 0.35  # yearly drift of a position, in the prior's units
    half_life: float = 8.0  # years: weight of a roll call's log-likelihood halves
    max_iterations: int = 3000


@dataclass(frozen=True)
class IdealPoints:
    """Positions (N, K) at the cut-off and by year, and each roll call's direction and cuts.

    Members follow `iso3` (the members table's order); `items` is indexed by vote_id with
    columns `a0..a{K-1}` (direction), `t1`, `t2` (cut-points), `date`, `ukraine`.
    """

    iso3: tuple[str, ...]
    axis_names: tuple[str, ...]
    years: tuple[int, ...]
    by_year: np.ndarray  # (Y, N, K)
    items: pd.DataFrame
    until: pd.Timestamp

    @property
    def position(self) -> np.ndarray:
        """(N, K) positions in the cut-off's year (the last year with roll calls)."""
        return self.by_year[-1]

    def direction(self, vote_id: str) -> np.ndarray:
        """(K,) direction of a roll call in the fit (KeyError if it is not in it)."""
        row = self.items.loc[vote_id]
        return row[[f"a{k}" for k in range(len(self.axis_names))]].to_numpy(float)

    def position_in(self, year: int) -> np.ndarray:
        """(N, K) positions in a year: the nearest fitted year at either end."""
        index = int(np.clip(year - self.years[0], 0, len(self.years) - 1))
        return self.by_year[index]

    def of(self, iso3: str) -> np.ndarray:
        return self.position[self.iso3.index(iso3)]


def roll_call_rows(
    history: pd.DataFrame, ukraine: pd.DataFrame, cutoff: pd.Timestamp, since: pd.Timestamp
) -> pd.DataFrame:
    """GA roll calls in [since, cutoff) plus the older Ukraine texts, long: vote_id, date, iso3,
    vote, ukraine (bool). An ES-11 vote found in both files is counted once."""
    es11 = ukraine[(ukraine["body"] == "GA") & (ukraine["date"] < cutoff)]
    es11 = es11.assign(vote_id=es11["resolution"])
    older = history[history["date"] < cutoff]
    older = older[~older["resolution"].isin(set(ukraine["resolution"]))]
    older = older[(older["date"] >= since) | older["resolution"].isin(UKRAINE_TEXTS)]
    columns = ["vote_id", "resolution", "date", "iso3", "vote"]
    rows = pd.concat([older[columns], es11[columns]], ignore_index=True)
    is_ukraine = rows["resolution"].str.startswith(ES11_PREFIX) | rows["resolution"].isin(
        UKRAINE_TEXTS
    )
    return rows.assign(ukraine=is_ukraine.to_numpy(bool))


def estimate_ideal_points(
    members: pd.DataFrame,
    history: pd.DataFrame,
    ukraine: pd.DataFrame,
    until: object,
    settings: IdealPointSettings = IdealPointSettings(),  # noqa: B008 - frozen
    start: IdealPoints | None = None,
) -> IdealPoints:
    """Fit the model to the roll calls dated strictly before `until` (see the module docstring).

    `start`, an earlier fit with the same settings, only speeds the optimiser up.

    Example (with `data = sim.data.loader.load_data()`)::

        points = estimate_ideal_points(data.members, data.history, data.ukraine, "2025-02-24")
        points.of("RUS")[1] > points.of("POL")[1]  # True: Moscow high on the Ukraine axis
    """
    cutoff = pd.Timestamp(until)
    iso3 = tuple(members["iso3"])
    index = {code: i for i, code in enumerate(iso3)}
    rows = roll_call_rows(history, ukraine, cutoff, pd.Timestamp(settings.since))
    rows = rows[rows["iso3"].isin(index.keys()) & rows["vote"].isin(VOTE_CODE.keys())]
    if rows.empty:
        raise BlocsimError(f"no roll calls before {cutoff.date()} to estimate positions from")
    problem = _Problem.build(rows, index, cutoff, settings)
    solution = problem.solve(start)
    return problem.result(solution, iso3, cutoff)


@dataclass
class _Problem:
    """The observed pairs as flat arrays and the parameter layout of one fit."""

    member: np.ndarray  # (P,) member index of each observed pair
    item: np.ndarray  # (P,) roll call index
    cell: np.ndarray  # (P,) year * N + member: the row of x used
    vote: np.ndarray  # (P,) 0 Y, 1 A, 2 N
    weight: np.ndarray  # (P,) recency weight of the pair's roll call
    mask: np.ndarray  # (M, K) 1 where a roll call may load on an axis
    vote_ids: np.ndarray  # (M,)
    item_dates: np.ndarray  # (M,)
    item_ukraine: np.ndarray  # (M,) bool
    years: tuple[int, ...]
    n: int
    settings: IdealPointSettings

    @classmethod
    def build(
        cls,
        rows: pd.DataFrame,
        index: dict[str, int],
        cutoff: pd.Timestamp,
        settings: IdealPointSettings,
    ) -> _Problem:
        vote = rows["vote"].map(VOTE_CODE).to_numpy(np.int64)
        vote_ids, item = np.unique(rows["vote_id"].to_numpy(str), return_inverse=True)
        low = np.full(len(vote_ids), 3)
        high = np.full(len(vote_ids), -1)
        np.minimum.at(low, item, vote)
        np.maximum.at(high, item, vote)
        kept = high > low  # unanimous roll calls say nothing about positions
        keep = kept[item]
        rows, vote = rows[keep], vote[keep]
        item = (np.cumsum(kept) - 1)[item[keep]]
        vote_ids = vote_ids[kept]
        m = len(vote_ids)
        dates = rows["date"].to_numpy("datetime64[ns]")
        item_dates = np.zeros(m, "datetime64[ns]")
        item_dates[item] = dates
        item_ukraine = np.zeros(m, bool)
        item_ukraine[item] = rows["ukraine"].to_numpy(bool)
        item_years = pd.DatetimeIndex(item_dates).year.to_numpy()
        first = int(item_years.min())
        years = tuple(range(first, int(item_years.max()) + 1))
        n = len(index)
        member = rows["iso3"].map(index).to_numpy(np.int64)
        age = (cutoff.to_datetime64() - item_dates).astype("timedelta64[D]").astype(float) / 365.25
        weight = (0.5 ** (age / settings.half_life))[item]
        k = settings.dimensions
        mask = np.ones((m, k))
        if k > 1:
            mask[~item_ukraine, UKRAINE] = 0.0
        return cls(
            member=member,
            item=item,
            cell=(item_years[item] - first) * n + member,
            vote=vote,
            weight=weight,
            mask=mask,
            vote_ids=vote_ids,
            item_dates=item_dates,
            item_ukraine=item_ukraine,
            years=years,
            n=n,
            settings=settings,
        )

    @property
    def shape(self) -> tuple[int, int, int, int]:
        return len(self.years), self.n, self.settings.dimensions, len(self.vote_ids)

    def split(self, params: np.ndarray):
        years, n, k, m = self.shape
        cut = years * n * k
        x = params[:cut].reshape(years * n, k)
        a = params[cut : cut + m * k].reshape(m, k)
        t1 = params[cut + m * k : cut + m * k + m]
        log_gap = params[cut + m * k + m :]
        return x, a, t1, log_gap

    def initial(self) -> np.ndarray:
        """Deterministic start: singular vectors of the (member x roll call) vote matrix."""
        years, n, k, m = self.shape
        votes = np.zeros((n, m))
        votes[self.member, self.item] = self.vote - 1.0
        general = ~self.item_ukraine
        left, _, _ = np.linalg.svd(
            votes[:, general] - votes[:, general].mean(0), full_matrices=False
        )
        start = np.zeros((n, k))
        free = [axis for axis in range(k) if axis != UKRAINE or k == 1]
        for column, axis in enumerate(free):
            start[:, axis] = left[:, column] / (left[:, column].std() + 1e-12)
        if k > 1:
            record = votes[:, self.item_ukraine].sum(1)
            start[:, UKRAINE] = (record - record.mean()) / (record.std() + 1e-12)
        x = np.tile(start, (years, 1))
        direction = np.zeros((m, k))
        np.add.at(direction, self.item, (self.vote - 1.0)[:, None] * start[self.member])
        a = 0.5 * np.sign(direction) * self.mask
        return np.concatenate([x.ravel(), a.ravel(), np.full(m, -0.5), np.zeros(m)])

    def loss(self, params: np.ndarray) -> tuple[float, np.ndarray]:
        """Negative weighted log-posterior and its gradient."""
        years, n, k, m = self.shape
        x, a, t1, log_gap = self.split(params)
        a = a * self.mask
        gap = np.exp(log_gap)
        x_obs = x[self.cell]  # (P, K)
        a_obs = a[self.item]
        eta = np.einsum("pk,pk->p", a_obs, x_obs)
        z1 = t1[self.item] - eta
        gap_obs = gap[self.item]
        w = self.weight
        is_y, is_a, is_n = self.vote == 0, self.vote == 1, self.vote == 2
        dz1 = np.zeros_like(eta)  # weighted d loglik / d z1, z2 (z2 = z1 + gap)
        dz2 = np.zeros_like(eta)
        f1_y = expit(z1[is_y])
        loglik = -np.sum(w[is_y] * np.logaddexp(0.0, -z1[is_y]))
        dz1[is_y] = w[is_y] * (1 - f1_y)
        z2_n = z1[is_n] + gap_obs[is_n]
        loglik -= np.sum(w[is_n] * np.logaddexp(0.0, z2_n))
        dz2[is_n] = -w[is_n] * expit(z2_n)
        f1_a, f2_a = expit(z1[is_a]), expit(z1[is_a] + gap_obs[is_a])
        p_mid = np.maximum(f2_a - f1_a, 1e-12)
        loglik += np.sum(w[is_a] * np.log(p_mid))
        dz1[is_a] = -w[is_a] * f1_a * (1 - f1_a) / p_mid
        dz2[is_a] = w[is_a] * f2_a * (1 - f2_a) / p_mid
        d_eta = -(dz1 + dz2)  # d loglik / d eta
        grad_x = np.stack(
            [np.bincount(self.cell, d_eta * a_obs[:, j], years * n) for j in range(k)], axis=1
        )
        grad_a = np.stack(
            [np.bincount(self.item, d_eta * x_obs[:, j], m) for j in range(k)], axis=1
        )
        grad_t1 = np.bincount(self.item, dz1 + dz2, m)
        grad_gap = np.bincount(self.item, dz2, m) * gap
        value = -loglik
        grad = -np.concatenate([grad_x.ravel(), (grad_a * self.mask).ravel(), grad_t1, grad_gap])
        prior_value, prior_grad = self._prior(params)
        return value + prior_value, grad + prior_grad

    def _prior(self, params: np.ndarray) -> tuple[float, np.ndarray]:
        years, n, k, m = self.shape
        x, a, t1, log_gap = self.split(params)
        by_year = x.reshape(years, n, k)
        walk = np.diff(by_year, axis=0) / self.settings.walk_sd
        value = 0.5 * np.sum(by_year[0] ** 2) + 0.5 * np.sum(walk**2)
        grad_x = np.zeros_like(by_year)
        grad_x[0] += by_year[0]
        step = walk / self.settings.walk_sd
        grad_x[1:] += step
        grad_x[:-1] -= step
        value += 0.5 * np.sum((a / 2.0) ** 2) + 0.5 * np.sum((t1 / 4.0) ** 2)
        value += 0.5 * np.sum((log_gap / 2.0) ** 2)
        grad = np.concatenate([grad_x.ravel(), (a / 4.0).ravel(), t1 / 16.0, log_gap / 4.0])
        return value, grad

    def solve(self, start: IdealPoints | None) -> np.ndarray:
        x0 = self.initial()
        if start is not None:
            x0 = self._warm(x0, start)
        result = minimize(
            self.loss,
            x0,
            jac=True,
            method="L-BFGS-B",
            options={"maxiter": self.settings.max_iterations, "maxcor": 20},
        )
        return result.x

    def _warm(self, x0: np.ndarray, start: IdealPoints) -> np.ndarray:
        """An earlier fit's positions and the directions of the roll calls it shares."""
        years, n, k, m = self.shape
        if start.by_year.shape[1:] != (n, k):
            return x0
        x, a, t1, log_gap = (part.copy() for part in self.split(x0))
        by_year = x.reshape(years, n, k)
        for y, year in enumerate(self.years):
            by_year[y] = start.position_in(year)
        shared = start.items.index.intersection(pd.Index(self.vote_ids))
        rows = pd.Index(self.vote_ids).get_indexer(shared)
        old = start.items.loc[shared]
        a[rows] = old[[f"a{j}" for j in range(k)]].to_numpy()
        t1[rows] = old["t1"].to_numpy()
        log_gap[rows] = np.log(np.maximum(old["t2"] - old["t1"], 1e-6).to_numpy())
        return np.concatenate([by_year.ravel(), a.ravel(), t1, log_gap])

    def result(
        self, params: np.ndarray, iso3: tuple[str, ...], cutoff: pd.Timestamp
    ) -> IdealPoints:
        years, n, k, m = self.shape
        x, a, t1, log_gap = self.split(params)
        by_year = x.reshape(years, n, k).copy()
        a = (a * self.mask).copy()
        by_year, a = _orient(by_year, a, iso3)
        items = pd.DataFrame(
            {
                **{f"a{j}": a[:, j] for j in range(k)},
                "t1": t1,
                "t2": t1 + np.exp(log_gap),
                "date": self.item_dates,
                "ukraine": self.item_ukraine,
            },
            index=pd.Index(self.vote_ids, name="vote_id"),
        )
        names = AXIS_NAMES[:k] if k > 1 else ("general",)
        return IdealPoints(iso3, names, self.years, by_year, items, cutoff)


def _orient(by_year: np.ndarray, a: np.ndarray, iso3: tuple[str, ...]):
    """Rotate the non-Ukraine axes to their principal axes and fix every axis's sign.

    A rotation R of those axes (x -> x R, a -> a R) leaves every a . x, hence the likelihood
    and the isotropic priors, unchanged: it only names the axes.
    """
    k = by_year.shape[2]
    free = [axis for axis in range(k) if axis != UKRAINE or k == 1]
    last = by_year[-1][:, free]
    _, _, vt = np.linalg.svd(last - last.mean(0), full_matrices=False)
    rotation = vt.T  # columns: principal axes, largest variance first
    by_year[..., free] = by_year[..., free] @ rotation
    a[:, free] = a[:, free] @ rotation
    russia, usa = iso3.index("RUS"), iso3.index("USA")
    for axis in range(k):
        high = russia if axis in (GENERAL, UKRAINE) else None
        wrong = (
            by_year[-1, russia, axis] < by_year[-1, :, axis].mean()
            if high is not None
            else by_year[-1, usa, axis] > by_year[-1, :, axis].mean()
        )
        if wrong:
            by_year[..., axis] *= -1
            a[:, axis] *= -1
    return by_year, a
