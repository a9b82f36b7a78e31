"""The topic map and the topic timeline as PNG or SVG bytes (matplotlib, no display).

Figures are made with `matplotlib.figure.Figure`, never pyplot: no global figure registry, no
GUI backend (saving picks Agg for PNG and the SVG writer for SVG), safe in server threads.

Labels are Chinese, so a CJK font is required: "Noto Sans CJK SC" when installed, else any
font whose name says CJK/SC/Hei/Song. Without one the pictures are refused (`NoCJKFont`)
rather than drawn with empty boxes.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

import matplotlib
import numpy as np
from matplotlib import font_manager
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from compilations.topics.errors import NoCJKFont
from compilations.topics.store import TopicRecord

ImageFormat = Literal["png", "svg"]
PREFERRED_FONTS = ("Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "WenQuanYi Zen Hei")
FALLBACK_HINTS = ("CJK SC", "CJK", "Hei", "Song", "Kai")
MAX_LABELED = 40  # label text drawn at most this many topic centroids (the largest)


def cjk_font_name(installed: Iterable[str] | None = None) -> str:
    """Family name of a font with Chinese glyphs among ``installed`` (default: the fonts
    matplotlib knows)."""
    names = set(installed) if installed is not None else _installed_fonts()
    for name in PREFERRED_FONTS:
        if name in names:
            return name
    for hint in FALLBACK_HINTS:
        for name in sorted(names):
            if hint in name:
                return name
    raise NoCJKFont(
        "no CJK font found for the topic pictures: install Noto Sans CJK "
        "(Debian: apt-get install fonts-noto-cjk) and clear matplotlib's font cache"
    )


def _installed_fonts() -> set[str]:
    return {f.name for f in font_manager.fontManager.ttflist}


def _style() -> Any:  # matplotlib types rc keys as a long Literal
    return {
        "font.family": [cjk_font_name(), "DejaVu Sans"],
        "axes.unicode_minus": False,  # the CJK font's hyphen, not a glyph it may lack
        "svg.fonttype": "none",  # SVG text stays text (searchable, small)
    }


def _render(fig: Figure, fmt: ImageFormat) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format=fmt, dpi=120, bbox_inches="tight")
    return buffer.getvalue()


def _colors(n: int) -> list[Any]:
    # tab20's strong colours (even indices) first, its pale ones only beyond ten topics.
    cmap = matplotlib.colormaps["tab20"]
    order = [*range(0, 20, 2), *range(1, 20, 2)]
    return [cmap(order[i % 20]) for i in range(n)]


def topic_map(
    model_map: Mapping[str, Any],
    topic_records: Sequence[TopicRecord],
    fmt: ImageFormat = "png",
    title: str = "主题分布图",
) -> bytes:
    """Documents as points in a 2-D projection, coloured by topic, labels at the centroids."""
    with matplotlib.rc_context(_style()):
        fig = Figure(figsize=(11, 8))
        ax = fig.add_subplot()
        xy = np.asarray(model_map["xy"])
        clusters = np.asarray(model_map["clusters"])
        centroids = np.asarray(model_map["centroids"])
        by_cluster = {t.cluster: t for t in topic_records}
        colors = _colors(len(centroids))
        for c in range(len(centroids)):
            points = xy[clusters == c]
            if len(points):
                ax.scatter(points[:, 0], points[:, 1], s=6, alpha=0.45, color=colors[c], lw=0)
        largest = sorted(by_cluster.values(), key=lambda t: -t.size)[:MAX_LABELED]
        for t in largest:
            if t.cluster >= len(centroids):
                continue
            members = xy[clusters == t.cluster]
            # The label sits amid its documents; a unit-length centroid projects further out
            # than any of them.
            x, y = members.mean(axis=0) if len(members) else centroids[t.cluster]
            ax.text(
                x,
                y,
                f"{t.topic_id} {t.label}",
                fontsize=8,
                ha="center",
                va="center",
                bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": colors[t.cluster]},
            )
        ax.set_title(f"{title}（{len(xy)} 篇文件，{len(centroids)} 个主题）")
        ax.set_xticks([])
        ax.set_yticks([])
        return _render(fig, fmt)


def topic_timeline(
    years: Mapping[int, Mapping[int, int]],
    topic_records: Sequence[TopicRecord],
    fmt: ImageFormat = "png",
    top: int = 8,
    title: str = "主题时间线",
) -> bytes:
    """Documents per year of the ``top`` largest topics that have dated documents."""
    with matplotlib.rc_context(_style()):
        fig = Figure(figsize=(11, 6))
        ax = fig.add_subplot()
        dated = [t for t in topic_records if years.get(t.topic_id)]
        chosen = sorted(dated, key=lambda t: -sum(years[t.topic_id].values()))[:top]
        seen = {y for t in chosen for y in years[t.topic_id]}
        # Every year of the span, so a year without documents shows as 0, not as a gap.
        all_years = list(range(min(seen), max(seen) + 1)) if seen else []
        colors = _colors(len(chosen))
        for color, t in zip(colors, chosen, strict=True):
            counts = [years[t.topic_id].get(y, 0) for y in all_years]
            ax.plot(
                all_years,
                counts,
                marker="o",
                ms=3,
                lw=1.5,
                color=color,
                label=f"{t.topic_id} {t.label}",
            )
        if not chosen:
            ax.text(0.5, 0.5, "没有带日期的文件", ha="center", va="center", transform=ax.transAxes)
        else:
            ax.legend(fontsize=8, loc="upper left", frameon=False)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("年份")
        ax.set_ylabel("文件数")
        ax.set_title(title)
        ax.grid(alpha=0.3)
        return _render(fig, fmt)
