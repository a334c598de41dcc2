"""The import direction of the README's Architecture section: layers only import downwards.

Each module belongs to a layer; it may import modules of lower layers and of its own
package, never a higher layer or a sibling package of its own layer, and module imports
have no cycles. The generator (`synth`) imports nothing of the product it tests.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OURS = ("catalogbridge", "udfs", "jobs", "synth")

# Lowest first. A module's layer is that of the longest prefix listed.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("catalogbridge.names", "catalogbridge.settings"),          # leaves: import nothing of ours
    ("udfs",),                                                  # pure matcher core + wrappers
    ("catalogbridge.columns", "catalogbridge.labels",           # column helpers, code labels,
     "catalogbridge.privacy"),                                  # pseudonyms, disclosure control
    ("catalogbridge.io",),                                      # readers, store, session, exports
    ("catalogbridge.transforms", "catalogbridge.matching", "catalogbridge.quality",  # domain
     "catalogbridge.flows"),                                    # cross-region care analytics
    ("catalogbridge.decisions",),                               # per region and group
    ("catalogbridge.publication",),                             # published tables, suppression
    ("catalogbridge.reporting",),                               # charts, summaries
    ("catalogbridge.reports",),                                 # HTML reports, workbooks, titles
    ("catalogbridge.pipeline",),                                # config, nodes, stage table, runner
    ("jobs",),                                                  # command lines
)


def _modules() -> dict[str, Path]:
    found = {}
    for package in ("catalogbridge", "udfs", "jobs", "synth"):
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def _imports(path: Path, modules: dict[str, Path]) -> set[str]:
    """Our modules imported by `path` (for `from a.b import c`: a.b.c if a module, else a.b)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.update(f"{node.module}.{alias.name}" if f"{node.module}.{alias.name}" in modules
                         else node.module for alias in node.names)
    return {n for n in names if n.split(".")[0] in OURS}


def _layer(module: str) -> tuple[int, str]:
    """(layer index, the package prefix that placed it there)."""
    best = max(((i, p) for i, layer in enumerate(LAYERS) for p in layer
                if module == p or module.startswith(p + ".")), key=lambda ip: len(ip[1]))
    return best


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(path, modules) for name, path in modules.items()}


def test_every_product_module_has_a_layer() -> None:
    unplaced = [m for m in _graph() if not m.startswith("synth")
                and not any(m == p or m.startswith(p + ".") for layer in LAYERS for p in layer)
                and m not in ("catalogbridge",)]
    assert not unplaced, f"add these to LAYERS and the README's Architecture table: {unplaced}"


def layer_violations(graph: dict[str, set[str]]) -> list[str]:
    wrong = []
    for module, imported in graph.items():
        if module.startswith("synth") or module == "catalogbridge":
            continue
        level, package = _layer(module)
        for target in imported:
            if target.startswith("synth"):
                wrong.append(f"{module} -> {target} (the generator is not part of the product)")
                continue
            target_level, target_package = _layer(target)
            if target_level > level or (target_level == level and target_package != package):
                wrong.append(f"{module} (layer {level}) -> {target} (layer {target_level})")
    return sorted(wrong)


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    state: dict[str, int] = {}  # 1 visiting, 2 done
    cycles: list[list[str]] = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append([*path[path.index(nxt):], nxt])
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for start in sorted(graph):
        if start not in state:
            visit(start, [start])
    return cycles


def test_layers_import_only_downwards() -> None:
    assert not (wrong := layer_violations(_graph())), "\n".join(wrong)


def test_no_import_cycles() -> None:
    cycles = import_cycles(_graph())
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)


def test_the_generator_imports_nothing_of_the_product() -> None:
    leaks = {m: sorted(t for t in imported if not t.startswith("synth"))
             for m, imported in _graph().items() if m.startswith("synth")}
    assert not {m: t for m, t in leaks.items() if t}


def test_the_checks_catch_what_they_guard_against() -> None:
    graph = {"catalogbridge.io.store": {"catalogbridge.pipeline.nodes"},          # upward
             "catalogbridge.transforms.cleaning": {"catalogbridge.matching.catalog"},  # sibling
             "catalogbridge.matching.catalog": {"catalogbridge.matching.review", "udfs.matching"}}
    assert layer_violations(graph) == [
        "catalogbridge.io.store (layer 3) -> catalogbridge.pipeline.nodes (layer 9)",
        "catalogbridge.transforms.cleaning (layer 4) -> catalogbridge.matching.catalog (layer 4)"]
    assert import_cycles({"udfs.a": {"udfs.b"}, "udfs.b": {"udfs.c"}, "udfs.c": {"udfs.a"}}) == [
        ["udfs.a", "udfs.b", "udfs.c", "udfs.a"]]
