"""Every graph runs the cotmask model once per pixel and date: nothing downstream of it has two consumers among the
nodes a backend evaluates (issue 19: Spark recomputes an RDD for each consumer unless it is persisted)."""

import json

import pytest

from cotmask.udp import GRAPHS_DIR, PROCESSES
from cotmask.udp.backend import recomputed_nodes

#: Parameter choices that switch between the graphs' top-level branches.
CHOICES = [{}, {"shadows": False}, {"temporal": False}, {"smooth": 0}, {"min_class": 2}, {"resolution": 10}]


def _arguments(udp: dict, choice: dict) -> dict:
    names = {q["name"] for q in udp["parameters"]}
    return {q["name"]: q.get("default") for q in udp["parameters"]} | {k: v for k, v in choice.items() if k in names}


@pytest.mark.parametrize("choice", CHOICES, ids=lambda c: ",".join(f"{k}={v}" for k, v in c.items()) or "defaults")
@pytest.mark.parametrize("module", PROCESSES, ids=lambda m: m.PROCESS_ID)
def test_the_model_result_has_one_consumer(module, choice) -> None:
    udp = json.loads((GRAPHS_DIR / f"{module.PROCESS_ID}.json").read_text())
    assert recomputed_nodes(udp, _arguments(udp, choice)) == []


def test_the_check_finds_a_second_consumer() -> None:
    """The check itself: a graph that reads the model's result twice (as all graphs did before issue 19) is caught."""
    udp = json.loads((GRAPHS_DIR / "cotmask_cloud_mask.json").read_text())
    graph = udp["process_graph"]
    model = next(k for k, n in graph.items() if "cloud optical thickness" in json.dumps(n["arguments"].get("process")))
    result = next(k for k, n in graph.items() if n.get("result"))
    graph[result]["result"] = False
    graph["twice"] = {
        "process_id": "merge_cubes",
        "arguments": {"cube1": {"from_node": result}, "cube2": {"from_node": model}},
        "result": True,
    }
    assert model in recomputed_nodes(udp, _arguments(udp, {}))


def test_a_condition_the_walk_cannot_evaluate_is_an_error() -> None:
    """An if condition of an unknown process must not silently pick a branch."""
    udp = json.loads((GRAPHS_DIR / "cotmask_cloud_mask.json").read_text())
    node = next(n for n in udp["process_graph"].values() if n["process_id"] == "eq")
    node["process_id"] = "between"
    with pytest.raises(ValueError, match="cannot evaluate 'between'"):
        recomputed_nodes(udp, _arguments(udp, {}))
