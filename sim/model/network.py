"""The influence network: who listens to whom, from shared blocs, voting affinity and patrons.

An edge ``i -> j`` means member ``i`` listens to member ``j``. Its ``weight`` is the sum of
per-type components (``alliance``, ``regional``, ``coalition``, ``caucus``, ``un_group``,
``affinity``, ``patron``, ``alignment``) kept on the edge, so a reader can see why two states are tied.
``influence_matrix`` turns the graph into the row-stochastic W of the Friedkin-Johnsen
dynamics; tie edits during a run (cut, add, weaken a bloc) are matrix edits in
``sim.model.dynamics``, so the graph here is always the network as built from the record.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from sim.data.loader import BLOCS
from sim.errors import BlocsimError

if TYPE_CHECKING:  # imported where a graph is built or read: a sweep's world never needs one
    import networkx as nx

# Bloc flags of members.csv grouped into families; each family has one tie weight.
BLOC_FAMILIES: dict[str, tuple[str, ...]] = {
    "alliance": ("eu", "nato", "csto"),
    "regional": ("au", "asean", "arab_league"),
    "coalition": ("brics", "sco", "oic", "g7"),
    "caucus": ("nam", "g77"),
}
PATRONS: tuple[str, ...] = ("USA", "RUS", "CHN", "FRA", "GBR")
TIE_TYPES: tuple[str, ...] = (*BLOC_FAMILIES, "un_group", "affinity", "patron", "alignment")
# Vote letters as nonzero numbers for the agreement counts (0: no vote); not voting.VOTE_CODES.
_AGREEMENT_CODES: dict[str, int] = {"Y": 1, "N": 2, "A": 3}


@dataclass(frozen=True)
class TieWeights:
    """Total attention a member gives each tie type (calibration parameters).

    Bloc weights are spread evenly over the fellow members of each bloc (a member of a
    54-state bloc gives each mate 1/53 of it), so a weight means the same for small and
    large blocs. ``caucus`` (NAM, G77: 120 and 133 members) is off by default: it ties
    most of the world to most of the world and makes the graph nearly complete.
    ``alignment`` (off unless calibrated) ties members to the permanent members they have
    recently voted with more than their peers (see ``alignment_ties``).
    """

    alliance: float = 1.0
    regional: float = 0.5
    coalition: float = 0.3
    caucus: float = 0.0
    un_group: float = 0.25
    affinity: float = 1.0
    patron: float = 1.0
    alignment: float = 0.0


def voting_affinity(
    history: pd.DataFrame,
    order: Sequence[str],
    since: str = "2015-01-01",
    until: str | None = None,
    min_shared: int = 20,
) -> np.ndarray:
    """Agreement rate (N, N) of every pair over the roll calls both voted Y, N or A on.

    Roll calls dated ``since <= date < until``; ``X`` (not voting) counts as missing.
    Pairs with fewer than ``min_shared`` common roll calls are NaN; the diagonal is 1.
    Rows and columns follow ``order`` (ISO3 codes). Example::

        agreement = voting_affinity(data.history, data.members.iso3, until="2025-02-24")
    """
    shared, same = _agreement_counts(history, order, since, until)
    with np.errstate(invalid="ignore", divide="ignore"):
        agreement = same / shared
    agreement[shared < min_shared] = np.nan
    np.fill_diagonal(agreement, 1.0)
    return agreement


def _agreement_counts(
    history: pd.DataFrame, order: Sequence[str], since: str, until: str | None
) -> tuple[np.ndarray, np.ndarray]:
    """Counts (N, N) of roll calls both voted on, and of those where they voted alike."""
    dates = pd.to_datetime(history["date"])
    keep = (dates >= pd.Timestamp(since)) & history["vote"].isin(list(_AGREEMENT_CODES))
    if until is not None:
        keep &= dates < pd.Timestamp(until)
    rows = history.loc[keep]
    columns = pd.Index(order).get_indexer(rows["iso3"])
    rows, columns = rows[columns >= 0], columns[columns >= 0]
    roll_call = pd.factorize(rows["vote_id"])[0]
    votes = np.zeros((roll_call.max(initial=-1) + 1, len(order)), dtype=np.int8)  # (V, N)
    votes[roll_call, columns] = rows["vote"].map(_AGREEMENT_CODES).to_numpy()
    voted = (votes > 0).astype(np.float32)
    same = np.zeros((len(order), len(order)), dtype=np.float64)
    for code in _AGREEMENT_CODES.values():
        cast = (votes == code).astype(np.float32)
        same += cast.T @ cast
    return (voted.T @ voted).astype(np.float64), same


def patron_clients(agreement: np.ndarray, members: pd.DataFrame, margin: float = 0.1) -> np.ndarray:
    """Client -> patron ties (N, N) of 0/1 that the voting record justifies.

    A member (not itself one of the P5) is a client of permanent member ``p`` when
    1. its agreement with ``p`` exceeds the median agreement of its UN regional group with
       ``p`` by at least ``margin`` (it follows ``p`` more than its neighbours do), and
    2. that excess is at least ``margin`` above its median excess over the five (it follows
       ``p`` in particular, not the West or the South in general).
    On 2015-2024 roll calls this ties e.g. Israel, Micronesia, the Marshall Islands and
    Palau to the USA, and Belarus and the DPRK to Russia.
    """
    order = members["iso3"].tolist()
    patrons = [order.index(p) for p in PATRONS]
    with_patron = agreement[:, patrons]  # (N, 5)
    groups = members["un_group"].to_numpy()
    is_patron = members["iso3"].isin(PATRONS).to_numpy()
    peer_median = np.empty_like(with_patron)
    for group in np.unique(groups):
        in_group = groups == group
        peer_median[in_group] = np.nanmedian(with_patron[in_group & ~is_patron], axis=0)
    excess = with_patron - peer_median
    specific = excess - np.nanmedian(excess, axis=1, keepdims=True)
    client = (excess >= margin) & (specific >= margin) & ~is_patron[:, None]
    ties = np.zeros_like(agreement)
    ties[:, patrons] = client
    return ties


def tie_layers(
    members: pd.DataFrame,
    history: pd.DataFrame,
    until: str | None,
    since: str = "2015-01-01",
    affinity_neighbours: int = 10,
    patron_margin: float = 0.1,
) -> dict[str, np.ndarray]:
    """One (N, N) matrix per tie type at unit weight, rows/columns in ``members`` order.

    Each member's row of a bloc layer sums to the number of its blocs in that family (1 per
    bloc); its affinity row sums to 1 over its ``affinity_neighbours`` most agreeing
    members (in proportion to agreement); its patron row holds 1 per patron. Multiply by
    ``TieWeights`` and sum for the weighted network (that is what ``build_network`` does).
    """
    order = members["iso3"].tolist()
    layers = {
        family: sum(
            (_bloc_layer(members[flag].to_numpy() == 1) for flag in flags if flag in members),
            start=np.zeros((len(order), len(order))),
        )
        for family, flags in BLOC_FAMILIES.items()
    }
    layers["un_group"] = sum(
        _bloc_layer(members["un_group"].to_numpy() == group)
        for group in members["un_group"].unique()
    )
    agreement = voting_affinity(history, order, since=since, until=until)
    layers["affinity"] = _affinity_layer(agreement, affinity_neighbours)
    layers["patron"] = patron_clients(agreement, members, patron_margin)
    layers["alignment"] = alignment_ties(history, members, until)
    return layers


def alignment_ties(
    history: pd.DataFrame, members: pd.DataFrame, until: str | None, years: float = 1.0
) -> np.ndarray:
    """Member -> permanent member ties (N, N) from whom a member has lately followed in particular.

    Over the roll calls of the last ``years`` before ``until``, a member's tie to permanent
    member ``p`` is a_ip - median_q a_iq: its agreement with ``p`` above its median agreement
    with the five (zero when not above). Unlike ``patron`` (a 0/1 client relation over ten
    years) it grades how closely a member has lately followed one capital rather than the
    West or the South in general, so a turn of that capital reaches its followers in
    proportion (in 2024 towards the USA: Israel 0.30, Micronesia 0.16, Argentina 0.12 ...;
    most of Europe follows France and the United Kingdom). The five get no alignment ties.
    """
    order = members["iso3"].tolist()
    dates = pd.to_datetime(history["date"])
    end = pd.Timestamp(until) if until is not None else dates.max() + pd.Timedelta(days=1)
    since = end - pd.Timedelta(days=round(365.25 * years))
    agreement = voting_affinity(
        history, order, since=str(since.date()), until=str(end.date()), min_shared=5
    )
    patrons = [order.index(p) for p in PATRONS]
    is_patron = members["iso3"].isin(PATRONS).to_numpy()
    with_patron = agreement[:, patrons]  # (N, 5)
    with warnings.catch_warnings():  # a member with no recent vote (AFG) has no row
        warnings.simplefilter("ignore", RuntimeWarning)
        specific = with_patron - np.nanmedian(with_patron, axis=1, keepdims=True)
    ties = np.zeros_like(agreement)
    ties[:, patrons] = np.clip(np.nan_to_num(specific, nan=0.0), 0.0, None) * ~is_patron[:, None]
    return ties


def _bloc_layer(in_bloc: np.ndarray) -> np.ndarray:
    """(N, N) ties among the members of one bloc, each member's row summing to 1."""
    size = int(in_bloc.sum())
    layer = np.zeros((len(in_bloc), len(in_bloc)))
    if size > 1:
        layer[np.ix_(in_bloc, in_bloc)] = 1.0 / (size - 1)
        np.fill_diagonal(layer, 0.0)
    return layer


def _affinity_layer(agreement: np.ndarray, neighbours: int) -> np.ndarray:
    """(N, N) ties to each member's ``neighbours`` closest others, rows summing to 1.

    Closeness is agreement corrected for hubness (CSLS): 2 a_ij - r_i - r_j, with r_i the
    mean agreement of i with its ``neighbours`` most agreeing others. Without it, states that
    vote the plain majority line become almost everyone's nearest neighbour. Tie strength
    is proportional to the plain agreement.
    """
    others = np.where(np.eye(len(agreement), dtype=bool), np.nan, agreement)
    others = np.nan_to_num(others, nan=-1.0)
    typical = -np.sort(-others, axis=1)[:, :neighbours].mean(axis=1)  # (N,)
    closeness = 2 * others - typical[:, None] - typical[None, :]
    np.fill_diagonal(closeness, -np.inf)
    closest = np.argsort(-closeness, axis=1, kind="stable")[:, :neighbours]  # (N, k)
    rows = np.arange(len(agreement))[:, None]
    layer = np.zeros_like(agreement)
    layer[rows, closest] = np.clip(others[rows, closest], 0.0, None)
    totals = layer.sum(axis=1, keepdims=True)
    return np.divide(layer, totals, out=np.zeros_like(layer), where=totals > 0)


def build_network(
    members: pd.DataFrame,
    history: pd.DataFrame,
    until: str | None,
    weights: TieWeights = TieWeights(),  # noqa: B008 - frozen, so a safe shared default
    since: str = "2015-01-01",
    affinity_neighbours: int = 10,
    patron_margin: float = 0.1,
) -> nx.DiGraph:
    """The influence graph from the record before ``until`` (e.g. "2025-02-24").

    Nodes are ISO3 codes in ``members`` order with ``name``, ``un_group`` and ``blocs``
    (comma-separated flags). Edge ``i -> j`` (i listens to j) has ``weight``, one attribute
    per tie type (they sum to ``weight``) and ``blocs``, the blocs the two share. Example::

        graph = build_network(data.members, data.history, until="2025-02-24")
        graph["HUN"]["POL"]  # {'weight': ..., 'alliance': ..., 'blocs': 'eu,nato,...'}
    """
    import networkx as nx

    layers = tie_layers(members, history, until, since, affinity_neighbours, patron_margin)
    parts = {kind: getattr(weights, kind) * layer for kind, layer in layers.items()}
    total = sum(parts.values())
    graph = nx.DiGraph(
        until=str(until),
        since=since,
        affinity_neighbours=affinity_neighbours,
        patron_margin=patron_margin,
        **{f"weight_{kind}": value for kind, value in asdict(weights).items()},
    )
    order = members["iso3"].tolist()
    flags = [flag for flag in BLOCS if flag in members]
    membership = members[flags].to_numpy() == 1  # (N, F)
    for i, iso3 in enumerate(order):
        graph.add_node(
            iso3,
            name=members["name"].iat[i],
            un_group=members["un_group"].iat[i],
            blocs=",".join(np.array(flags)[membership[i]]),
        )
    shared = _shared_blocs(members, flags, membership)
    for i, j in zip(*np.nonzero(total > 0), strict=True):
        graph.add_edge(
            order[i],
            order[j],
            weight=float(total[i, j]),
            blocs=shared(i, j),
            **{kind: float(part[i, j]) for kind, part in parts.items()},
        )
    return graph


def _shared_blocs(
    members: pd.DataFrame, flags: list[str], membership: np.ndarray
) -> Callable[[int, int], str]:
    """A function (i, j) -> "eu,nato,un_group": the blocs two members share, via bit masks."""
    names = [*flags, "un_group"]
    bits = membership.astype(np.int64) @ (1 << np.arange(len(flags), dtype=np.int64))
    group_codes = pd.factorize(members["un_group"])[0]
    cache: dict[int, str] = {}

    def shared(i: int, j: int) -> str:
        mask = int(bits[i] & bits[j]) | (int(group_codes[i] == group_codes[j]) << len(flags))
        if mask not in cache:
            cache[mask] = ",".join(name for b, name in enumerate(names) if mask >> b & 1)
        return cache[mask]

    return shared


def influence_matrix(graph: nx.DiGraph, order: Sequence[str]) -> np.ndarray:
    """Row-stochastic W (N, N) float64: row i is how much member i listens to each other.

    Rows follow ``order``; a member with no ties listens only to itself (W_ii = 1).
    """
    import networkx as nx

    weights = nx.to_numpy_array(graph, nodelist=list(order), weight="weight", dtype=np.float64)
    return row_stochastic(weights)


def row_stochastic(weights: np.ndarray) -> np.ndarray:
    """Rows of (N, N) non-negative ``weights`` scaled to sum to 1; empty rows become W_ii = 1."""
    totals = weights.sum(axis=1, keepdims=True)
    influence = np.divide(weights, totals, out=np.zeros_like(weights), where=totals > 0)
    empty = np.flatnonzero(totals[:, 0] <= 0)
    influence[empty, empty] = 1.0
    return influence


def network_summary(graph: nx.DiGraph, top: int = 10) -> dict[str, object]:
    """Size, density, ties by type, modularity communities and the most listened-to members.

    ``communities``: DataFrame (iso3, name, community, attention), community 0 the largest,
    found by greedy modularity on the undirected view (weights of i->j and j->i summed), which
    is deterministic. ``central``: the ``top`` members by attention received, the column sums
    of the row-normalised influence matrix W (each member shares one unit of attention among
    the states it listens to; a state's attention is the sum of the shares it gets, so 1.0 is
    what an average member receives). ``pagerank`` beside it is weighted PageRank on the same
    W: attention from states that themselves get much attention counts more, so members of a
    small, closed bloc (who give each other large shares) can rank high on it.
    """
    import networkx as nx

    undirected = nx.Graph()
    undirected.add_nodes_from(graph.nodes)
    for source, target, weight in graph.edges(data="weight"):
        previous = undirected.get_edge_data(source, target, {"weight": 0.0})["weight"]
        undirected.add_edge(source, target, weight=previous + weight)
    found = nx.community.greedy_modularity_communities(undirected, weight="weight")
    found = sorted((sorted(c) for c in found), key=lambda c: (-len(c), c[0]))
    attention = attention_received(graph)
    communities = pd.DataFrame(
        [
            (iso3, graph.nodes[iso3]["name"], k, attention[iso3])
            for k, c in enumerate(found)
            for iso3 in c
        ],
        columns=["iso3", "name", "community", "attention"],
    )
    rank = nx.pagerank(graph, weight="weight")
    central = pd.DataFrame(
        [(iso3, graph.nodes[iso3]["name"], attention[iso3], rank[iso3]) for iso3 in graph],
        columns=["iso3", "name", "attention", "pagerank"],
    ).sort_values(["attention", "iso3"], ascending=[False, True], kind="stable")
    return {
        "nodes": graph.number_of_nodes(),
        "edges": graph.number_of_edges(),
        "density": nx.density(graph),
        "ties_by_type": {
            kind: sum(1 for *_, value in graph.edges(data=kind) if value > 0) for kind in TIE_TYPES
        },
        "modularity": nx.community.modularity(undirected, found, weight="weight"),
        "communities": communities,
        "central": central.head(top).reset_index(drop=True),
    }


def attention_received(graph: nx.DiGraph) -> dict[str, float]:
    """Each member's total share of attention: the column sums of the row-normalised weights
    (a tie i->j means i listens to j)."""
    given = dict(graph.out_degree(weight="weight"))
    received = dict.fromkeys(graph.nodes, 0.0)
    for source, target, weight in graph.edges(data="weight"):
        if given[source] > 0:
            received[target] += weight / given[source]
    return received


def export_network(graph: nx.DiGraph, path: str | Path, format: str = "graphml") -> Path:
    """Write the graph as GraphML (nodes, edges, all attributes) or a CSV edge list.

    The CSV has one row per tie: source, target, weight, one column per tie type, blocs.
    """
    import networkx as nx

    path = Path(path)
    if format == "graphml":
        nx.write_graphml(graph, path)
    elif format == "csv":
        edges = nx.to_pandas_edgelist(graph, source="source", target="target")
        columns = ["source", "target", "weight", *TIE_TYPES, "blocs"]
        edges.reindex(columns=columns).to_csv(path, index=False)
    else:
        raise BlocsimError(f"unknown network format {format!r} (graphml, csv)", field="format")
    return path
