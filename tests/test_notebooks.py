"""Every notebook in notebooks/ runs headless against a finished pipeline run.

Each `notebooks/*.ipynb` (a new one is picked up by the glob) is executed with nbclient in a
kernel of this interpreter, against the national case's outputs, with a small Spark driver
of its own (the kernel is another process with its own JVM). A cell that raises fails the
test naming the notebook and the cell. Executed copies go to the test's tmp_path, never back
into notebooks/. Cells the checks read are found by their tag (cell metadata `tags`).

The kernel: a kernel spec written for `sys.executable` into a temporary Jupyter path, so a
fresh clone with `pip install -e '.[dev]'` needs no `ipykernel install`, and no other
`python3` kernel spec on the machine (a user's, another environment's) can be picked instead.
"""

from __future__ import annotations

import ast
import html
import os
import re
from collections.abc import Callable
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from ipykernel.kernelspec import write_kernel_spec
from nbclient import NotebookClient
from nbformat import NotebookNode
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from tests.conftest import Case

NOTEBOOK_DIR = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
KERNEL = "catalogbridge-tests"
CELL_TIMEOUT = 600  # seconds; the first cell starts the kernel's own Spark session
# The kernel's Spark: small beside the test session's (conf/local.yaml asks 4g).
KERNEL_SPARK = " ".join((
    "spark.conf.spark.driver.memory=1g",
    "spark.conf.spark.sql.shuffle.partitions=2",
    "spark.conf.spark.default.parallelism=2",
    "spark.log_level=ERROR",
))
ABSENT = "990000"  # no such region: the notebooks fall back to the busiest one
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
# What a notebook may import: the library, and what finding the repository and reading the
# environment need. Charts, tables and numbers come from catalogbridge.
ALLOWED_IMPORTS = {"catalogbridge", "os", "sys", "shlex", "pathlib"}


def test_notebooks_found() -> None:
    assert {p.name for p in NOTEBOOKS} >= {"explore_pair.ipynb", "explore_insured_decision.ipynb"}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_is_stored_clean_and_holds_no_logic(path: Path) -> None:
    """Stored without outputs, and its code only reads, filters, calls and displays."""
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        where = f"{path.name}: cell {index} (id {cell.get('id')})"
        assert cell.outputs == [] and cell.execution_count is None, f"{where} has stored outputs"
        source = "\n".join(line for line in cell.source.splitlines()
                           if not line.lstrip().startswith("%"))  # IPython magics
        for node in ast.walk(ast.parse(source)):
            assert not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef
                                  | ast.Lambda), f"{where} defines logic of its own; put it in catalogbridge"
            modules = ([a.name for a in node.names] if isinstance(node, ast.Import)
                       else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            for module in modules:
                assert module.split(".")[0] in ALLOWED_IMPORTS, f"{where} imports {module}"


# --- executing -------------------------------------------------------------------------------


def kernel_env(case: Case, **params: str) -> dict[str, str]:
    """The kernel's environment: ours without a Spark gateway to attach to, the run to read,
    the kernel's Spark settings and the notebook's parameters (the defaults unless given)."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PYSPARK_GATEWAY", "CATALOGBRIDGE_INSURED", "CATALOGBRIDGE_TREATMENT"))}
    env.update(CATALOGBRIDGE_OUTPUT=str(case.out), CATALOGBRIDGE_SET=KERNEL_SPARK)
    env.update({f"CATALOGBRIDGE_{name.upper()}": value for name, value in params.items()})
    return env


def execute(path: Path, env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> NotebookNode:
    """The notebook executed (cwd notebooks/, as Jupyter starts it); its copy in tmp_path."""
    jupyter = tmp_path / "jupyter"
    write_kernel_spec(jupyter / "kernels" / KERNEL)  # argv: sys.executable -m ipykernel_launcher
    monkeypatch.setenv("JUPYTER_PATH", str(jupyter))  # searched first: finds the spec above
    nb = nbformat.read(path, as_version=4)
    started: dict[str, int] = {}
    client = NotebookClient(
        nb, kernel_name=KERNEL, timeout=CELL_TIMEOUT, startup_timeout=120,
        resources={"metadata": {"path": str(path.parent)}},
        on_cell_start=lambda cell, cell_index: started.update(index=cell_index))
    try:
        client.execute(env=env)
    except Exception as exc:  # a cell's error, a timeout, a kernel that died
        index = started.get("index")
        cell = nb.cells[index] if index is not None else None
        where = f"cell {index} (id {cell.get('id')})" if cell is not None else "before its first cell"
        source = f"\n{cell.source}\n" if cell is not None else ""
        pytest.fail(f"notebook {path.name} failed at {where}:{source}\n{ANSI.sub('', str(exc))}",
                    pytrace=False)
    finally:
        nbformat.write(nb, tmp_path / path.name)
    return nb


def tagged(nb: NotebookNode, tag: str) -> NotebookNode:
    cells = [c for c in nb.cells if tag in c.metadata.get("tags", [])]
    assert len(cells) == 1, f"expected one cell tagged {tag!r}, found {len(cells)}"
    return cells[0]


def shown_table(nb: NotebookNode, tag: str) -> pd.DataFrame:
    """The DataFrame a tagged cell displayed, as text (read from its HTML: pandas' own)."""
    shown = [o.data["text/html"] for o in tagged(nb, tag).outputs if "text/html" in o.get("data", {})]
    assert shown, f"the cell tagged {tag!r} displayed no table"
    rows = [[html.unescape(v).strip() for v in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]
            for row in re.findall(r"<tr[^>]*>(.*?)</tr>", shown[-1], re.S)]
    header, *body = rows
    return pd.DataFrame([row[1:] for row in body], columns=header[1:])  # without the index


def shows_image(nb: NotebookNode, tag: str) -> bool:
    return any("image/png" in o.get("data", {}) for o in tagged(nb, tag).outputs)


def printed(nb: NotebookNode) -> str:
    return "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code"
                   for o in c.outputs if o.output_type == "stream")


# --- what each notebook must show ---------------------------------------------------------------


def busiest_pair(discrepant: DataFrame) -> tuple[str, str]:
    top = (discrepant.groupBy("insured_admdvs", "treatment_admdvs").count()
           .orderBy(F.desc("count"), "insured_admdvs", "treatment_admdvs").first())
    assert top is not None
    return top["insured_admdvs"], top["treatment_admdvs"]


def busiest_region(stats: DataFrame, *other_than: str) -> str:
    top = (stats.where(F.col("insured_admdvs") != F.col("treatment_admdvs"))
           .where(~F.col("insured_admdvs").isin(*other_than))
           .groupBy("insured_admdvs").agg(F.sum("visits").alias("visits"))
           .orderBy(F.desc("visits"), "insured_admdvs").first())
    assert top is not None
    return str(top["insured_admdvs"])


def check_pair(nb: NotebookNode, spark: SparkSession, case: Case, insured: str, treatment: str) -> None:
    """The chosen pair's Table 4, every scheme from 1, and its Figure 1 as an image."""
    discrepant = case.table(spark, "published_discrepant_items")
    if discrepant.where((F.col("insured_admdvs") == insured)
                        & (F.col("treatment_admdvs") == treatment)).isEmpty():
        insured, treatment = busiest_pair(discrepant)
    expected = (case.table(spark, "published_scenario_results")
                .where((F.col("insured_admdvs") == insured) & (F.col("treatment_admdvs") == treatment))
                .orderBy("scheme").toPandas())
    assert len(expected) > 1 and expected["scheme"].iloc[0] == 1
    assert f"insured {insured}, treated in {treatment}" in printed(nb)
    table4 = shown_table(nb, "scheme-table")
    assert set(table4["insured_admdvs"]) == {insured} and set(table4["treatment_admdvs"]) == {treatment}
    assert table4["scheme"].tolist() == [str(s) for s in expected["scheme"]]
    assert table4["visits"].tolist() == [str(v) for v in expected["visits"]]
    assert shows_image(nb, "scheme-chart"), "Figure 1 was not displayed as an image"
    assert not shown_table(nb, "class-summary").empty
    assert set(shown_table(nb, "discrepant-items")["treatment_admdvs"]) == {treatment}


def check_insured(nb: NotebookNode, spark: SparkSession, case: Case, insured: str, _: str) -> None:
    """The region's schemes, frontier, tornado and fan chart as images, and its top items."""
    schemes = case.table(spark, "insured_scenarios")
    if schemes.where(F.col("insured_admdvs") == insured).isEmpty():
        insured = busiest_region(case.table(spark, "item_stats"))
    expected = schemes.where(F.col("insured_admdvs") == insured).orderBy("scheme").toPandas()
    assert len(expected) > 1 and expected["scheme"].iloc[0] == 1
    assert f"insured region {insured} " in printed(nb)
    shown = shown_table(nb, "insured-schemes")
    assert set(shown["insured_admdvs"]) == {insured}
    assert shown["scheme"].tolist() == [str(s) for s in expected["scheme"]]
    assert shown["visits"].tolist() == [str(v) for v in expected["visits"]]
    assert shown_table(nb, "scheme-comparison")["scheme"].tolist() == shown["scheme"].tolist()
    assert not shown_table(nb, "frontier-table").empty
    assert set(shown_table(nb, "sensitivity-table")["scheme"]) == {"1"}
    assert set(shown_table(nb, "impact-table")["scheme"]) == set(shown["scheme"])
    for chart in ("frontier-chart", "tornado-chart", "fan-chart"):
        assert shows_image(nb, chart), f"{chart} was not displayed as an image"
    top = (case.table(spark, "insured_decisions").where(F.col("insured_admdvs") == insured)
           .orderBy(F.desc("fee_total"), "national_code").limit(20).toPandas())
    assert shown_table(nb, "top-items")["national_code"].tolist() == top["national_code"].tolist()


Check = Callable[[NotebookNode, SparkSession, Case, str, str], None]
# Checks of the notebooks that have them; a notebook without an entry must still run.
CHECKS: dict[str, Check] = {"explore_pair": check_pair, "explore_insured_decision": check_insured}
DEFAULT_PAIR = ("330000", "310000")  # the notebooks' defaults


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path: Path, national_case: Case, spark: SparkSession, tmp_path: Path,
                       monkeypatch: pytest.MonkeyPatch) -> None:
    nb = execute(path, kernel_env(national_case), tmp_path, monkeypatch)
    if path.stem in CHECKS:
        CHECKS[path.stem](nb, spark, national_case, *DEFAULT_PAIR)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(CHECKS))
def test_notebook_falls_back_to_the_busiest(name: str, national_case: Case, spark: SparkSession,
                                            tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A region not in the run: the pair with most discrepant items, the region with most
    cross-region visits."""
    path = NOTEBOOK_DIR / f"{name}.ipynb"
    nb = execute(path, kernel_env(national_case, insured=ABSENT), tmp_path, monkeypatch)
    CHECKS[name](nb, spark, national_case, ABSENT, DEFAULT_PAIR[1])


@pytest.mark.slow
def test_insured_notebook_reads_its_region(national_case: Case, spark: SparkSession, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """CATALOGBRIDGE_INSURED chooses the region (the busiest region may be the default)."""
    region = busiest_region(national_case.table(spark, "item_stats"), DEFAULT_PAIR[0])
    path = NOTEBOOK_DIR / "explore_insured_decision.ipynb"
    nb = execute(path, kernel_env(national_case, insured=region), tmp_path, monkeypatch)
    check_insured(nb, spark, national_case, region, "")
