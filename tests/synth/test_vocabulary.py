"""The vocabulary data files: coverage, the `cross` notation and clear errors for broken files."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from synth import vocab as V
from synth.groups import VOCABULARY_DIR, Group, VocabularyError, load_file, load_vocabulary

ROOT = Path(__file__).resolve().parents[2]


def test_every_class_in_exactly_one_file() -> None:
    files = load_vocabulary()
    assert {f.path.stem for f in files} == {
        "general", "imaging", "lab", "clinical", "surgery", "rehab", "tcm"}
    classes = [c for f in files for c in f.classes]
    assert sorted(classes) == sorted(V.CLASSES)
    for f in files:
        assert all(g.prefix[:2] in f.classes for g in f.groups), f.path
    assert len(V.ALL_GROUPS) == sum(len(f.groups) for f in files)
    assert all(g.names and all(n == n.strip() and n for n in g.names) for g in V.ALL_GROUPS)


def test_found_relative_to_the_package(tmp_path: Path) -> None:
    """The data files are found from any working directory."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    res = subprocess.run([sys.executable, "-c", "from synth import vocab; print(len(vocab.ALL_GROUPS))"],
                         cwd=tmp_path, env=env, capture_output=True, text=True, check=True)
    assert int(res.stdout) == len(V.ALL_GROUPS)
    assert Path(V.__file__).parent / "vocabulary" == VOCABULARY_DIR


def _write(tmp_path: Path, body: str, name: str = "lab.yaml") -> Path:
    path = tmp_path / name
    path.write_text(body, encoding="utf-8")
    return path


GOOD = """\
classes: ["25"]
groups:
- prefix: "250101"
  unit: 项
  price: [3, 30]
  pop: 2.5
  quals: [仪器法, 手工法]
  names:
  - 血细胞分析
  - 尿液分析|干化学法,仪器法
  - cross: [[{cross: [[血清, 尿], [钾, 钠]]}, 血清铁], [测定]]
  - cross: [["", 经腹腔镜], [胆囊切除术, 阑尾切除术]]
"""


def test_notation(tmp_path: Path) -> None:
    f = load_file(_write(tmp_path, GOOD))
    assert f.classes == ("25",)
    assert f.groups == (Group(
        "250101",
        ("血细胞分析", "尿液分析|干化学法,仪器法", "血清钾测定", "血清钠测定", "尿钾测定", "尿钠测定",
         "血清铁测定", "胆囊切除术", "阑尾切除术", "经腹腔镜胆囊切除术", "经腹腔镜阑尾切除术"),
        quals=("仪器法", "手工法"), unit="项", price=(3, 30), pop=2.5),)
    assert f.groups[0].op == f.groups[0].ip == 1.0 and f.groups[0].surch == ()
    assert V.parse_name(f.groups[0].names[1]) == ("尿液分析", ("干化学法", "仪器法"))


@pytest.mark.parametrize(("old", "new", "entry", "field"), [
    ("price: [3, 30]", "price: [30, 3]", "groups[0] (prefix 250101)", "price"),
    ("price: [3, 30]", "price: 3", "groups[0] (prefix 250101)", "price"),
    ("pop: 2.5", "pop: many", "groups[0] (prefix 250101)", "pop"),
    ("quals: [仪器法, 手工法]", "qual: [仪器法]", "groups[0] (prefix 250101)", "qual"),
    ("quals: [仪器法, 手工法]", "quals: 仪器法", "groups[0] (prefix 250101)", "quals"),
    ('- prefix: "250101"', "- prefix: 250101", "groups[0]", "prefix"),
    ('- prefix: "250101"', '- prefix: "330101"', "groups[0]", "prefix"),
    ("  - 血细胞分析\n", "  - ' 血细胞分析'\n", "groups[0] (prefix 250101)", "names[0]"),
    ("  - 血细胞分析\n", "  - 42\n", "groups[0] (prefix 250101)", "names[0]"),
    ("  - 血细胞分析\n", "  - 尿液分析|\n", "groups[0] (prefix 250101)", "names[0]"),
    ("[[{cross: [[血清, 尿], [钾, 钠]]}, 血清铁], [测定]]", "[血清铁, 测定]",
     "groups[0] (prefix 250101)", "names[2].cross[0]"),
    ("  - cross: [[\"\", 经腹腔镜]", "  - crosss: [[\"\", 经腹腔镜]", "groups[0] (prefix 250101)",
     "names[3]"),
    ("  - cross: [[\"\", 经腹腔镜], [胆囊切除术, 阑尾切除术]]", "  - cross: [[\"\"], [\"\"]]",
     "groups[0] (prefix 250101)", "names[3].cross"),
    ('classes: ["25"]', "classes: [25]", "", "classes[0]"),
])
def test_malformed_entry_is_named(tmp_path: Path, old: str, new: str, entry: str, field: str) -> None:
    assert old in GOOD
    path = _write(tmp_path, GOOD.replace(old, new))
    with pytest.raises(VocabularyError) as err:
        load_file(path)
    msg = str(err.value)
    assert msg.startswith(f"{path}: {entry}" if entry else str(path)), msg
    assert f"field '{field}'" in msg, msg


def test_invalid_yaml_and_layout(tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD.replace("  names:", "  names: [", 1))
    with pytest.raises(VocabularyError, match=r"lab\.yaml: not valid YAML: .* line 9, column \d+$"):
        load_file(path)
    path = _write(tmp_path, GOOD.replace("groups:", "group:"))
    with pytest.raises(VocabularyError, match=r"lab\.yaml: field '-': expected a mapping with exactly"):
        load_file(path)
    path = _write(tmp_path, GOOD.replace("  pop: 2.5\n", "  pop: 2.5\n  x: 1\n"))
    with pytest.raises(VocabularyError, match="field 'x': unknown field"):
        load_file(path)


def test_class_in_two_files(tmp_path: Path) -> None:
    _write(tmp_path, GOOD, "a.yaml")
    _write(tmp_path, GOOD, "b.yaml")
    with pytest.raises(VocabularyError, match=r"b\.yaml: field 'classes': class 25 is also in .*a\.yaml"):
        load_vocabulary(tmp_path)
    with pytest.raises(VocabularyError, match="no vocabulary files"):
        load_vocabulary(tmp_path / "missing")
