"""The date facet as bar charts: one bar per year (every year in the span, empty ones too), then months."""

from __future__ import annotations

from dataclasses import dataclass

from searchapp.facets import MONTH_NAMES

# SVG user units; the chart scales to its column's width.
WIDTH, BAR_HEIGHT, LABEL_HEIGHT = 300, 72, 16
GAP = 2
# A few years still look like a timeline, not two slabs: bars are at most this wide, left-aligned.
MAX_STEP = 42
# Up to this many bars each gets its label; more get the first and the last.
LABEL_EVERY_BAR = 7
# A year with a few hits beside one with hundreds still gets a bar you can click.
MIN_BAR = 3


@dataclass(frozen=True)
class Bar:
    """One bar: its geometry, what it counts, and where a click goes (None: nothing to find there)."""

    x: float
    y: float
    width: float
    height: float
    value: int
    label: str
    count: int
    selected: bool
    href: str | None


@dataclass(frozen=True)
class Chart:
    """A bar chart and the labels under it."""

    bars: list[Bar]
    ticks: list[tuple[float, str, str]]  # (x, text-anchor, text)
    width: int = WIDTH
    height: int = BAR_HEIGHT + LABEL_HEIGHT
    baseline: int = BAR_HEIGHT


def year_chart(year_facet: list[dict], request, link) -> Chart | None:
    """Return bars for every year from the first to the last with hits; None when nothing is dated."""
    counts = {v["value"]: v["count"] for v in year_facet}
    if not any(counts.values()):
        return None
    years = list(range(min(counts), max(counts) + 1))
    selected = request.year

    def href(year):
        if year == selected:
            return link(year=None, month=None, page=1)
        return link(year=year, month=None, undated=False, page=1)

    bars = _bars([(y, str(y), counts.get(y, 0), y == selected) for y in years], href)
    if len(bars) <= LABEL_EVERY_BAR:
        ticks = [(bar.x + bar.width / 2, "middle", str(bar.value)) for bar in bars]
    else:
        ticks = [(0, "start", str(years[0])), (bars[-1].x + bars[-1].width, "end", str(years[-1]))]
    return Chart(bars, ticks)


def month_chart(month_facet: list[dict], request, link) -> Chart | None:
    """Return twelve bars for the months of the selected year, or None when no year is selected."""
    counts = {v["value"]: v["count"] for v in month_facet}
    if request.year is None or not any(counts.values()):
        return None

    def href(month):
        if month == request.month:
            return link(month=None, page=1)
        return link(month=month, page=1)

    rows = [(m, f"{MONTH_NAMES[m - 1]} {request.year}", counts.get(m, 0), m == request.month) for m in range(1, 13)]
    bars = _bars(rows, href)
    ticks = [(bar.x + bar.width / 2, "middle", MONTH_NAMES[bar.value - 1][0]) for bar in bars]
    return Chart(bars, ticks)


def _bars(rows: list[tuple[int, str, int, bool]], href) -> list[Bar]:
    """Lay out (value, label, count, selected) rows as bars scaled to the largest count."""
    step = min(WIDTH / len(rows), MAX_STEP)
    top = max((count for _, _, count, _ in rows), default=0) or 1
    bars = []
    for i, (value, label, count, selected) in enumerate(rows):
        height = max(MIN_BAR, round(count / top * BAR_HEIGHT, 1)) if count else 1
        bars.append(
            Bar(
                x=round(i * step + GAP / 2, 2),
                y=BAR_HEIGHT - height,
                width=round(step - GAP, 2),
                height=height,
                value=value,
                label=label,
                count=count,
                selected=selected,
                href=href(value) if count or selected else None,
            )
        )
    return bars
