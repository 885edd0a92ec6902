"""What the geotrellis openEO backends (CDSE, Terrascope) accept, as checks on a UDP's process graph.

Verified by reading the sources (no credentials exist here to run a job):

* openeo-geotrellis-extensions ``OpenEOProcessScriptBuilder.scala`` (commit 2a25a26, 2024-10):
  ``fromParameter`` (lines 975-996) falls back to the callback's own input tiles when a parameter
  name is unknown, so a UDP parameter read inside a callback silently becomes the input
  (``x >= min_class`` turns into ``x >= x``); the operators it implements are in ``expressionEnd``
  (lines 1116-1213): ``CALLBACK_OPS`` below lists the ones cotmask relies on. ``is_valid`` and
  ``array_contains`` are not among them; ``is_nan`` and ``is_nodata`` map to ``Undefined`` (l. 1199-1200),
  ``count`` without condition counts valid cells (l. 1171).
* openeo-python-driver ``processgraph/evaluator.py`` (commit 9e5b49b, 2026-04): a top-level ``if``
  evaluates its condition and then only the chosen branch (lines 329-334); top-level
  ``from_parameter`` is resolved from the UDP's arguments (lines 231-236); top-level ``eq``, ``add``,
  ``multiply`` come from openeo-processes-python (``processgraph/registry.py`` lines 78-84) and
  ``array_create`` is ``list(data) * repeat`` (``process_implementations/array.py`` lines 36-46);
  the request-body limit is 2 MiB (``config/config.py`` line 68).
* openeo-geopyspark-driver ``geopysparkdatacube.py`` (commit 9baf2e1, 2026-08): ``run_udf``'s context
  is resolved with the UDP's parameters (``_extract_udf_code_and_context``, lines 339-341);
  ``apply_kernel`` accepts only ``border=0`` and ``replace_invalid=0`` (lines 1229-1240).
"""

#: Operators allowed inside non-UDF callbacks (reducers, apply, merge resolvers), each implemented
#: by the geotrellis callback builder (OpenEOProcessScriptBuilder.scala, line).
CALLBACK_OPS: dict[str, int] = {
    "array_element": 1201,
    "gt": 1122,
    "gte": 1124,
    "eq": 1127,
    "not": 1130,
    "and": 1132,
    "or": 1135,
    "add": 1143,
    "subtract": 1144,
    "multiply": 1147,
    "divide": 1149,
    "clip": 1154,
    "if": 1120,
    "max": 1157,
    "min": 1159,
    "mean": 1162,
    "median": 1167,
    "count": 1171,
    "first": 1195,
    "is_nan": 1200,
    "is_nodata": 1199,
    "sum": 1141,
}
#: Parameters a callback may read: its own inputs (``x``/``y`` for apply/merge resolvers, ``data``).
CALLBACK_INPUTS = frozenset({"x", "y", "data"})
#: A published UDP is one ZooKeeper node (1 MiB default) and the request body limit is 2 MiB: cotmask
#: keeps every UDP JSON below half the node size.
MAX_UDP_BYTES = 512 * 1024
#: openeo-python-driver refuses a request body above 2 MiB (``config/config.py`` line 68, HTTP 413).
MAX_REQUEST_BYTES = 2 * 1024 * 1024
#: What a call needs besides its arguments (process id, namespace URL, save_result, JSON framing), with room to spare.
REQUEST_OVERHEAD_BYTES = 16 * 1024


def _references(value, key: str) -> list[str]:
    """The ``key`` ("from_parameter" or "from_node") references in an argument value, not descending into
    nested callbacks."""
    if isinstance(value, dict):
        if key in value:
            return [value[key]]
        if "process_graph" in value:
            return []
        return [name for v in value.values() for name in _references(v, key)]
    if isinstance(value, list):
        return [name for v in value for name in _references(v, key)]
    return []


def _parameter_reads(value) -> list[str]:
    """``from_parameter`` names in an argument value, not descending into nested callbacks."""
    return _references(value, "from_parameter")


def _callbacks(arguments: dict):
    """(argument name, callback process graph) in a node's arguments, at any depth."""

    def walk(value, arg):
        if isinstance(value, dict):
            if "process_graph" in value:
                yield arg, value["process_graph"]
            else:
                for v in value.values():
                    yield from walk(v, arg)
        elif isinstance(value, list):
            for v in value:
                yield from walk(v, arg)

    for name, value in arguments.items():
        yield from walk(value, name)


def callback_problems(udp: dict) -> list[str]:
    """Everything in ``udp`` (a UDP dict with ``process_graph``) that a geotrellis backend would run
    silently wrong or reject: UDP parameters read inside callbacks (other than ``run_udf``'s ``udf`` and
    ``context``), and callback operators its callback builder lacks. Empty when the graph is safe."""
    problems: list[str] = []

    def check(graph: dict, where: str) -> None:
        for node_id, node in graph.items():
            pid, args = node["process_id"], node.get("arguments", {})
            path = f"{where}/{node_id}"
            if where:  # inside a callback
                if pid == "run_udf":
                    reads = _parameter_reads(args.get("data"))
                elif pid not in CALLBACK_OPS:
                    problems.append(f"{path}: {pid} is not implemented by the geotrellis callback builder")
                    reads = _parameter_reads(args)
                else:
                    reads = _parameter_reads(args)
                for name in reads:
                    if name not in CALLBACK_INPUTS:
                        problems.append(
                            f"{path}: reads parameter {name!r} inside a callback (not resolved there "
                            "on geotrellis backends: it silently becomes the callback's input)"
                        )
            for arg, sub in _callbacks(args):
                check(sub, f"{path}.{arg}")

    check(udp["process_graph"], "")
    return problems


def _node_refs(value) -> list[str]:
    """``from_node`` ids in a top-level argument value, not descending into callbacks."""
    return _references(value, "from_node")


def _value(value, graph: dict, arguments: dict):
    """A top-level argument's value as the driver computes it: parameters from ``arguments``, and the scalar
    processes a condition uses (eq, gte, add, multiply); other nodes are None (a cube)."""
    if isinstance(value, dict) and "from_parameter" in value:
        return arguments[value["from_parameter"]]
    if isinstance(value, dict) and "from_node" in value:
        node = graph[value["from_node"]]
        args = {k: _value(v, graph, arguments) for k, v in node["arguments"].items()}
        ops = {"eq": lambda a: a["x"] == a["y"], "gte": lambda a: a["x"] >= a["y"]}
        ops |= {"add": lambda a: a["x"] + a["y"], "multiply": lambda a: a["x"] * a["y"]}
        if node["process_id"] not in ops:
            raise ValueError(f"cannot evaluate {node['process_id']!r} in an if condition: teach _value it")
        return ops[node["process_id"]](args)
    return value


def recomputed_nodes(udp: dict, arguments: dict, model_udf: str = "cloud optical thickness") -> list[str]:
    """Nodes that Spark would compute more than once per run of ``udp`` with ``arguments`` (all its parameters):
    those at or downstream of the cotmask model's run_udf (the node whose callback holds ``model_udf``) that have more
    than one consumer among the nodes the driver evaluates. A top-level ``if`` evaluates its condition and only the
    chosen branch (openeo-python-driver ``processgraph/evaluator.py`` lines 329-334), and nothing persists an RDD that
    two consumers read (openeo-geopyspark-driver issue 986), so each extra consumer runs the model again."""
    import json

    graph = udp["process_graph"]

    def inputs(node_id: str) -> tuple[list[str], list[str]]:
        """(cubes the node reads, the scalars of an if's condition): an if reads only its chosen branch."""
        args = graph[node_id]["arguments"]
        if graph[node_id]["process_id"] != "if":
            return _node_refs(args), []
        chosen = args["accept"] if _value(args["value"], graph, arguments) else args["reject"]
        return _node_refs(chosen), _node_refs(args["value"])

    active: set[str] = set()
    todo = [next(k for k, n in graph.items() if n.get("result"))]
    while todo:
        node_id = todo.pop()
        if node_id not in active:
            active.add(node_id)
            todo += [ref for refs in inputs(node_id) for ref in refs]
    consumers: dict[str, int] = {}
    for node_id in active:
        for ref in set(inputs(node_id)[0]):
            consumers[ref] = consumers.get(ref, 0) + 1
    model = [k for k in active if model_udf in json.dumps(graph[k]["arguments"].get("process", ""))]
    downstream, todo = set(model), list(model)
    while todo:
        current = todo.pop()
        for node_id in active - downstream:
            if current in inputs(node_id)[0]:
                downstream.add(node_id)
                todo.append(node_id)
    return sorted(k for k in downstream if consumers.get(k, 0) > 1)
