"""Positions and absence propensities of the 193 members, estimated from roll calls before a date.

Two stages, because the general axis of UN voting and the Ukraine question are not the same axis
(the general axis puts Israel and the US at one end and misplaces states that sit mid-axis but
vote Yes on Ukraine):

1. General axis. An ordered-logit item-response model over Y/A/N of every recorded GA roll call
   since `since` that is not about Ukraine (X is missing, not a vote). Roll call j has a
   discrimination a_j and cut-points t1_j < t2_j; member i an ideal point theta_i:
   P(Y) = L(t1_j - a_j theta_i), P(N) = 1 - L(t2_j - a_j theta_i), A in between (L logistic).
   Each roll call's log-likelihood is weighted 0.5 ** (age in years / half_life). Maximised by
   L-BFGS (scipy) with analytic gradients over the observed (member, roll call) pairs. Weak
   priors fix the scale and keep unanimous corners finite: theta ~ N(0, 1), a_j ~ N(0, 2^2),
   t1_j ~ N(0, 4^2), log(t2_j - t1_j) ~ N(0, 2^2).
2. Ukraine position. The member's recency-weighted record on Ukraine texts (ES-11 votes and the
   earlier Ukraine resolutions in `UKRAINE_TEXTS`), scored Y = 0, A = 1, N = 2, each roll call
   weighted 0.5 ** (age / ukraine_half_life), ES-11 votes `es11_weight` times. It is shrunk
   towards the general axis's prediction of that record (a weighted linear fit of record on
   theta), with the weight `anchor` of a fresh ES-11 vote: a normal-mean posterior whose prior
   is the general axis. A member with a long Yes record sits near 0, ordered within the Yes
   side by its general ideal point; a member with no record sits where the general axis puts it.

`position` is that Ukraine position on the record's scale: 0 = votes Yes, 1 = abstains,
2 = votes No. Sign convention: LOW = pro-Ukraine / Western, HIGH = close to Moscow; theta is
oriented the same way (Russia above Poland). `ukraine_residual` = position minus the general
axis's prediction: what the Ukraine record says beyond the general axis.

Absence is a recency-weighted share of X among the roll calls that record X (the UN extract,
Nov 2019 on, and the ES-11 votes; the older Voeten rows have no X), ES-11 votes counted
`es11_absence_weight` times, shrunk towards the mean rate: habitual ES-11 absentees lead.
Not voting on an ES-11 text is mostly deliberate and lasting, so those votes count 60 times and
the half-life is a year: chosen on the ES-11 cases of `blocsim validate` (selection data, not
held out).

`us_agreement` and `us_agreement_change` are a hook for the US-turn shock: the share of the last
year's roll calls voted as the US did, and its change against the two years before.

Only rows dated strictly before `until` are used: a vote held on the cut-off day is out. The fit
is deterministic and takes a few seconds; callers that need it often should cache it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import expit

from sim.errors import BlocsimError

VOTE_CODE = {"Y": 0, "A": 1, "N": 2}
ES11_PREFIX = "A/RES/ES-11/"
# Recorded GA votes on Ukraine before the ES-11 series: territorial integrity (68/262), human
# rights in occupied Crimea (71/205 ... 79/184), the militarisation of Crimea and the Black Sea
# (73/194, 74/17, 75/29, 76/70), the safety of Ukraine's nuclear facilities (78/316).
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
    position: np.ndarray  # (N,) Ukraine position, 0 = Yes, 1 = Abstain, 2 = No
    absence: np.ndarray  # (N,) propensity not to vote on a Ukraine text, in (0, 1)
    general: np.ndarray  # (N,) theta: general-axis ideal point (prior N(0, 1))
    ukraine_residual: np.ndarray  # (N,) position minus the general axis's prediction of it
    us_agreement: np.ndarray  # (N,) share of the last year's roll calls voted as the US did
    us_agreement_change: np.ndarray  # (N,) that share minus the one of the two years before
    until: date
    roll_calls: int  # roll calls in the general-axis fit

    def of(self, iso3: str) -> float:
        """The position of one member, e.g. `estimate.of("RUS")`."""
        return float(self.position[self.iso3.index(iso3)])


def estimate_positions(
    members: pd.DataFrame,
    history: pd.DataFrame,
    ukraine: pd.DataFrame,
    until: date | str | pd.Timestamp,
    *,
    since: date | str = "2016-01-01",
    half_life: float = 6.0,
    ukraine_half_life: float = 1.0,
    es11_weight: float = 30.0,
    anchor: float = 0.1,
    absence_half_life: float = 1.0,
    es11_absence_weight: float = 60.0,
) -> PositionEstimate:
    """Fit positions and absence propensities from the roll calls dated strictly before `until`.

    `members`, `history`, `ukraine` are the loader's tables (`sim.data.loader.load_data`); an ES-11
    vote found in both history and ukraine is counted once. Half-lives are in years.

    Example (with `data = sim.data.loader.load_data()`)::

        est = estimate_positions(data.members, data.history, data.ukraine, "2025-02-24")
        est.of("RUS") > est.of("POL")  # True
    """
    cutoff = pd.Timestamp(until)
    iso3 = tuple(members["iso3"])
    index = {code: k for k, code in enumerate(iso3)}
    n = len(iso3)
    rows = _roll_call_rows(history, ukraine, cutoff, pd.Timestamp(since), index)
    general_rows = rows[~rows["ukraine"]]
    if general_rows.empty:
        raise BlocsimError(
            f"no roll calls before {cutoff.date()} (positions are estimated from the roll "
            f"calls since {pd.Timestamp(since).date()})"
        )
    theta, roll_calls = _fit_general_axis(general_rows, n, cutoff, half_life)
    if theta[index["RUS"]] < theta[index["POL"]]:
        theta = -theta
    position, residual = _ukraine_position(
        rows, theta, cutoff, ukraine_half_life, es11_weight, anchor
    )
    absence = _absence(rows, n, cutoff, absence_half_life, es11_absence_weight)
    agreement, change = _us_agreement(general_rows, n, cutoff, index.get("USA"))
    return PositionEstimate(
        iso3=iso3,
        position=position,
        absence=absence,
        general=theta,
        ukraine_residual=residual,
        us_agreement=agreement,
        us_agreement_change=change,
        until=cutoff.date(),
        roll_calls=roll_calls,
    )


def _roll_call_rows(
    history: pd.DataFrame,
    ukraine: pd.DataFrame,
    cutoff: pd.Timestamp,
    since: pd.Timestamp,
    index: dict[str, int],
) -> pd.DataFrame:
    """One row per (member, roll call) before the cut-off: member, id, date, vote, kind flags."""
    es11 = ukraine[(ukraine["body"] == "GA") & (ukraine["date"] < cutoff)]
    es11 = es11.assign(vote_id=es11["resolution"])
    older = history[(history["date"] < cutoff)]
    older = older[~older["resolution"].isin(set(ukraine["resolution"]))]
    older = older[(older["date"] >= since) | older["resolution"].isin(UKRAINE_TEXTS)]
    columns = ["vote_id", "resolution", "date", "iso3", "vote"]
    rows = pd.concat([older[columns], es11[columns]])
    rows = rows[rows["iso3"].isin(index.keys())]
    es11_flag = rows["resolution"].str.startswith(ES11_PREFIX).to_numpy(bool)
    return pd.DataFrame(
        {
            "member": rows["iso3"].map(index).to_numpy(np.int64),
            "vote_id": rows["vote_id"].to_numpy(str),
            "date": rows["date"].to_numpy("datetime64[ns]"),
            "vote": rows["vote"].to_numpy(str),
            "es11": es11_flag,
            "ukraine": es11_flag | rows["resolution"].isin(UKRAINE_TEXTS).to_numpy(bool),
        }
    )


def _age_years(dates: np.ndarray, cutoff: pd.Timestamp) -> np.ndarray:
    return (cutoff.to_datetime64() - dates).astype("timedelta64[D]").astype(np.float64) / 365.25


def _fit_general_axis(
    rows: pd.DataFrame, n: int, cutoff: pd.Timestamp, half_life: float
) -> tuple[np.ndarray, int]:
    """Weighted ordered-logit IRT by L-BFGS; returns theta (N,) and the roll calls used."""
    voted = rows[rows["vote"].isin(VOTE_CODE.keys())]
    codes, item = np.unique(voted["vote_id"].to_numpy(), return_inverse=True)
    member = voted["member"].to_numpy()
    y = voted["vote"].map(VOTE_CODE).to_numpy(np.int64)
    # unanimous roll calls say nothing about positions
    lo = np.full(len(codes), 3)
    hi = np.full(len(codes), -1)
    np.minimum.at(lo, item, y)
    np.maximum.at(hi, item, y)
    kept = hi > lo
    keep = kept[item]
    item, member, y = (np.cumsum(kept) - 1)[item[keep]], member[keep], y[keep]
    m = int(kept.sum())
    item_date = np.zeros(m, "datetime64[ns]")
    item_date[item] = voted["date"].to_numpy("datetime64[ns]")[keep]
    w = (0.5 ** (_age_years(item_date, cutoff) / half_life))[item]
    is_y, is_a, is_n = y == 0, y == 1, y == 2

    theta0 = _start(member, item, y, n, m)
    direction = np.zeros(m)
    np.add.at(direction, item, (y - 1.0) * theta0[member])
    x0 = np.concatenate(
        [theta0, np.sign(direction) + (direction == 0), np.full(m, -0.5), np.zeros(m)]
    )
    prior_sd = np.concatenate([np.full(n, 1.0), np.full(m, 2.0), np.full(m, 4.0), np.full(m, 2.0)])

    def loss(params: np.ndarray) -> tuple[float, np.ndarray]:
        theta, a = params[:n], params[n : n + m]
        t1, log_gap = params[n + m : n + 2 * m], params[n + 2 * m :]
        gap = np.exp(log_gap)
        eta = a[item] * theta[member]
        z1 = t1[item] - eta
        z2 = z1 + gap[item]
        f1, f2 = expit(z1), expit(z2)
        p_mid = np.maximum(f2 - f1, 1e-12)
        loglik = np.where(
            is_y, -np.logaddexp(0.0, -z1), np.where(is_n, -np.logaddexp(0.0, z2), np.log(p_mid))
        )
        # d loglik / d z1 and d z2, weighted
        dz1 = w * np.where(is_y, 1 - f1, np.where(is_a, -f1 * (1 - f1) / p_mid, 0.0))
        dz2 = w * np.where(is_n, -f2, np.where(is_a, f2 * (1 - f2) / p_mid, 0.0))
        d_eta = -(dz1 + dz2)
        grad = -np.concatenate(
            [
                np.bincount(member, d_eta * a[item], n),
                np.bincount(item, d_eta * theta[member], m),
                np.bincount(item, dz1 + dz2, m),
                np.bincount(item, dz2, m) * gap,
            ]
        )
        value = -np.sum(w * loglik) + 0.5 * np.sum((params / prior_sd) ** 2)
        return value, grad + params / prior_sd**2

    result = minimize(loss, x0, jac=True, method="L-BFGS-B", options={"maxiter": 2000})
    return result.x[:n].copy(), m


def _start(member: np.ndarray, item: np.ndarray, y: np.ndarray, n: int, m: int) -> np.ndarray:
    """Deterministic start: the leading singular vector of the (member x roll call) vote matrix."""
    votes = np.zeros((n, m))
    votes[member, item] = y - 1.0
    left, _, _ = np.linalg.svd(votes - votes.mean(axis=0), full_matrices=False)
    return left[:, 0] / (left[:, 0].std() + 1e-12)


def _ukraine_position(
    rows: pd.DataFrame,
    theta: np.ndarray,
    cutoff: pd.Timestamp,
    half_life: float,
    es11_weight: float,
    anchor: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Recency-weighted Ukraine record shrunk to the general axis's prediction of it."""
    n = len(theta)
    votes = rows[rows["ukraine"] & rows["vote"].isin(VOTE_CODE.keys())]
    weight = 0.5 ** (_age_years(votes["date"].to_numpy(), cutoff) / half_life)
    weight = np.where(votes["es11"].to_numpy(), weight * es11_weight, weight)
    member = votes["member"].to_numpy()
    total = np.bincount(member, weight, n)
    record = np.bincount(member, weight * votes["vote"].map(VOTE_CODE).to_numpy(float), n)
    mean_record = np.divide(record, total, out=np.ones(n), where=total > 0)
    # the general axis's prediction of the record: weighted least squares of record on theta
    fit_weight = total / (total + anchor * es11_weight)
    design = np.column_stack([np.ones(n), theta]) * np.sqrt(fit_weight)[:, None]
    if fit_weight.sum() > 0:
        coef = np.linalg.lstsq(design, mean_record * np.sqrt(fit_weight), rcond=None)[0]
    else:
        coef = np.array([1.0, 0.0])
    predicted = coef[0] + coef[1] * theta
    prior = anchor * es11_weight
    position = (record + prior * predicted) / (total + prior)
    return position, position - predicted


def _absence(
    rows: pd.DataFrame, n: int, cutoff: pd.Timestamp, half_life: float, es11_weight: float
) -> np.ndarray:
    """Recency-weighted share of X on roll calls that record X, shrunk to the mean rate."""
    is_x = rows["vote"].to_numpy() == "X"
    records_x = np.isin(rows["vote_id"].to_numpy(), np.unique(rows["vote_id"].to_numpy()[is_x]))
    rows, is_x = rows[records_x], is_x[records_x]
    weight = 0.5 ** (_age_years(rows["date"].to_numpy(), cutoff) / half_life)
    weight = np.where(rows["es11"].to_numpy(), weight * es11_weight, weight)
    member = rows["member"].to_numpy()
    total = np.bincount(member, weight, n)
    missing = np.bincount(member, weight * is_x, n)
    base = missing.sum() / total.sum() if total.sum() > 0 else 0.05
    prior = 2.0
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
