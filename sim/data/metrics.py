"""Descriptive measures of roll calls: bloc cohesion and the affinity of two states.

Plain functions over the loader's long tables; `X` (not voting) is missing everywhere.
"""

from __future__ import annotations

from datetime import date

import pandas as pd

from sim.data.loader import BLOCS, UN_GROUPS, VOTE_VALUES, UNData
from sim.data.titles import search_titles

TITLE_SEARCH = "title:"  # in a list of roll calls, the prefix of a title search

VOTE_SCALE = {"Y": 1.0, "A": 0.5, "N": 0.0}  # an abstention sits halfway between yes and no


def agreement_index(yes: int, no: int, abstain: int) -> float:
    """Hix, Noury and Roland's Agreement Index: 1 when a group votes as one, 0 when split in three.

    >>> agreement_index(27, 0, 0)
    1.0
    >>> agreement_index(1, 1, 1)
    0.0
    """
    voting = yes + no + abstain
    if voting == 0:
        return float("nan")
    largest = max(yes, no, abstain)
    return (largest - 0.5 * (voting - largest)) / voting


def bloc_splits(data: UNData, symbol: str) -> pd.DataFrame:
    """Each bloc's and regional group's split on one roll call, with its Agreement Index."""
    votes = data.votes_on(symbol)
    members = data.members.set_index("iso3")
    groups = [(bloc.upper(), members.index[members[bloc] == 1]) for bloc in BLOCS]
    groups += [(group, members.index[members["un_group"] == group]) for group in UN_GROUPS]
    rows = []
    for name, iso3 in groups:
        counts = votes.loc[iso3].value_counts()
        yes, no, abstain, absent = (int(counts.get(code, 0)) for code in ("Y", "N", "A", "X"))
        rows.append(
            {
                "group": name,
                "members": len(iso3),
                "yes": yes,
                "no": no,
                "abstain": abstain,
                "not_voting": absent,
                "cohesion": round(agreement_index(yes, no, abstain), 3),
            }
        )
    return pd.DataFrame(rows)


def roll_call_tallies(data: UNData, vote_ids: list[str]) -> pd.DataFrame:
    """Yes, no, abstain and not-voting counts of each roll call (`vote_id` column), counted from
    the per-country votes; a roll call without them in the data has no row."""
    votes = data.roll_calls()
    votes = votes[votes["vote_id"].isin(vote_ids)]
    counts = pd.crosstab(votes["vote_id"], votes["vote"]).reindex(columns=VOTE_VALUES, fill_value=0)
    counts.columns = ["yes", "no", "abstain", "not_voting"]
    return counts.reset_index()


def select_roll_calls(data: UNData, texts: str) -> list[str]:
    """The roll calls a comma-separated list names: symbols or vote_ids (short forms as in
    `blocsim data tally`) and title searches 'title:WORDS' (every roll call whose title holds
    all the words), e.g. 'ES-11/7, title:crimea human rights'. Unknown items raise KeyError."""
    chosen: list[str] = []
    for item in (part.strip() for part in texts.split(",")):
        if item.lower().startswith(TITLE_SEARCH):
            found = search_titles(data.titles, item[len(TITLE_SEARCH) :])
            if found.empty:
                raise KeyError(f"no roll call's title holds '{item[len(TITLE_SEARCH) :]}'")
            chosen += found["vote_id"].tolist()
        elif item:
            text = data.resolution(item)
            if not text.in_data:
                raise KeyError(f"no per-country votes for {text.symbol} in the data")
            chosen.append(text.symbol)
    if not chosen:
        raise KeyError(f"'{texts}' names no roll call")
    return list(dict.fromkeys(chosen))


def affinity(
    data: UNData,
    first: str,
    second: str,
    since: date | str | None = None,
    on: list[str] | None = None,
) -> dict:
    """Agreement rate and S-score (Signorino and Ritter) over roll calls both states voted on,
    from `since` and, if given, among the roll calls `on` (vote_ids).

    The S-score places Y, A, N at 1, 0.5, 0 and is 1 minus twice the mean distance: 1 for
    identical records, -1 for opposite ones.
    """
    for code in (first, second):
        if code not in data.iso3:
            raise KeyError(f"unknown ISO3 code '{code}'")
    if first == second:
        raise ValueError(f"give two different states, not {first} twice")
    votes = data.roll_calls()
    votes = votes[votes["vote"] != "X"]
    if since is not None:
        votes = votes[votes["date"] >= pd.Timestamp(since)]
    if on is not None:
        votes = votes[votes["vote_id"].isin(on)]
    pair = votes[votes["iso3"].isin([first, second])].pivot(
        index="vote_id", columns="iso3", values="vote"
    )
    pair = pair.reindex(columns=[first, second]).dropna()
    if pair.empty:
        return {
            "first": first,
            "second": second,
            "roll_calls": 0,
            "agreement": float("nan"),
            "s_score": float("nan"),
        }
    distance = (pair[first].map(VOTE_SCALE) - pair[second].map(VOTE_SCALE)).abs().mean()
    return {
        "first": first,
        "second": second,
        "roll_calls": len(pair),
        "agreement": round(float((pair[first] == pair[second]).mean()), 4),
        "s_score": round(float(1 - 2 * distance), 4),
    }
