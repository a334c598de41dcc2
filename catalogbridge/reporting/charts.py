"""The paper's Figure 1 per pair: schemes on x, visits as bars, added spend as a line.

Chinese labels need a CJK font. We look for one that really has the glyphs (checked through
its character map, not its name); without one the chart falls back to English labels, so a
chart never shows missing-glyph boxes.
"""

from __future__ import annotations

import functools
import hashlib
import io
import itertools
import logging
import multiprocessing
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import NamedTuple, TypeVar

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd
from fontTools.ttLib import TTCollection, TTFont
from matplotlib import font_manager
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from PIL import Image
from pyspark.sql import DataFrame

from catalogbridge import labels
from catalogbridge.labels import region_label
from catalogbridge.names import INSURED, TREATMENT

log = logging.getLogger(__name__)

_CJK_HINTS = ("Noto Sans CJK", "Noto Serif CJK", "Source Han", "WenQuanYi", "SimHei",
              "Microsoft YaHei", "PingFang", "Heiti", "Droid Sans Fallback", "AR PL")
# Characters of every chart (Figure 1 and the decision charts): the font must draw them all.
PROBE_TEXT = ("方案人次万元预计新增医保支出累计就诊参保患者在就医不同纳入下与"
              "龙卷风图敏感性基金支付比例诱导需求价格变化年增长率效率平台期前沿最优预算约束阈值"
              "逐年影响区间第≥−…为保护隐私已隐藏低于发布阈值或可据其推算出此类:,")


def font_characters(path: str) -> set[int]:
    """Code points a font file (or the first font of a collection) can draw."""
    collection = path.lower().endswith((".ttc", ".otc"))
    font = TTCollection(path).fonts[0] if collection else TTFont(path, lazy=True)
    cmap = font.getBestCmap() or {}
    return set(cmap)


def missing_glyphs(text: str, font_path: str) -> set[str]:
    have = font_characters(font_path)
    return {ch for ch in text if not ch.isspace() and ord(ch) not in have}


@functools.cache
def find_cjk_font() -> str | None:
    """Path of an installed font that draws every character our charts use, or None."""
    candidates = [f for f in font_manager.fontManager.ttflist
                  if any(h.lower() in f.name.lower() for h in _CJK_HINTS)]
    regular = ("regular", "normal", 400)
    for entry in sorted(candidates, key=lambda f: ("Sans" not in f.name,
                                                  f.weight not in regular, f.name)):
        try:
            if not missing_glyphs(PROBE_TEXT, entry.fname):
                return str(entry.fname)
        except Exception:  # an unreadable font file is simply not a candidate
            continue
    log.warning("no CJK font found (install fonts-noto-cjk); charts use English labels")
    return None


def _labels(chinese: bool, insured: str, treatment: str) -> dict[str, str]:
    if chinese:
        return {
            "title": f"{region_label(insured)}参保患者在{region_label(treatment)}就医:"
                     "不同纳入方案下累计就诊人次与预计新增医保支出",
            "scheme": "方案{n}\n(≥{t}人次)", "visits": "累计就诊人次", "spend": "预计新增医保支出(万元)",
            "hidden": "{mark} 为保护隐私已隐藏:就诊人次低于发布阈值,或可据其推算出此类人次",
        }
    return {
        "title": f"Insured in {insured}, treated in {treatment}: visits and added fund spend",
        "scheme": "Scheme {n}\n(>={t} visits)", "visits": "Visits",
        "spend": "Added spend (10k yuan)",
        "hidden": "{mark} hidden for privacy: fewer visits than the publication threshold, "
                  "or a value from which such a count could be worked out",
    }


def scheme_chart(schemes: pd.DataFrame, insured: str, treatment: str,
                 font_path: str | None) -> Figure:
    """One pair's published scheme table (rows ordered by scheme) as a bar + line chart; a
    hidden value (the published mark instead of a number) shows the mark, not a bar."""
    text = _labels(font_path is not None, insured, treatment)
    props = font_manager.FontProperties(fname=font_path) if font_path else None
    fig, bars_ax = plt.subplots(figsize=(9, 5))
    x = list(range(len(schemes)))
    ticks = [text["scheme"].format(n=int(n), t=int(t))
             for n, t in zip(schemes["scheme"], schemes["threshold"], strict=True)]
    visits = pd.to_numeric(schemes["visits"], errors="coerce")
    spend = pd.to_numeric(schemes["added_spend"], errors="coerce") / 10_000
    bars_ax.bar(x, visits.fillna(0), color="#4C72B0", label=text["visits"])
    bars_ax.set_ylabel(text["visits"], fontproperties=props)
    bars_ax.yaxis.set_major_locator(MaxNLocator(integer=True))  # visits are whole numbers
    bars_ax.set_xticks(x, ticks, fontproperties=props)
    line_ax = bars_ax.twinx()
    line_ax.plot(x, spend, color="#DD8452", marker="o", label=text["spend"])
    line_ax.set_ylabel(text["spend"], fontproperties=props)
    line_ax.set_ylim(bottom=0)
    for xi, value in zip(x, spend, strict=True):
        if pd.notna(value):
            line_ax.annotate(f"{value:,.2f}", (xi, value), textcoords="offset points",
                             xytext=(0, 6), ha="center", fontsize=8)
    hidden = [(xi, str(shown)) for xi, shown, value in zip(x, schemes["visits"], visits,
                                                           strict=True) if pd.isna(value)]
    for xi, mark in hidden:
        bars_ax.annotate(mark, (xi, 0), textcoords="offset points", xytext=(0, 4),
                         ha="center", fontsize=12, color="#4C72B0")
    bars_ax.set_ylim(bottom=0)
    if visits.fillna(0).eq(0).all() and spend.fillna(0).eq(0).all():
        for ax in (bars_ax, line_ax):  # nothing to scale: no axis of made-up numbers
            ax.set_ylim(0, 1)
            ax.set_yticks([])
    if hidden:
        fig.text(0.08, 0.015, text["hidden"].format(mark=hidden[0][1]), fontsize=8,
                 color="#555555", fontproperties=props)
    handles = bars_ax.get_legend_handles_labels()[0] + line_ax.get_legend_handles_labels()[0]
    bars_ax.legend(handles, [text["visits"], text["spend"]], loc="upper center",
                   bbox_to_anchor=(0.5, -0.14), ncol=2, frameon=False, prop=props)
    bars_ax.set_title(text["title"], fontproperties=props, fontsize=11)
    # Fixed margins instead of tight_layout/bbox_inches="tight": each of those redraws the
    # whole figure, and reports draw hundreds of these.
    fig.subplots_adjust(left=0.08, right=0.91, top=0.91, bottom=0.2)
    return fig


def chart_texts(schemes: pd.DataFrame, insured: str, treatment: str) -> Iterable[str]:
    """Every string a Chinese chart draws, for glyph checks."""
    text = _labels(True, insured, treatment)
    yield from (text["title"], text["visits"], text["spend"], text["hidden"])
    for n, t in zip(schemes["scheme"], schemes["threshold"], strict=True):
        yield text["scheme"].format(n=int(n), t=int(t))


ChartJob = tuple[pd.DataFrame, str, str, str | None, str]  # rows, insured, treatment, font, path


class ChartCount(NamedTuple):
    drawn: int
    unchanged: int  # already in place, drawn from the same rows by the same code

    @property
    def total(self) -> int:
        return self.drawn + self.unchanged


SOURCE_KEY = "catalogbridge-source"  # PNG text chunk: what the chart was drawn from
CHART_DPI = 120  # every chart file and every chart drawn for a page


@functools.cache
def _drawing_code() -> str:
    """A digest of the code that draws charts (this package, the labels, matplotlib)."""
    digest = hashlib.sha256(matplotlib.__version__.encode())
    for file in (*sorted(Path(__file__).parent.glob("*.py")), Path(labels.__file__)):
        digest.update(file.read_bytes())
    return digest.hexdigest()


def chart_source(frames: Iterable[pd.DataFrame], *details: object) -> str:
    """A digest of what a chart is drawn from: its rows, the rest of its inputs (regions,
    font) and the drawing code. A chart whose file carries the same digest is not redrawn:
    a monthly run redraws only the pairs and regions whose numbers moved."""
    digest = hashlib.sha256(_drawing_code().encode())
    for frame in frames:
        digest.update(repr(list(frame.columns)).encode())
        digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    digest.update(repr(details).encode())
    return digest.hexdigest()[:32]


def is_current(path: str | Path, source: str) -> bool:
    """Whether the chart at `path` was drawn from `source` (`chart_source`)."""
    try:
        with Image.open(path) as image:
            return bool(image.text.get(SOURCE_KEY) == source)  # type: ignore[attr-defined]
    except (OSError, ValueError):
        return False


def save_chart(fig: Figure, path: str | Path, source: str) -> None:
    fig.savefig(path, dpi=CHART_DPI, metadata={SOURCE_KEY: source})
    plt.close(fig)


def png_bytes(fig: Figure, dpi: int = CHART_DPI) -> bytes:
    """The figure as PNG bytes, for a page that embeds it; the figure is closed."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    plt.close(fig)
    return buffer.getvalue()


def render_scheme_chart(job: ChartJob) -> ChartCount:
    """Draw one pair's chart and write it as PNG unless it is current (a top-level
    function, so workers can run it)."""
    rows, insured, treatment, font_path, path = job
    source = chart_source([rows], insured, treatment, font_path)
    if is_current(path, source):
        return ChartCount(0, 1)
    save_chart(scheme_chart(rows, insured, treatment, font_path), path, source)
    return ChartCount(1, 0)


CHART_BATCH = 512  # charts drawn per batch: the driver holds one batch of scheme rows at a time


def scheme_chart_jobs(schemes: DataFrame, charts_dir: Path, font: str | None) -> Iterator[ChartJob]:
    """One job per pair of `schemes` (rows sorted by pair and scheme), streamed to the driver.

    `toLocalIterator` fetches one partition at a time, so the driver never holds the whole
    pairs x thresholds table, however many pairs there are (city level: ~10^5).
    """
    rows = schemes.orderBy(INSURED, TREATMENT, "scheme").toLocalIterator()
    for (insured, treatment), group in itertools.groupby(rows, key=lambda r: (r[INSURED], r[TREATMENT])):
        frame = pd.DataFrame([r.asDict() for r in group])
        yield (frame, str(insured), str(treatment), font,
               str(charts_dir / f"schemes_{insured}_{treatment}.png"))


Job = TypeVar("Job")


def render_in_batches(jobs: Iterable[Job], render: Callable[[Job], ChartCount],
                      workers: int) -> ChartCount:
    """Render jobs in batches of `CHART_BATCH` (the driver holds one batch of rows);
    matplotlib is single-threaded, so batches go to processes, except a batch too small to
    repay starting them. `render` counts the files it drew and those already current."""
    pending, drawn, unchanged = iter(jobs), 0, 0
    context = multiprocessing.get_context("spawn")  # never fork a process that holds a JVM link
    with ProcessPoolExecutor(max_workers=max(workers, 1), mp_context=context) as pool:
        while batch := list(itertools.islice(pending, CHART_BATCH)):
            inline = workers <= 1 or len(batch) < 4 * workers
            for count in map(render, batch) if inline else pool.map(render, batch, chunksize=8):
                drawn, unchanged = drawn + count.drawn, unchanged + count.unchanged
    return ChartCount(drawn, unchanged)


def write_scheme_charts(schemes: DataFrame, charts_dir: Path, workers: int) -> ChartCount:
    """Figure 1 for every pair in `schemes`."""
    charts_dir.mkdir(parents=True, exist_ok=True)
    jobs = scheme_chart_jobs(schemes, charts_dir, find_cjk_font())
    return render_in_batches(jobs, render_scheme_chart, workers)
