"""Follow weights on hand-built roll calls: who sides with a power standing against two thirds."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd

from sim.cli import main
from sim.data.follow_weights import (
    against_the_voters,
    follow_table,
    follow_with,
    power_votes,
)

ISO3 = ("USA", "AAA", "BBB", "CCC", "DDD", "FRA", "DEU")
EU = ["FRA", "DEU"]


def test_the_eu_votes_as_most_of_its_members_and_a_tie_is_no_vote():
    table = np.array([[0, 2, 2], [0, 0, 2], [0, np.nan, np.nan]], float)
    iso3 = ("USA", "FRA", "DEU")
    assert power_votes(table, iso3, "USA", ["FRA", "DEU"]).tolist() == [0, 0, 0]
    eu = power_votes(table, iso3, "EU", ["FRA", "DEU"])
    assert eu[0] == 2 and np.isnan(eu[1]) and np.isnan(eu[2])


def test_data_followers_prints_the_combinations_follow_weight(data, capsys):
    """`data followers` and the forecast combination tell one story: the printed weight is
    the combination's, Israel follows most, and Argentina's weight rose after its change of
    government (December 2023)."""
    assert main(["data", "followers", "--until", "2025-06-30", "--format", "csv"]) == 0
    table = pd.read_csv(io.StringIO(capsys.readouterr().out)).set_index("iso3")
    weights = follow_table(data, pd.Timestamp("2025-07-01")).set_index("iso3")
    assert {"us_lonely_votes", "us_sided", "us_follow"} <= set(table.columns)
    assert (table["us_sided"] == weights.loc[table.index, "us_sided"]).all()
    assert np.allclose(table["us_follow"], weights.loc[table.index, "us_follow"])
    assert table["us_follow"].idxmax() == "ISR"
    before = follow_table(data, pd.Timestamp("2023-09-01")).set_index("iso3")
    assert table.loc["ARG", "us_follow"] > before.loc["ARG", "us_follow"] + 0.1


MANY = (*ISO3, "EEE", "FFF", "GGG", "HHH", "III", "JJJ")  # six more that vote Y


def lonely_record(calls: int) -> tuple[np.ndarray, pd.Series]:
    """Roll calls where the US votes N against everyone's Y; AAA sides with it on every one,
    BBB on none, CCC on the recent half only (a new government), DDD never votes."""
    table = np.zeros((calls, len(MANY)))
    table[:, 0] = 2.0  # the US: N
    table[:, 1] = 2.0  # AAA follows
    table[calls // 2 :, 3] = 2.0  # CCC follows from halfway on
    table[:, 4] = np.nan
    dates = pd.Series(pd.date_range("2022-01-01", periods=calls, freq="30D"))
    return table, dates


def test_the_follow_weight_ranks_followers_and_a_new_government_shows():
    table, dates = lonely_record(24)
    until = dates.iloc[-1] + pd.Timedelta(days=1)
    found = follow_with("USA", table, dates, MANY, until, EU)
    weight = dict(zip(MANY, found.weight, strict=True))
    assert found.lonely == 24 and found.follows[1] == 24 and found.opportunities[4] == 0
    assert weight["USA"] == 0.0 and weight["DDD"] == 0.0  # no evidence: everyone's rate
    assert weight["AAA"] > weight["CCC"] > 0 > weight["BBB"]
    # recency: CCC's late follows count more than half the evidence
    assert found.weight[3] > (found.weight[1] + found.weight[2]) / 2


def test_a_roll_call_with_the_majority_is_no_evidence_of_following():
    table, dates = lonely_record(6)
    table[:, 0] = 0.0  # the US votes with everyone
    assert not against_the_voters(table, table[:, 0]).any()
    found = follow_with("USA", table, dates, MANY, dates.iloc[-1] + pd.Timedelta(days=1), EU)
    assert found.lonely == 0 and np.all(found.weight == 0.0)
