"""Positions and absence propensities of the 193 members, estimated from roll calls before a date.

What is estimated. An ordered-logit item-response model over Y/A/N (X is missing, not a vote).
Roll call j has a discrimination a_j and two cut-points t1_j < t2_j; member i has a general
ideal point theta_i and a Ukraine residual delta_i that only acts on the ES-11 roll calls:

    eta_ij = a_j * (theta_i + u_j * delta_i),   u_j = 1 on ES-11 texts, else 0
    P(Y) = L(t1_j - eta_ij),  P(A) = L(t2_j - eta_ij) - L(t1_j - eta_ij),  P(N) = 1 - L(t2_j - eta_ij)

with L the logistic function. The residual lets a state sit mid-axis on the general record and
still vote Yes on Ukraine (the reference model's lesson). Each roll call's log-likelihood is
weighted by its recency, 0.5 ** (age in years / half_life), so the fit describes the
member as it was just before the cut-off. Maximised by L-BFGS (scipy) with analytic gradients,
vectorised over the observed (member, roll call) pairs.

Priors (weak, they only fix scale and keep empty or unanimous corners finite): theta ~ N(0, 1),
delta ~ N(0, ukraine_scale**2), a_j ~ N(0, 2**2), t1_j ~ N(0, 4**2), log(t2_j - t1_j) ~ N(0, 2**2).

Identification and sign convention: the scale is set by the N(0, 1) prior; the sign is chosen
so that Russia lies above Poland. LOW = pro-Ukraine / Western, HIGH = close to Moscow.
`position` is theta + delta scaled by the mean discrimination of the ES-11 roll calls in the
window, so an ordered logit of slope 1 against two cut-points describes an ES-11-like text.

Absence is a recency-weighted share of X among the roll calls that record X (the UN extract,
Nov 2019 on, and the ES-11 votes; the older Voeten rows have no X), with ES-11 votes counted
`ukraine_absence_weight` times and shrunk towards the assembly's mean rate.

`us_agreement` and `us_agreement_change` describe who follows Washington: the share of the
last year's roll calls (before the cut-off) on which the member voted as the US did, and its
change against the two years before. They are a hook for the dynamics' US-turn shock.

Only rows dated strictly before `until` are used: a vote on the cut-off day itself is out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import expit

VOTE_CODE = {"Y": 0, "A": 1, "N": 2}
ES11_PREFIX = "A/RES/ES-11/"
# Recorded GA votes before the ES-11 series whose subject is Ukraine: territorial integrity
# (68/262), human rights in occupied Crimea (71/205 ... 79/184), the militarisation of Crimea
# and the Black Sea (73/194, 74/17, 75/29, 76/70), the nuclear facilities of Ukraine (78/316).
UKRAINE_TEXTS = frozenset(
    {
        "R/68/262",
        "A/RES/71/205",
        "A/RES/72/190",
        "R/73/194",
        "R/73/263",
        "A/RES/74/17",
        "A/RES/74/168",
        "A/RES/75/29",
        "A/RES/75/192",
        "A/RES/76/70",
        "A/RES/76/179",
        "A/RES/77/229",
        "A/RES/78/221",
        "A/RES/78/316",
        "A/RES/79/184",
    }
)


@dataclass(frozen=True)
class PositionEstimate:
    """Members' positions (LOW = Western, HIGH = Moscow) and absence propensities at a date.

    Arrays are (N,) in the order of `iso3` (the members table's order).
    """

    iso3: tuple[str, ...]
    position: np.ndarray  # (N,) theta + delta in ES-11 logit units: the position on a Ukraine text
    absence: np.ndarray  # (N,) probability of not voting on a Ukraine text, in (0, 1)
    general: np.ndarray  # (N,) theta: the general-axis ideal point (prior scale N(0, 1))
    ukraine_residual: np.ndarray  # (N,) delta: the Ukraine-specific shift, same units as theta
    us_agreement: np.ndarray  # (N,) share of the last year's roll calls voted as the US did
    us_agreement_change: np.ndarray  # (N,) that share minus the one of the two years before
    until: date
    roll_calls: int  # roll calls used in the fit

    def of(self, iso3: str) -> float:
        """The position of one member, e.g. `estimate.of("RUS")`."""
        return float(self.position[self.iso3.index(iso3)])


def estimate_positions(
    members: pd.DataFrame,
    history: pd.DataFrame,
    ukraine: pd.DataFrame,
    until: date | str | pd.Timestamp,
    *,
    since: date | str = "2012-01-01",
    half_life: float = 6.0,
    ukraine_scale: float = 1.0,
    ukraine_weight: float = 3.0,
    ukraine_half_life: float = 1.0,
    ukraine_absence_weight: float = 5.0,
) -> PositionEstimate:
    """Fit positions and absence propensities from the roll calls dated strictly before `until`.

    `history` and `ukraine` are the loader's long tables; an ES-11 vote found in both is counted
    once. `since` bounds the history used; `half_life` (years) sets the recency weighting;
    `ukraine_weight` multiplies the weight of each ES-11 roll call. Deterministic: the same
    inputs give the same numbers.

    >>> est = estimate_positions(data.members, data.history, data.ukraine, "2025-02-24")
    >>> est.of("RUS") > est.of("POL")
    True
    """
    cutoff = pd.Timestamp(until)
    iso3 = tuple(members["iso3"])
    index = {code: k for k, code in enumerate(iso3)}
    rows = _roll_call_rows(history, ukraine, cutoff, pd.Timestamp(since), index)
    fit = _fit(rows, len(iso3), cutoff, half_life, ukraine_scale, ukraine_weight, ukraine_half_life)
    if fit["theta"][index["RUS"]] < fit["theta"][index["POL"]]:
        fit = {**fit, "theta": -fit["theta"], "delta": -fit["delta"], "position": -fit["position"]}
    absence = _absence(rows, len(iso3), cutoff, half_life, ukraine_absence_weight)
    agreement, change = _us_agreement(rows, len(iso3), cutoff, index.get("USA"))
    return PositionEstimate(
        iso3=iso3,
        position=fit["position"],
        absence=absence,
        general=fit["theta"],
        ukraine_residual=fit["delta"],
        us_agreement=agreement,
        us_agreement_change=change,
        until=cutoff.date(),
        roll_calls=fit["roll_calls"],
    )


def _roll_call_rows(
    history: pd.DataFrame,
    ukraine: pd.DataFrame,
    cutoff: pd.Timestamp,
    since: pd.Timestamp,
    index: dict[str, int],
) -> pd.DataFrame:
    """One row per (member, roll call) before the cut-off: member, roll call id, date, vote, ES-11."""
    es11 = ukraine[(ukraine["body"] == "GA") & (ukraine["date"] < cutoff)]
    es11 = es11.assign(vote_id=es11["resolution"])[
        ["vote_id", "resolution", "date", "iso3", "vote"]
    ]
    older = history[(history["date"] < cutoff) & (history["date"] >= since)]
    older = older[~older["resolution"].isin(set(ukraine["resolution"]))]
    rows = pd.concat([older[["vote_id", "resolution", "date", "iso3", "vote"]], es11])
    rows = rows[rows["iso3"].isin(index.keys())]
    return pd.DataFrame(
        {
            "member": rows["iso3"].map(index).to_numpy(np.int64),
            "vote_id": rows["vote_id"].to_numpy(str),
            "date": rows["date"].to_numpy("datetime64[ns]"),
            "vote": rows["vote"].to_numpy(str),
            "es11": rows["resolution"].str.startswith(ES11_PREFIX).to_numpy(bool),
            "ukraine": (
                rows["resolution"].str.startswith(ES11_PREFIX)
                | rows["resolution"].isin(UKRAINE_TEXTS)
            ).to_numpy(bool),
        }
    )


def _age_years(dates: np.ndarray, cutoff: pd.Timestamp) -> np.ndarray:
    return (cutoff.to_datetime64() - dates).astype("timedelta64[D]").astype(np.float64) / 365.25


def _fit(
    rows: pd.DataFrame,
    n: int,
    cutoff: pd.Timestamp,
    half_life: float,
    ukraine_scale: float,
    ukraine_weight: float,
    ukraine_half_life: float,
) -> dict:
    """Maximise the weighted ordered-logit likelihood; return theta, delta and the position."""
    voted = rows[rows["vote"].isin(VOTE_CODE.keys())]
    item_codes, item = np.unique(voted["vote_id"].to_numpy(), return_inverse=True)
    member = voted["member"].to_numpy()
    y = voted["vote"].map(VOTE_CODE).to_numpy(np.int64)
    # drop unanimous roll calls: they say nothing about positions
    spread = np.bincount(item, minlength=len(item_codes)) > 0
    lo = np.full(len(item_codes), 3)
    hi = np.full(len(item_codes), -1)
    np.minimum.at(lo, item, y)
    np.maximum.at(hi, item, y)
    keep_item = spread & (hi > lo)
    keep = keep_item[item]
    new_id = np.cumsum(keep_item) - 1
    item, member, y = new_id[item[keep]], member[keep], y[keep]
    m = int(keep_item.sum())

    first = pd.DataFrame({"item": item, "date": voted["date"].to_numpy()[keep]})
    item_date = first.groupby("item")["date"].first().to_numpy("datetime64[ns]")
    es11_item = np.zeros(m, bool)
    np.logical_or.at(es11_item, item, voted["es11"].to_numpy()[keep])
    ukraine_item = np.zeros(m, bool)
    np.logical_or.at(ukraine_item, item, voted["ukraine"].to_numpy()[keep])
    age = _age_years(item_date, cutoff)
    weight_item = np.where(
        ukraine_item,
        ukraine_weight * 0.5 ** (age / ukraine_half_life),
        0.5 ** (age / half_life),
    )
    w = weight_item[item]
    u = ukraine_item.astype(np.float64)
    uk = u[item]
    is_y, is_a, is_n = y == 0, y == 1, y == 2

    theta0 = _start(member, item, y, n, m)
    a0 = np.zeros(m)
    np.add.at(a0, item, np.where(is_n, 1.0, np.where(is_y, -1.0, 0.0)) * theta0[member])
    a0 = np.sign(a0) + (a0 == 0)
    x0 = np.concatenate([theta0, np.zeros(n), a0, np.full(m, -0.5), np.zeros(m)])
    s_theta, s_a, s_t, s_g = 1.0, 2.0, 4.0, 2.0

    def loss(params: np.ndarray) -> tuple[float, np.ndarray]:
        theta, delta = params[:n], params[n : 2 * n]
        a, t1, g = (
            params[2 * n : 2 * n + m],
            params[2 * n + m : 2 * n + 2 * m],
            params[2 * n + 2 * m :],
        )
        gap = np.exp(g)
        x = theta[member] + uk * delta[member]
        eta = a[item] * x
        z1, z2 = t1[item] - eta, t1[item] + gap[item] - eta
        f1, f2 = expit(z1), expit(z2)
        p_mid = np.maximum(f2 - f1, 1e-12)
        loglik = np.where(
            is_y,
            -np.logaddexp(0.0, -z1),
            np.where(is_n, -np.logaddexp(0.0, z2), np.log(p_mid)),
        )
        d1 = f1 * (1 - f1)
        d2 = f2 * (1 - f2)
        # derivatives of the log-likelihood with respect to z1 and z2
        dz1 = np.where(is_y, 1 - f1, np.where(is_a, -d1 / p_mid, 0.0))
        dz2 = np.where(is_n, -f2, np.where(is_a, d2 / p_mid, 0.0))
        d_eta = -(dz1 + dz2) * w
        dz1w, dz2w = dz1 * w, dz2 * w
        grad_x = d_eta * a[item]
        g_theta = np.bincount(member, grad_x, n)
        g_delta = np.bincount(member, grad_x * uk, n)
        g_a = np.bincount(item, d_eta * x, m)
        g_t1 = np.bincount(item, dz1w + dz2w, m)
        g_g = np.bincount(item, dz2w, m) * gap
        value = -np.sum(w * loglik)
        value += 0.5 * (
            np.sum(theta**2) / s_theta**2
            + np.sum(delta**2) / ukraine_scale**2
            + np.sum(a**2) / s_a**2
            + np.sum(t1**2) / s_t**2
            + np.sum(g**2) / s_g**2
        )
        grad = -np.concatenate([g_theta, g_delta, g_a, g_t1, g_g])
        grad += np.concatenate(
            [theta / s_theta**2, delta / ukraine_scale**2, a / s_a**2, t1 / s_t**2, g / s_g**2]
        )
        return value, grad

    result = minimize(loss, x0, jac=True, method="L-BFGS-B", options={"maxiter": 3000})
    theta, delta = result.x[:n], result.x[n : 2 * n]
    a = result.x[2 * n : 2 * n + m]
    scale = float(np.mean(np.abs(a[es11_item]))) if es11_item.any() else 1.0
    return {
        "theta": theta,
        "delta": delta,
        "position": scale * (theta + delta),
        "roll_calls": m,
        "result": result,
        "a": a,
        "es11_item": es11_item,
    }


def _start(member: np.ndarray, item: np.ndarray, y: np.ndarray, n: int, m: int) -> np.ndarray:
    """Deterministic start: the leading singular vector of the (member x roll call) vote matrix."""
    votes = np.zeros((n, m))
    votes[member, item] = y - 1.0
    centred = votes - votes.mean(axis=0)
    left, _, _ = np.linalg.svd(centred, full_matrices=False)
    start = left[:, 0] / (left[:, 0].std() + 1e-12)
    return start


def _absence(
    rows: pd.DataFrame, n: int, cutoff: pd.Timestamp, half_life: float, ukraine_weight: float
) -> np.ndarray:
    """Recency-weighted share of X on roll calls that record X, shrunk to the mean rate."""
    records_x = rows.groupby("vote_id")["vote"].transform(lambda v: (v == "X").any()).to_numpy()
    rows = rows[records_x]
    weight = 0.5 ** (_age_years(rows["date"].to_numpy(), cutoff) / half_life)
    weight = np.where(rows["es11"].to_numpy(), weight * ukraine_weight, weight)
    absent = (rows["vote"].to_numpy() == "X").astype(np.float64)
    member = rows["member"].to_numpy()
    total = np.bincount(member, weight, n)
    missing = np.bincount(member, weight * absent, n)
    base = missing.sum() / max(total.sum(), 1e-12)
    prior = 5.0
    return (missing + prior * base) / (total + prior)


def _us_agreement(
    rows: pd.DataFrame, n: int, cutoff: pd.Timestamp, us: int | None
) -> tuple[np.ndarray, np.ndarray]:
    """Share of roll calls voted as the US did: the last year, and its change on the two before."""
    if us is None:
        return np.full(n, np.nan), np.zeros(n)
    voted = rows[rows["vote"].isin(VOTE_CODE.keys())]
    us_vote = voted[voted["member"] == us].set_index("vote_id")["vote"]
    same = voted["vote_id"].map(us_vote)
    voted = voted.assign(same=(voted["vote"] == same).astype(float))[same.notna()]
    age = _age_years(voted["date"].to_numpy(), cutoff)

    def share(lo: float, hi: float) -> np.ndarray:
        part = voted[(age >= lo) & (age < hi)]
        member = part["member"].to_numpy()
        count = np.bincount(member, minlength=n)
        agreed = np.bincount(member, part["same"].to_numpy(), n)
        mean = agreed.sum() / max(count.sum(), 1)
        return (agreed + 2.0 * mean) / (count + 2.0)

    recent = share(0.0, 1.0)
    return recent, recent - share(1.0, 3.0)
