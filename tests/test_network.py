"""The influence network built from the real record before 24 Feb 2025."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pandas as pd
import pytest

from sim.cli import main
from sim.data.loader import UNData
from sim.errors import BlocsimError
from sim.model.network import (
    TIE_TYPES,
    TieWeights,
    attention_received,
    build_network,
    export_network,
    influence_matrix,
    network_summary,
    voting_affinity,
)

CUT_OFF = "2025-02-24"


@pytest.fixture(scope="module")
def graph(data: UNData) -> nx.DiGraph:
    return build_network(data.members, data.history, until=CUT_OFF)


def test_every_member_is_a_node_with_its_blocs(graph: nx.DiGraph, data: UNData) -> None:
    assert list(graph.nodes) == list(data.iso3)
    assert graph.number_of_nodes() == 193
    assert graph.nodes["FRA"]["un_group"] == "WEOG"
    assert {"eu", "nato", "g7"} <= set(graph.nodes["FRA"]["blocs"].split(","))


def test_eu_members_are_tied_to_each_other(graph: nx.DiGraph, data: UNData) -> None:
    eu = data.members.loc[data.members["eu"] == 1, "iso3"]
    for member in eu:
        for mate in eu:
            if member != mate:
                assert graph[member][mate]["alliance"] > 0
                assert "eu" in graph[member][mate]["blocs"].split(",")


def test_weight_is_the_sum_of_its_tie_types(graph: nx.DiGraph) -> None:
    for _, _, tie in graph.edges(data=True):
        assert tie["weight"] == pytest.approx(sum(tie[kind] for kind in TIE_TYPES))
        assert tie["weight"] > 0


def test_tie_weights_scale_their_components(data: UNData) -> None:
    doubled = build_network(data.members, data.history, CUT_OFF, TieWeights(alliance=2.0))
    base = build_network(data.members, data.history, CUT_OFF)
    assert doubled["HUN"]["POL"]["alliance"] == pytest.approx(2 * base["HUN"]["POL"]["alliance"])
    assert doubled["HUN"]["POL"]["affinity"] == pytest.approx(base["HUN"]["POL"]["affinity"])


def test_influence_rows_sum_to_one(graph: nx.DiGraph, data: UNData) -> None:
    influence = influence_matrix(graph, data.iso3)
    assert influence.shape == (193, 193) and influence.dtype == np.float64
    np.testing.assert_allclose(influence.sum(axis=1), 1.0, atol=1e-12)
    assert (influence >= 0).all()


def test_an_isolated_member_listens_to_itself(graph: nx.DiGraph, data: UNData) -> None:
    lonely = graph.copy()
    lonely.remove_edges_from(list(lonely.out_edges("PLW")))
    influence = influence_matrix(lonely, data.iso3)
    palau = data.iso3.index("PLW")
    assert influence[palau, palau] == 1.0 and influence[palau].sum() == 1.0


def test_affinity_matches_the_record(data: UNData) -> None:
    agreement = voting_affinity(data.history, data.iso3, until=CUT_OFF)
    at = {iso3: i for i, iso3 in enumerate(data.iso3)}
    assert agreement.shape == (193, 193)
    np.testing.assert_allclose(agreement, agreement.T, equal_nan=True)
    assert agreement[at["USA"], at["ISR"]] > 0.8
    assert agreement[at["USA"], at["RUS"]] < 0.3
    assert agreement[at["FRA"], at["DEU"]] > agreement[at["FRA"], at["RUS"]]


def test_affinity_counts_only_roll_calls_both_voted_on() -> None:
    history = pd.DataFrame(
        {
            "vote_id": ["a", "a", "b", "b", "c", "c"],
            "date": pd.to_datetime(["2020-01-01"] * 6),
            "iso3": ["AAA", "BBB"] * 3,
            "vote": ["Y", "Y", "N", "A", "X", "Y"],
        }
    )
    agreement = voting_affinity(history, ["AAA", "BBB"], since="2000-01-01", min_shared=1)
    assert agreement[0, 1] == 0.5  # a agrees, b differs, c has AAA not voting


def test_patron_ties_follow_the_record(graph: nx.DiGraph) -> None:
    patrons = {(u, v) for u, v, w in graph.edges(data="patron") if w > 0}
    assert {("ISR", "USA"), ("MHL", "USA"), ("PLW", "USA"), ("BLR", "RUS")} <= patrons
    assert not any(client in {"USA", "RUS", "CHN", "FRA", "GBR"} for client, _ in patrons)
    assert ("DEU", "USA") not in patrons


def test_affinity_ties_are_sparse(graph: nx.DiGraph) -> None:
    affinity = [v for _, v, w in graph.edges(data="affinity") if w > 0]
    assert len(affinity) <= 193 * 10
    assert max(pd.Series(affinity).value_counts()) < 100  # no member is everyone's neighbour


def test_summary_is_deterministic(graph: nx.DiGraph, data: UNData) -> None:
    summary = network_summary(graph)
    again = network_summary(build_network(data.members, data.history, until=CUT_OFF))
    pd.testing.assert_frame_equal(summary["communities"], again["communities"])
    assert summary["nodes"] == 193 and summary["edges"] == graph.number_of_edges()
    assert 0 < summary["density"] < 0.5
    communities = summary["communities"].set_index("iso3")["community"]
    assert communities["FRA"] == communities["DEU"] != communities["CHN"]
    assert len(summary["central"]) == 10


def test_attention_received_is_the_column_sums_of_the_row_normalised_ties() -> None:
    """Three listeners: A gives B 3/4 and C 1/4; B gives A all; C gives A 1/2 and B 1/2."""
    graph = nx.DiGraph()
    for code in "ABC":
        graph.add_node(code, name=code)
    for source, target, weight in [("A", "B", 3), ("A", "C", 1), ("B", "A", 2)]:
        graph.add_edge(source, target, weight=weight, **dict.fromkeys(TIE_TYPES, 0))
    graph.add_edge("C", "A", weight=0.5, **dict.fromkeys(TIE_TYPES, 0))
    graph.add_edge("C", "B", weight=0.5, **dict.fromkeys(TIE_TYPES, 0))
    assert attention_received(graph) == pytest.approx({"A": 1.5, "B": 1.25, "C": 0.25})
    central = network_summary(graph, top=3)["central"]
    assert central["iso3"].tolist() == ["A", "B", "C"]


def test_network_info_ranks_by_attention_and_names_central_examples(capsys) -> None:
    """The US is among the five most listened-to states; each community's examples are its
    members with the most attention, not the alphabet's first."""
    assert main(["network", "info"]) == 0
    out = capsys.readouterr().out
    assert "attention: the sum of the shares of attention the others give it" in out
    ranked = out.split("most listened to (attention")[1].splitlines()[2:7]
    assert any(line.split()[0] == "USA" for line in ranked)
    examples = out.split("most_listened_to")[1].splitlines()[1:]
    assert any(line.split()[2:4] == ["CHN", "RUS"] for line in examples)


def test_graphml_round_trip(graph: nx.DiGraph, tmp_path) -> None:
    path = export_network(graph, tmp_path / "network.graphml", "graphml")
    back = nx.read_graphml(path)
    assert list(back.nodes) == list(graph.nodes)
    assert back.number_of_edges() == graph.number_of_edges()
    assert back["HUN"]["POL"]["blocs"] == graph["HUN"]["POL"]["blocs"]
    assert back.nodes["FRA"] == graph.nodes["FRA"]
    for kind in ("weight", *TIE_TYPES):
        assert back["HUN"]["POL"][kind] == pytest.approx(graph["HUN"]["POL"][kind])


def test_csv_export_lists_ties_with_their_types(graph: nx.DiGraph, tmp_path) -> None:
    edges = pd.read_csv(export_network(graph, tmp_path / "ties.csv", "csv"))
    assert list(edges.columns) == ["source", "target", "weight", *TIE_TYPES, "blocs"]
    assert len(edges) == graph.number_of_edges()
    np.testing.assert_allclose(edges[list(TIE_TYPES)].sum(axis=1), edges["weight"])


def test_unknown_export_format_is_a_user_error(graph: nx.DiGraph, tmp_path) -> None:
    with pytest.raises(BlocsimError, match="format"):
        export_network(graph, tmp_path / "network.gexf", "gexf")


def test_alignment_ties_find_who_follows_washington_in_particular(data):
    from sim.model.network import alignment_ties

    ties = alignment_ties(data.roll_calls(), data.members, "2025-02-24")
    order = data.members["iso3"].tolist()
    to_usa = dict(zip(order, ties[:, order.index("USA")], strict=True))
    assert to_usa["ISR"] == max(to_usa.values()) > 0.2
    assert to_usa["FSM"] > 0 and to_usa["ARG"] > 0
    assert to_usa["DEU"] == 0 and to_usa["CHN"] == 0  # Germany follows Paris and London
    assert ties[order.index("BLR"), order.index("RUS")] > 0
    assert not ties[data.members["unsc_p5"].to_numpy() == 1].any()
