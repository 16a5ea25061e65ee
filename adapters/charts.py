"""Pictures for people who would rather look than read, drawn with matplotlib into a PNG.

A `Chart` says what to draw (the reports build one: `projections.reports.chart`); this
module only draws it. matplotlib (a third of a second to import) is imported by `draw`
rather than with this module: `seatledger --help` and the commands that draw nothing do not
need it."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from pathlib import Path

CHART_SIZE_IN = (10, 5)
CHART_DPI = 100


class Shape(StrEnum):
    LINES = "lines"  # one line per series over the x labels
    BARS = "bars"  # one group of bars per x label, one bar per series


@dataclass(frozen=True)
class Chart:
    shape: Shape
    title: str
    y_label: str
    x_labels: tuple[str, ...]
    series: dict[str, tuple[Decimal, ...]]  # name -> one value per x label

    def __post_init__(self) -> None:
        assert all(len(values) == len(self.x_labels) for values in self.series.values())


def draw(chart: Chart, target: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")  # files only, never a screen (a no-op once it is the backend)
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=CHART_SIZE_IN, dpi=CHART_DPI)
    try:
        if chart.shape is Shape.LINES:
            for name, values in chart.series.items():
                # plotting only: the values are never summed as floats
                axes.plot(chart.x_labels, [float(v) for v in values], marker="o", label=name)
            axes.tick_params(axis="x", labelrotation=60)
        else:
            width = 0.8 / max(1, len(chart.series))
            for n, (name, values) in enumerate(chart.series.items()):
                positions = [i + n * width for i in range(len(chart.x_labels))]
                bars = axes.bar(positions, [float(v) for v in values], width, label=name)
                axes.bar_label(bars, labels=[f"{v:,}" if v else "" for v in values], fontsize=8)
            ticks = [i + 0.4 - width / 2 for i in range(len(chart.x_labels))]
            axes.set_xticks(ticks, chart.x_labels)
        axes.set_title(chart.title)
        axes.set_ylabel(chart.y_label)
        if chart.series:
            axes.legend()
        figure.tight_layout()
        target.parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(target)
    finally:
        plt.close(figure)
