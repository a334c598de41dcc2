"""Charts draw every character they use: a CJK font that has the glyphs, or English labels."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from catalogbridge.reporting.charts import (
    ChartCount,
    chart_texts,
    find_cjk_font,
    missing_glyphs,
    render_scheme_chart,
    scheme_chart,
)

SCHEMES = pd.DataFrame({"scheme": [1, 2], "threshold": [0, 100], "visits": [1000, 400],
                        "added_spend": [1_234_567.0, 234_567.0]})


def test_cjk_font_covers_every_label() -> None:
    font = find_cjk_font()
    if font is None:
        pytest.skip("no CJK font installed here; `make setup` installs fonts-noto-cjk")
    texts = "".join(chart_texts(SCHEMES, "330000", "310000"))
    assert missing_glyphs(texts, font) == set()


def test_missing_glyphs_detects_a_font_without_chinese() -> None:
    import matplotlib

    dejavu = str(Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf")
    assert missing_glyphs("方案1", dejavu) == {"方", "案"}


def test_chart_without_cjk_font_uses_english_labels(tmp_path: Path) -> None:
    fig = scheme_chart(SCHEMES, "330000", "310000", font_path=None)
    texts = [t.get_text() for t in fig.findobj(lambda o: hasattr(o, "get_text"))]
    assert all(text.isascii() for text in texts), texts
    fig.savefig(tmp_path / "c.png")
    assert (tmp_path / "c.png").stat().st_size > 10_000


def test_a_chart_is_redrawn_only_when_what_it_shows_changes(tmp_path: Path) -> None:
    path = tmp_path / "schemes_330000_310000.png"
    job = (SCHEMES, "330000", "310000", None, str(path))
    assert render_scheme_chart(job) == ChartCount(drawn=1, unchanged=0)
    drawn = path.stat().st_mtime_ns
    assert render_scheme_chart(job) == ChartCount(drawn=0, unchanged=1)
    assert path.stat().st_mtime_ns == drawn
    one_more_visit = SCHEMES.assign(visits=[1000, 401])
    assert render_scheme_chart((one_more_visit, *job[1:])) == ChartCount(drawn=1, unchanged=0)
    other_title = (one_more_visit, "330000", "320000", None, str(path))
    assert render_scheme_chart(other_title) == ChartCount(drawn=1, unchanged=0)
    path.write_bytes(b"not a png")
    assert render_scheme_chart(other_title) == ChartCount(drawn=1, unchanged=0)


def test_a_hidden_value_shows_the_mark_and_the_footnote(tmp_path: Path) -> None:
    published = pd.DataFrame({"scheme": [1, 2, 3], "threshold": [0, 100, 200],
                              "visits": ["1000", "*", "0"], "added_spend": ["1234567.00", "*", "0.00"]})
    font = find_cjk_font()
    fig = scheme_chart(published, "330000", "310000", font_path=font)
    texts = [t.get_text() for t in fig.findobj(lambda o: hasattr(o, "get_text"))]
    assert "*" in texts, "the hidden bar is marked"
    assert any(t.startswith("* ") for t in texts), "and the footnote says why"
    heights = [p.get_height() for p in fig.axes[0].patches]
    assert heights == [1000.0, 0.0, 0.0]
    assert "123.46" in texts and not any(t == "nan" for t in texts)
    fig.savefig(tmp_path / "hidden.png", dpi=120)
