"""The digest's chart: items per day by sentiment over the last two weeks, as a PNG."""

from __future__ import annotations

import io

from matplotlib.figure import Figure  # a bare Figure draws with Agg: no display needed

from bot.digests.digest import Digest

COLOURS = {"negative": "#d62828", "neutral": "#adb5bd", "positive": "#2a9d8f"}


def sentiment_chart(digest: Digest) -> bytes:
    """Stacked bars of the digest's daily counts, newest on the right."""
    figure = Figure(figsize=(7, 2.6), dpi=110)
    axes = figure.subplots()
    labels = [day.day.strftime("%d %b") for day in digest.daily]
    bottom = [0] * len(labels)
    for sentiment, colour in COLOURS.items():
        heights = [getattr(day, sentiment) for day in digest.daily]
        axes.bar(labels, heights, bottom=bottom, color=colour, label=sentiment, width=0.8)
        bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
    axes.set_title(f"{digest.department}: customer feedback per day", fontsize=10)
    axes.tick_params(axis="x", labelrotation=45, labelsize=7)
    axes.tick_params(axis="y", labelsize=7)
    axes.spines[["top", "right"]].set_visible(False)
    axes.legend(fontsize=7, frameon=False, ncols=3, loc="upper left")
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
