"""The terminal as a channel: digests and messages rendered with rich (demo, previews, CLI)."""

from __future__ import annotations

from itertools import count

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from bot.digests.digest import Digest, Quote
from bot.executives.views import ComplaintView, Standing, duration
from bot.messages import Message
from bot.ports import Address, Outbound, Posted

_STYLE = {"negative": "red", "neutral": "yellow", "positive": "green"}


def _change(now: float, before: float, percent: bool = True) -> str:
    delta = (now - before) * (100 if percent else 1)
    unit = " pts" if percent else ""
    return f"{delta:+.0f}{unit}" if delta else "±0"


def render_digest(digest: Digest) -> Panel:
    """A digest as a rich panel: volume, sentiment mix and change, topics, quotes."""
    period = f"{digest.start:%a %d %b %H:%M} → {digest.end:%a %d %b %H:%M} UTC"
    header = Text.assemble(
        (f"{digest.volume}", "bold"),
        f" items ({_change(digest.volume, digest.previous_volume, percent=False)} vs previous)  ",
        *(
            (
                f"{label} {digest.share(label):.0%} "
                f"({_change(digest.share(label), digest.share(label, previous=True))})  ",
                _STYLE[label],
            )
            for label in ("negative", "neutral", "positive")
        ),
    )
    parts: list = [Text(period, style="dim"), header]
    if digest.topics:
        topics = Table(box=None, show_header=True, header_style="bold", pad_edge=False)
        topics.add_column("Top topics")
        topics.add_column("items", justify="right")
        topics.add_column("change", justify="right")
        for topic in digest.topics[:5]:
            topics.add_row(
                Text(topic.name), str(topic.count), _change(topic.count, topic.previous, False)
            )
        parts.append(topics)
    for title, quotes, style in (
        ("Jeers: the most negative, in their words", digest.negative, "red"),
        ("Cheers: the most positive, in their words", digest.positive, "green"),
    ):
        if quotes:
            parts.append(Text(title, style=f"bold {style}"))
            parts.extend(_quote(q, style) for q in quotes)
    if digest.resolved:
        parts.append(Text("You said, we did", style="bold"))
        parts.extend(
            Text.assemble("  “", r.text, "” → ", (r.note, "bold"), (f"  ({r.executive})", "dim"))
            for r in digest.resolved
        )
    if digest.open_complaints:
        parts.append(Text(f"{digest.open_complaints} complaints are with executives, open."))
    if digest.other_languages:
        parts.append(Text(f"{digest.other_languages} items in other languages", style="bold"))
        parts.extend(Text.assemble("  “", q.text, "”") for q in digest.foreign)
    if not digest.volume:
        parts.append(Text("A quiet period: no customer feedback reached this department."))
    return Panel(Group(*parts), title=f"[bold]{digest.department}[/]", title_align="left")


def render_scoreboard(month: str, standings: list[Standing]) -> Table:
    """The executives' month as a table."""
    table = Table(title=f"Executive complaints scoreboard, {month}", title_justify="left")
    for column in ("executive", "assigned", "resolved", "open", "released", "median to resolve"):
        table.add_column(column, justify="left" if column == "executive" else "right")
    for s in standings:
        median = duration(s.median_to_resolve) if s.median_to_resolve else "—"
        table.add_row(
            Text(s.name), str(s.assigned), str(s.resolved), str(s.open), str(s.released), median
        )
    return table


def _quote(quote: Quote, style: str) -> Text:
    topic = f" · {quote.topic}" if quote.topic else ""
    return Text.assemble(
        ("  “", style), quote.text, ("”", style), (f"  ({quote.source}{topic})", "dim")
    )


class ConsoleOutbound(Outbound):
    """Prints what would be posted, whatever the platform; every post gets a local reference."""

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console()
        self._refs = count(1)

    def _posted(self, where: str) -> Posted:
        return Posted(channel=where, ref=f"console-{next(self._refs)}")

    def _heading(self, where: Address, note: str = "") -> None:
        self.console.print(Text(f"→ {where.id or '(no channel)'}{note}", style="dim"))

    async def post_digest(self, channel: Address, digest: Digest) -> Posted:
        """Print the digest under its channel's name."""
        self._heading(channel)
        self.console.print(render_digest(digest))
        return self._posted(channel.id)

    async def post_alert(self, channel: Address, department: str, message: Message) -> Posted:
        """Print an alert under its channel's name."""
        self._heading(channel, f" ({department})")
        self.console.print(Text(message.plain(), style="bold red"))
        return self._posted(channel.id)

    async def post_scoreboard(
        self, channel: Address, month: str, standings: list[Standing]
    ) -> Posted:
        """Print the scoreboard under its channel's name."""
        self._heading(channel)
        self.console.print(render_scoreboard(month, standings))
        return self._posted(channel.id)

    async def send_direct(self, person: Address, message: Message) -> Posted:
        """Print a direct message."""
        heading = f"DM → {person.id} ({person.platform}) "
        self.console.print(Text.assemble((heading, "dim"), message.plain()))
        return self._posted(person.id)

    async def send_complaint(self, person: Address, complaint: ComplaintView, intro: str) -> Posted:
        """Print the complaint and the commands that stand in for its buttons."""
        topic = f" · {complaint.topic}" if complaint.topic else ""
        source = f"\n  source: {complaint.link}" if complaint.link else ""
        return await self.send_direct(
            person,
            Message.text(
                f"{intro}\n  #{complaint.id} ({complaint.score:+.2f}{topic}) "
                f"“{complaint.text}”{source}"
                f"\n  claim {complaint.id} · release {complaint.id} · resolve {complaint.id} NOTE"
            ),
        )

    async def reply_in_thread(self, source: str, link: str, message: Message) -> Posted:
        """Print a thread reply."""
        self.console.print(Text.assemble((f"reply → {link} ", "dim"), message.plain()))
        return self._posted(link)
