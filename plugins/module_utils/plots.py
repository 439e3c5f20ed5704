# Copyright: Titanium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Line charts as inline SVG, drawn by matplotlib: the one plotting helper of verify's
status page (plugins/modules/status_page.py) and of `make bench-services`.

The SVG is meant to sit inside an HTML page that opens offline: text stays text (no
embedded font, no font file to fetch), no metadata block naming URLs, and the same data
always gives the same bytes (fixed id salt, no date), so a page is rewritten only when
what it shows has changed.
"""

from __future__ import annotations

import io
import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

# Colour-blind-safe, and the order the series are given in keeps its colour on every
# chart of a page (a service is the same colour in each plot).
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
_RC = {
    "svg.fonttype": "none",
    "svg.hashsalt": "titanium",
    "font.family": "sans-serif",
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    # A service called "$x$" is a name, not TeX.
    "text.parse_math": False,
}


@dataclass
class Series:
    """One line: `points` are (x, y); x is a Unix time on time charts, else a number.
    A y of None is a gap (no data at that step), never drawn as zero."""

    label: str
    points: list[tuple[float, float | None]]
    colour_index: int = 0
    dashed: bool = False
    # The SVG group id of the line, so that a test or a reader can find it.
    gid: str = ""
    extra: dict = field(default_factory=dict)


def svg_id(*parts: str) -> str:
    """An XML id from free text (service and signal names)."""
    return "-".join(re.sub(r"[^A-Za-z0-9_.-]+", "_", part) for part in parts)


def line_chart(
    title: str,
    series: list[Series],
    *,
    y_label: str,
    time_axis: bool = True,
    x_label: str = "",
    y_min: float | None = 0.0,
    empty_note: str = "no data in this window",
    width: float = 7.2,
    height: float = 2.4,
    id_prefix: str = "",
) -> str:
    """An SVG document (without XML declaration) for inlining into HTML. Several charts
    on one page need distinct `id_prefix`es: matplotlib numbers its ids per figure, and
    a clip path found under another chart's id would cut the wrong lines."""
    # Imported here: a second of start-up that a page without charts need not pay.
    import matplotlib
    from matplotlib.backends.backend_svg import FigureCanvasSVG
    from matplotlib.dates import DateFormatter
    from matplotlib.figure import Figure

    with matplotlib.rc_context(_RC):
        figure = Figure(figsize=(width, height), layout="constrained")
        FigureCanvasSVG(figure)
        axes = figure.add_subplot()
        axes.set_title(title, loc="left", fontsize=10, fontweight="bold")
        axes.set_ylabel(y_label)
        if x_label:
            axes.set_xlabel(x_label)
        axes.grid(True, color="#dddddd", linewidth=0.6)
        drawn = 0
        for one in series:
            xs = [_x(point[0], time_axis) for point in one.points]
            ys = [float("nan") if point[1] is None else point[1] for point in one.points]
            if all(math.isnan(y) for y in ys):  # nothing to draw
                continue
            (line,) = axes.plot(
                xs,
                ys,
                label=one.label,
                color=PALETTE[one.colour_index % len(PALETTE)],
                linestyle="--" if one.dashed else "-",
                linewidth=1.4,
                marker="." if len(xs) < 3 else None,
            )
            if one.gid:
                line.set_gid(one.gid)
            drawn += 1
        if drawn:
            # Beside the axes, not over the lines it names.
            axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7, frameon=False)
            if y_min is not None:
                axes.set_ylim(bottom=y_min)
        else:
            axes.text(
                0.5, 0.5, empty_note, transform=axes.transAxes, ha="center", va="center",
                color="#777777",
            )  # fmt: skip
            axes.set_yticks([])
            axes.set_xticks([])
        if time_axis:
            axes.xaxis.set_major_formatter(DateFormatter("%H:%M:%S", tz=UTC))
        out = io.StringIO()
        # No metadata: matplotlib's names a URL and the date, and the date would make
        # every run a change.
        figure.savefig(out, format="svg", metadata={"Date": None, "Creator": None})
    text = out.getvalue()
    # The declaration and doctype belong to a file, not to an element inside HTML; the
    # metadata block says only that this is an image, in URLs.
    text = re.sub(r"\s*<metadata>.*?</metadata>", "", text[text.index("<svg") :], flags=re.S)
    if id_prefix:
        text = re.sub(r'\bid="([^"]+)"', rf'id="{id_prefix}-\1"', text)
        text = re.sub(r"url\(#([^)]+)\)", rf"url(#{id_prefix}-\1)", text)
        text = re.sub(r'href="#([^"]+)"', rf'href="#{id_prefix}-\1"', text)
    return text


def _x(x: float, time_axis: bool):
    return datetime.fromtimestamp(x, tz=UTC) if time_axis else x
