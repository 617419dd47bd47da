"""Roll calls by title: most General Assembly texts return every year under the same title, so a
text's earlier versions are the roll calls of the same title held before it (`roll_calls.csv`,
the UN extract years Nov 2019 on and the ES-11 votes; the Voeten years have no titles).
"""

from __future__ import annotations

import pandas as pd


def earlier_versions(titles: pd.DataFrame, vote_id: str) -> pd.DataFrame:
    """The roll calls with `vote_id`'s title held strictly before it, newest first.

    `titles` is `UNData.titles`. Empty when the roll call has no title in the data or no
    earlier version. Example::

        earlier_versions(data.titles, "A/RES/79/308")["vote_id"].tolist()
        # ['A/RES/78/305', 'A/RES/77/313', ...]  (Financing of UNIFIL, one a year)
    """
    row = titles.loc[titles["vote_id"] == vote_id]
    if row.empty:
        return titles.iloc[0:0]
    title, day = row["title"].iloc[0], row["date"].iloc[0]
    found = titles[(titles["title"] == title) & (titles["date"] < day)]
    return found.sort_values(["date", "vote_id"], ascending=False, kind="stable")


def latest_earlier_version(titles: pd.DataFrame, vote_id: str) -> str | None:
    """The newest earlier version of a roll call (by title), or None if it has none."""
    found = earlier_versions(titles, vote_id)
    return None if found.empty else str(found["vote_id"].iloc[0])


def search_titles(titles: pd.DataFrame, words: str) -> pd.DataFrame:
    """The roll calls whose title holds every one of `words` (case-insensitive, as parts of
    words: 'crime' finds 'Crimea'), oldest first. Example::

        search_titles(data.titles, "crimea human rights")["vote_id"].tolist()
        # ['A/RES/74/168', 'A/RES/75/192', ...]  (one a year)
    """
    terms = words.lower().split()
    if not terms:
        raise ValueError("give at least one word to search the titles for")
    lowered = titles["title"].str.lower()
    found = pd.Series(True, index=titles.index)
    for term in terms:
        found &= lowered.str.contains(term, regex=False)
    return titles[found].sort_values(["date", "vote_id"], kind="stable")
