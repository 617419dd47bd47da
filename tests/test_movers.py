"""Who moved the US's way: the rule on hand-built votes, and the validate section on real data."""

from __future__ import annotations

import json
from datetime import date

import numpy as np
import pandas as pd

from sim.cli import main
from sim.cli.fit import MOVERS_SECTION
from sim.fit import rolling
from sim.fit.movers import (
    count_movers,
    move_probability,
    moved_toward,
    movers_table,
    us_changed,
)
from sim.model.voting import ABSTAIN, NO, NOT_VOTING, YES

Y, A, N, X = YES, ABSTAIN, NO, NOT_VOTING


def test_the_chance_of_a_move_sums_the_votes_closer_to_the_us():
    """The US moved to A: from Y only A is closer, from N only A; a member at A or absent
    cannot move. Toward N from Y, both A and N are closer."""
    p = np.array([[0.5, 0.3, 0.2]] * 4)
    assert move_probability(np.array([Y, N, A, X]), p, A).tolist() == [0.3, 0.3, 0.0, 0.0]
    assert move_probability(np.array([Y]), p[:1], N).tolist() == [0.5]


def test_only_a_change_between_two_cast_votes_is_a_us_change():
    assert us_changed(Y, N) and us_changed(N, A)
    assert not us_changed(Y, Y)
    assert not us_changed(X, N) and not us_changed(Y, X)


def test_a_mover_is_strictly_closer_to_the_us_new_vote_and_x_is_never_one():
    earlier = np.array([Y, Y, A, N, Y, X, N, A])
    new = np.array([A, N, N, N, X, N, A, Y])
    assert moved_toward(earlier, new, N).tolist() == [1, 1, 1, 0, 0, 0, 0, 0]
    # the US moved to A: members joining it from either side are movers
    assert moved_toward(earlier, new, A).tolist() == [1, 0, 0, 0, 0, 0, 1, 0]


def test_precision_and_recall_on_a_hand_built_text():
    # member 0 is the US (Y -> N); members 1-9 as below
    earlier = np.array([Y, Y, Y, Y, A, N, Y, X, Y, Y])
    observed = np.array([N, A, N, Y, N, N, Y, N, X, A])
    predicted = np.array([N, N, Y, A, A, Y, Y, N, N, X])
    # counted: voted on both, not the US: 1, 2, 3, 4, 5, 6, 9 (7: X before, 8: X now)
    # actual movers: 1, 2, 4, 9 (5 already at N; 3 and 6 stayed Y)
    # predicted movers: 1 (Y -> N), 3 (Y -> A); 4 stays A, 5 moving away is no move, 9 is X
    count = count_movers(earlier, observed, predicted, us=0)
    assert (count.members, count.movers, count.predicted_movers, count.both) == (7, 4, 2, 1)
    assert count.precision == 0.5 and count.recall == 0.25


def test_nobody_predicted_to_move_has_no_precision_and_no_recall():
    earlier, observed = np.array([Y, Y, Y]), np.array([N, N, Y])
    count = count_movers(earlier, observed, earlier, us=0)
    assert (count.movers, count.predicted_movers, count.both) == (1, 0, 0)
    assert np.isnan(count.precision) and count.recall == 0


def test_the_pooled_row_sums_the_counts_over_texts():
    rows = [
        ("T1", True, "Y->N", 10, 4, 2, 1, 0.8),
        ("T2", True, "A->Y", 20, 6, 6, 3, 0.6),
        ("T3", False, "", pd.NA, pd.NA, pd.NA, pd.NA, 0.9),
    ]
    columns = ["vote_id", "us_changed", "us_vote", "members", "movers", "predicted_movers"]
    table = pd.DataFrame(rows, columns=[*columns, "both", "accuracy"]).assign(predictor="blocsim")
    section = movers_table(table, ("blocsim", "persistence"))
    assert section["vote_id"].tolist() == ["T1", "T2", "pooled (2 texts)"]
    pooled = section.iloc[-1]
    assert (pooled["movers"], pooled["predicted_movers"], pooled["both"]) == (10, 8, 4)
    assert pooled["precision"] == 0.5 and pooled["recall"] == 0.4 and pooled["accuracy"] == 0.7


def test_validate_reports_the_movers_counted_from_the_data(data, monkeypatch, capsys):
    # one text of the evaluation: A/RES/79/317 (Afghanistan, 7 Jul 2025), the US Y -> N from
    # its earlier version A/RES/77/10
    monkeypatch.setattr(rolling, "EVALUATION", (date(2025, 7, 7), date(2025, 7, 8)))
    assert main(["validate", "--rolling", "evaluation", "--format", "json"]) == 0
    section = pd.DataFrame(json.loads(capsys.readouterr().out)[MOVERS_SECTION])
    votes = data.history.pivot(index="iso3", columns="vote_id", values="vote")
    earlier, new = votes["A/RES/77/10"], votes["A/RES/79/317"]
    scale = {"Y": 0, "A": 1, "N": 2}
    us = scale[new["USA"]]
    both = earlier.isin(list(scale)) & new.isin(list(scale)) & (earlier.index != "USA")
    distance_before = (earlier[both].map(scale) - us).abs()
    distance_now = (new[both].map(scale) - us).abs()
    moved = sorted(distance_now.index[distance_now < distance_before])
    assert moved == ["IND", "IRN", "ISR", "MOZ"]
    text = section[section["vote_id"] == "A/RES/79/317"]
    assert set(text["predictor"]) == set(rolling.PREDICTORS)
    assert (text["us_vote"] == "Y->N").all()
    assert (text["members"] == int(both.sum())).all() and (text["movers"] == len(moved)).all()
    by_predictor = text.set_index("predictor")
    assert (by_predictor.loc["persistence", ["predicted_movers", "recall"]] == 0).all()
    placed = by_predictor.loc["K = 3 placement"]
    assert placed["recall"] == round(placed["both"] / len(moved), 3)
    pooled = section[section["vote_id"] == "pooled (1 texts)"].set_index("predictor")
    assert pooled.loc["K = 3 placement", "both"] == placed["both"]
