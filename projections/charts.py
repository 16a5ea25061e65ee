"""Pictures of the reports, for people who would rather look than read: MRR over time and
the receivables aging buckets, drawn with matplotlib into a PNG file.

matplotlib (a third of a second to import) is imported by `draw` rather than with this
module: `seatledger --help` and the commands that draw nothing do not need it."""

from __future__ import annotations

from pathlib import Path

from domain.errors import invalid
from projections.reports import AGING_BUCKETS, Facts, Month, Report, mrr_series

CHART_SIZE_IN = (10, 5)
CHART_DPI = 100


def draw(facts: Facts, month: Month, report: Report, target: Path) -> None:
    """`mrr`: MRR at each month end up to `month`, per currency. `aging`: what is owed,
    per bucket and currency, at the end of `month`."""
    import matplotlib

    matplotlib.use("Agg")  # files only, never a screen (a no-op once it is the backend)
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=CHART_SIZE_IN, dpi=CHART_DPI)
    try:
        if report.name == "mrr":
            for currency, points in mrr_series(facts, month).items():
                axes.plot(
                    [label for label, _ in points],
                    [float(value) for _, value in points],  # plotting only: never summed
                    marker="o",
                    label=currency,
                )
            axes.set_title(f"MRR at each month end, up to {month}")
            axes.set_ylabel("MRR")
            axes.tick_params(axis="x", labelrotation=60)
        elif report.name == "aging":
            labels = [label for _, _, label in AGING_BUCKETS]
            width = 0.8 / max(1, len(report.rows))
            for n, row in enumerate(report.rows):
                positions = [i + n * width for i in range(len(labels))]
                axes.bar(positions, [float(v) for v in row[1:-1]], width, label=row[0])
            axes.set_xticks([i + 0.4 - width / 2 for i in range(len(labels))], labels)
            axes.set_title(f"Receivables aging at the end of {month} (days since issue)")
            axes.set_ylabel("owed")
        else:
            raise invalid("format", "png draws the mrr and aging reports")
        axes.legend()
        figure.tight_layout()
        target.parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(target)
    finally:
        plt.close(figure)
