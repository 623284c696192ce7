"""Redraw docs/teams-digest-card.png: the sample digest card as the official renderer draws it.

.venv/bin/python -m tests.render.screenshot
"""

from __future__ import annotations

import base64
import json
import tempfile
from pathlib import Path

from adapters.teams.cards import digest_card
from bot.digests.chart import sentiment_chart
from tests.test_teams_cards import CHART_URL, TOPIC_NAMES, _digest, render_cards

OUT = Path(__file__).parents[2] / "docs" / "teams-digest-card.png"


def main() -> None:
    digest = _digest()
    chart = "data:image/png;base64," + base64.b64encode(sentiment_chart(digest)).decode()
    card = json.loads(
        json.dumps(digest_card(digest, TOPIC_NAMES, CHART_URL)).replace(CHART_URL, chart)
    )
    with tempfile.TemporaryDirectory() as tmp:
        render_cards({"digest": card}, Path(tmp), only="digest", screenshot=OUT.resolve())
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
