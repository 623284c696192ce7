"""`/upside ...` (Slack) and bot commands (Teams): one platform-neutral command router.

    reply = await Commands(core, outbound).run(Invocation(actor, "topics list", "C1", "t1"))

Adapters work out who is asking (`Actor`), turn mentions into `@ID` (people) and `#ID`
(channels) before the router sees the text, and render the returned `Message`.
"""

from __future__ import annotations

import shlex
from asyncio import to_thread
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date

from pydantic import ValidationError
from sqlmodel import Session, func, select

from bot.core import RoleRequired, Upside
from bot.digests import holds
from bot.digests.delivery import DeliveryError, deliver, due_period
from bot.executives import complaints
from bot.executives import roster as executives
from bot.executives.complaints import ProgrammeError
from bot.executives.scoreboard import checked_month, scoreboard, scoreboard_message
from bot.executives.views import ComplaintView
from bot.intake.topics import DepartmentConfig, TopicConfig, add_examples, remove_topic, save_topic
from bot.messages import ChannelRef, Code, Link, Mention, Message, Said, Strong, bullets, para
from bot.models import Department, Executive, Topic, TopicCorrection, utcnow
from bot.ports import Address, InboundFeedback, Outbound

TOPICS_PAGE = 20  # even the longest names, escaped, keep a page under Slack's 40,000 characters
TOPIC_DESCRIPTION_CHARS = 150  # of a description, in the list
HELP = {
    "feedback": "`feedback TEXT` — send customer feedback in",
    "topics": (
        f"`topics [PAGE]` — list topics, {TOPICS_PAGE} a page\n"
        "`topics add NAME --department DEPT [--description TEXT]` (admins)\n"
        "`topics edit NAME [--description TEXT] [--department DEPT]` (admins)\n"
        '`topics examples NAME "phrase" ["phrase" ...]` (admins)\n'
        "`topics remove NAME` (admins)"
    ),
    "departments": (
        "`departments` — list departments\n"
        "`departments add NAME [--channel #C] [--timezone TZ] [--time HH:MM] [--days mon-fri]`"
        " (admins)\n"
        "`departments set NAME [--channel #C] [--timezone TZ] [--time HH:MM] [--days mon-fri]`"
        " `[--holidays 2026-12-25,2027-01-01] [--quiet line|skip]` (admins)"
    ),
    "channels": "`channels list` · `channels watch #channel` · `channels unwatch #channel`"
    " (admins)",
    "digest": "`digest now [DEPARTMENT]` — post a digest now (default: this channel's department)",
    "queue": "`queue` — unassigned complaints, worst first",
    "claim": "`claim [ID]` — take the worst unassigned complaint, or complaint ID (executives)",
    "mine": "`mine` — your open complaints (executives)",
    "resolve": "`resolve ID NOTE` — close your complaint with what was done (executives)",
    "release": "`release ID` — hand your complaint back to the queue (executives)",
    "reveal": "`reveal ID` — your complaint as the customer sent it, contact details and all,"
    " for you alone; each look is recorded (executives)",
    "scoreboard": "`scoreboard [YYYY-MM]` — the executives' month, this one by default "
    "(executives and admins)",
    "execs": (
        "`execs` — list executives\n"
        "`execs add @user [--name NAME] [--quota 3] [--topics A,B] [--departments X,Y]` "
        "(admins; also changes one)\n"
        "`execs away @user FROM TO` (ISO dates) · `execs back @user` · `execs remove @user`"
        " (admins)"
    ),
}
_OPTIONS = {
    "department",
    "description",
    "channel",
    "timezone",
    "time",
    "days",
    "holidays",
    "quiet",
    "name",
    "quota",
    "topics",
    "departments",
}


MINE_SHOWN = 20  # an executive's open complaints listed in one reply, oldest first
REVEAL_CHARS = 7_000  # of received words in one reply: escaped, within Slack's 40,000


@dataclass(frozen=True, slots=True)
class Actor:
    """Who runs a command, as the adapter established it."""

    person: Address
    is_admin: bool = False


@dataclass(frozen=True, slots=True)
class Invocation:
    """One command: who, what text, in which channel, and a platform id unique to it.

    ``private`` says the reply reaches the person alone (Slack's ephemeral answer, a
    Teams 1:1 chat), as personal data needs.
    """

    actor: Actor
    text: str
    channel_id: str
    invocation_id: str
    private: bool = False

    @property
    def platform(self) -> str:
        """Where the command was typed: slack or teams."""
        return self.actor.person.platform

    def person(self, word: str) -> Address:
        """A person named in the command (`@ID`), on the invoker's platform and workspace."""
        return Address(self.platform, user_id(word), self.actor.person.workspace)


class UsageError(Exception):
    """The command's words are off; the message says how to use it."""


def usage(topic: str | None = None) -> Message:
    """Help for one command, or for all of them."""
    if topic in HELP:
        return Message.text(HELP[topic])
    return (
        Message.of(para(Strong("Upside commands")))
        + Message.text("\n".join(HELP.values()))
        + Message.text("`help` — this message")
    )


def _admin_only(actor: Actor) -> None:
    if not actor.is_admin:
        raise RoleRequired("admin")


def _split(words: list[str]) -> tuple[list[str], dict[str, str]]:
    """Positional words and `--option value` pairs."""
    positional, options = [], {}
    iterator = iter(words)
    for word in iterator:
        if word.startswith("--"):
            name = word[2:]
            if name not in _OPTIONS:
                raise UsageError(f"unknown option `{word}`")
            value = next(iterator, None)
            if value is None:
                raise UsageError(f"`{word}` needs a value")
            options[name] = value
        else:
            positional.append(word)
    return positional, options


def channel_id(word: str) -> str:
    """A channel named in a command (`#ID`, as adapters pass mentions on) or a bare id."""
    return word.strip().lstrip("#")


class Commands:
    """Runs commands against the core; `outbound` posts what must be posted."""

    def __init__(
        self,
        core: Upside,
        outbound: Outbound,
        on_topics_changed: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.core = core
        self.outbound = outbound
        self.on_topics_changed = on_topics_changed

    async def run(self, invocation: Invocation) -> Message:
        """The reply to show the person; never raises for bad input or a missing role."""
        try:
            words = shlex.split(invocation.text)
        except ValueError as exc:
            return Message.text(f"I could not read that: {exc}.") + usage()
        if not words or words[0] == "help":
            return usage(words[1] if len(words) > 1 else None)
        handler = getattr(self, f"_{words[0]}", None)
        if words[0] not in HELP or handler is None:
            return Message.of(para("Unknown command ", Code(words[0]), ".")) + usage()
        try:
            return await handler(invocation, words[1:])
        except (PermissionError, ProgrammeError) as exc:
            return refusal(exc)
        except UsageError as exc:
            return Message.text(f"{exc}.\nUsage:") + usage(words[0])
        except (LookupError, ValidationError, ValueError) as exc:
            return Message.text(f"{exc}\nUsage:") + usage(words[0])

    async def _feedback(self, invocation: Invocation, words: list[str]) -> Message:
        text = " ".join(words)
        item = InboundFeedback(
            source=f"{invocation.platform}-command",
            external_id=invocation.invocation_id,
            text=text,
            channel=invocation.channel_id,
            author=invocation.actor.person.id,
        )
        result = self.core.ingest([item]).results[0]
        if result.outcome == "rejected":
            raise UsageError(f"Not stored: {result.reason}")
        return Message.text(
            f"Thanks — stored as feedback #{result.id}. It will reach the right department."
        )

    async def _topics(self, invocation: Invocation, words: list[str]) -> Message:
        action, rest = (words[0], words[1:]) if words else ("list", [])
        if action.isascii() and action.isdecimal():  # `topics 2`: a page
            action, rest = "list", words
        if action == "list":
            return self._topic_list(_page(rest))
        if action not in {"add", "edit", "examples", "remove"}:
            raise UsageError(f"unknown action `{action}`")
        _admin_only(invocation.actor)
        positional, options = _split(rest)
        if not positional:
            raise UsageError("name the topic")
        name = positional[0]
        with self.core.session() as session:
            topic = session.exec(select(Topic).where(Topic.name == name)).first()
            if action == "add" and topic is not None:
                raise UsageError(f"topic `{name}` exists already; use `topics edit`")
            if action != "add" and topic is None:
                raise LookupError(f"No topic `{name}`.")
            if action == "remove":
                return await self._remove_topic(session, topic)
            if action == "examples":
                if len(positional) < 2:
                    raise UsageError("give at least one example phrase")
                add_examples(session, topic, positional[1:], origin="admin")
            else:
                owner = session.get(Department, topic.department_id) if topic else None
                department = options.get("department") or (owner.name if owner else "")
                if not department:
                    raise UsageError("a topic needs `--department`")
                description = topic.description if topic else ""
                entry = TopicConfig(
                    name=name,
                    department=department,
                    description=options.get("description", description),
                )
                save_topic(session, entry, self.core.department(department))
        await self._topics_changed()
        return Message.of(para("Topic ", Strong(name), " saved."))

    async def _remove_topic(self, session: Session, topic: Topic) -> Message:
        used = session.exec(
            select(TopicCorrection.id).where(
                (TopicCorrection.to_topic_id == topic.id)
                | (TopicCorrection.from_topic_id == topic.id)
            )
        ).first()
        if used is not None:
            return Message.of(
                para(
                    "Topic ",
                    Strong(topic.name),
                    " has people's corrections on record, so it stays; rename it or change "
                    "its description with ",
                    Code("topics edit"),
                    " instead.",
                )
            )
        remove_topic(session, topic)
        session.commit()
        await self._topics_changed()
        return Message.of(
            para("Topic ", Strong(topic.name), " removed; its items will be classified again.")
        )

    def _topic_list(self, page: int) -> Message:
        """One page of topics, A to Z, saying how to see the next."""
        with self.core.session() as session:
            total = session.exec(select(func.count()).select_from(Topic)).one()
            rows = session.exec(
                select(Topic, Department)
                .join(Department, isouter=True)
                .order_by(Topic.name)
                .offset((page - 1) * TOPICS_PAGE)
                .limit(TOPICS_PAGE)
            ).all()
        if not total:
            return Message.text("No topics yet. An admin adds one with `topics add`.")
        pages = -(-total // TOPICS_PAGE)
        if not rows:
            raise UsageError(f"there are {pages} pages of topics")
        first = (page - 1) * TOPICS_PAGE + 1
        listed = Message.of(
            para(Strong("Topics"), f" ({first} to {first + len(rows) - 1} of {total})"),
            bullets(
                [
                    (
                        Strong(t.name),
                        f" → {d.name if d else 'no department'}: ",
                        _clipped(t.description, TOPIC_DESCRIPTION_CHARS),
                    )
                    for t, d in rows
                ]
            ),
        )
        if page == pages:
            return listed
        return listed + Message.of(
            para("More: ", Code(f"topics {page + 1}"), f" (page {page + 1} of {pages}).")
        )

    async def _topics_changed(self) -> None:
        self.core.refresh_topics()
        if self.on_topics_changed:
            await self.on_topics_changed()

    async def _departments(self, invocation: Invocation, words: list[str]) -> Message:
        action, rest = (words[0], words[1:]) if words else ("list", [])
        if action == "list":
            with self.core.session() as session:
                departments = session.exec(select(Department).order_by(Department.name)).all()
            return Message.of(
                para(Strong("Departments")),
                bullets(
                    [
                        (
                            Strong(d.name),
                            ": ",
                            ChannelRef(d.channel) if d.channel else "no channel",
                            f" ({d.platform}), {d.digest_time} {d.timezone}, {d.work_days}",
                        )
                        for d in departments
                    ]
                ),
            )
        _admin_only(invocation.actor)
        positional, options = _split(rest)
        if action not in {"add", "set"} or not positional:
            raise UsageError("use `departments add NAME ...` or `departments set NAME ...`")
        name = positional[0]
        with self.core.session() as session:
            department = session.exec(select(Department).where(Department.name == name)).first()
            if action == "add" and department is not None:
                raise UsageError(f"department `{name}` exists already; use `departments set`")
            if action == "set" and department is None:
                raise LookupError(f"No department `{name}`.")
            department = department or Department(name=name)
            current = department.model_dump(
                include={"channel", "timezone", "digest_time", "work_days", "holidays", "quiet"}
            )
            given = options.get("channel")
            changes = {
                "channel": current["channel"] if given is None else channel_id(given),
                "timezone": options.get("timezone", current["timezone"]),
                "digest_time": options.get("time", current["digest_time"]),
                "work_days": options.get("days", current["work_days"]),
                "holidays": options.get("holidays", current["holidays"]),
                "quiet": options.get("quiet", current["quiet"]),
            }
            checked = DepartmentConfig(name=name, **changes)  # the same rules as the TOML file
            before = department.address
            department.sqlmodel_update(checked.row())
            if given is not None:  # the channel is on the platform it was named from
                department.platform = invocation.platform
                department.workspace = invocation.actor.person.workspace
            session.add(department)
            after = department.address
        if given is not None:  # an admin fixed the channel (or invited Upside): try again
            await to_thread(holds.release, self.core, before)
            await to_thread(holds.release, self.core, after)
        return Message.of(para("Department ", Strong(name), " saved."))

    async def _channels(self, invocation: Invocation, words: list[str]) -> Message:
        action = words[0] if words else "list"
        platform = invocation.platform
        if action == "list":
            channels = sorted(self.core.watched(platform))
            if not channels:
                return Message.text(
                    "No feedback channels yet. An admin adds one with `channels watch #channel`."
                )
            return Message.of(
                para(Strong("Feedback channels")), bullets([ChannelRef(c) for c in channels])
            )
        _admin_only(invocation.actor)
        if action not in {"watch", "unwatch"} or len(words) > 2:
            raise UsageError("use `channels watch [#channel]` or `channels unwatch [#channel]`")
        target = channel_id(words[1]) if len(words) == 2 else invocation.channel_id
        if not target:
            raise UsageError("name the channel, or type the command in it")
        if action == "watch":
            added = self.core.watch(platform, target, invocation.actor.person.id)
            state = "is now" if added else "was already"
        else:
            removed = self.core.unwatch(platform, target)
            state = "is no longer" if removed else "was not"
        return Message.of(para(ChannelRef(target), f" {state} a feedback channel."))

    async def _digest(self, invocation: Invocation, words: list[str]) -> Message:
        if not words or words[0] != "now":
            raise UsageError("use `digest now [DEPARTMENT]`")
        if len(words) > 1:
            department = self.core.department(" ".join(words[1:]))
        else:
            department = self._department_of_channel(invocation.channel_id)
        try:
            start, end = due_period(self.core, department, utcnow())
            await deliver(self.core, self.outbound, department, start, end)
        except DeliveryError as exc:
            return Message.text(
                f"Sorry, posting failed: {exc}. It is recorded and will be retried; "
                "nothing was marked as done."
            )
        return Message.text(f"Posted {department.name}'s digest to {department.channel}.")

    def _department_of_channel(self, channel: str) -> Department:
        with self.core.session() as session:
            for department in session.exec(select(Department)):
                if channel_id(department.channel) == channel:
                    return department
        raise LookupError("This channel belongs to no department; name one: `digest now NAME`.")

    async def _queue(self, invocation: Invocation, words: list[str]) -> Message:
        waiting = await to_thread(complaints.queue, self.core, 10)
        if not waiting:
            return Message.text("No unassigned complaints.")
        return Message.of(
            para(Strong("Unassigned complaints, worst first")), bullets(list(map(_line, waiting)))
        )

    async def _claim(self, invocation: Invocation, words: list[str]) -> Message:
        wanted = _number(words[0]) if words else None
        complaint = await to_thread(complaints.claim, self.core, invocation.actor.person, wanted)
        return Message.of(
            para("It's yours:"),
            bullets([_line(complaint)]),
            para("When done: ", Code(f"resolve {complaint.id} NOTE"), "."),
        )

    async def _mine(self, invocation: Invocation, words: list[str]) -> Message:
        held = await to_thread(complaints.mine, self.core, invocation.actor.person)
        if not held:
            return Message.text("You have no open complaints. `claim` takes the worst one waiting.")
        shown = Message.of(
            para(Strong("Your open complaints")), bullets(list(map(_line, held[:MINE_SHOWN])))
        )
        if len(held) > MINE_SHOWN:  # a chat message has room for so many
            hidden = len(held) - MINE_SHOWN
            shown += Message.text(f"…and {hidden} more; resolve or release some to see the rest.")
        return shown

    async def _resolve(self, invocation: Invocation, words: list[str]) -> Message:
        if len(words) < 2:
            raise UsageError("use `resolve ID NOTE`")
        note = " ".join(words[1:])
        complaint = await to_thread(
            complaints.resolve, self.core, invocation.actor.person, _number(words[0]), note
        )
        answered = await complaints.answer(self.outbound, complaint, note)
        return Message.text(resolved_reply(complaint, answered))

    async def _release(self, invocation: Invocation, words: list[str]) -> Message:
        if len(words) != 1:
            raise UsageError("use `release ID`")
        feedback_id = _number(words[0])
        await to_thread(complaints.release, self.core, invocation.actor.person, feedback_id)
        return Message.text(f"Complaint #{feedback_id} is back in the queue.")

    async def _reveal(self, invocation: Invocation, words: list[str]) -> Message:
        if len(words) != 1:
            raise UsageError("use `reveal ID`")
        feedback_id = _number(words[0])
        if not invocation.private:
            raise PermissionError(
                "the customer's own words are shown only where you alone see them: "
                "ask in your chat with Upside"
            )
        text = await to_thread(complaints.reveal, self.core, invocation.actor.person, feedback_id)
        return revealed_message(feedback_id, text)

    async def _scoreboard(self, invocation: Invocation, words: list[str]) -> Message:
        if not invocation.actor.is_admin:
            await to_thread(complaints.is_executive, self.core, invocation.actor.person)
        if len(words) > 1:
            raise UsageError("use `scoreboard` or `scoreboard 2026-11`")
        month = checked_month(words[0]) if words else f"{utcnow():%Y-%m}"
        return scoreboard_message(month, await to_thread(scoreboard, self.core, month))

    async def _execs(self, invocation: Invocation, words: list[str]) -> Message:
        action, rest = (words[0], words[1:]) if words else ("list", [])
        if action == "list":
            return exec_list(await to_thread(executives.roster, self.core))
        _admin_only(invocation.actor)
        positional, options = _split(rest)
        if action not in {"add", "away", "back", "remove"} or not positional:
            raise UsageError(f"unknown or incomplete `execs {action}`")
        person = invocation.person(positional[0])
        who = Mention(person.id)
        if action == "add":
            boss = await to_thread(
                executives.enrol,
                self.core,
                person,
                options.get("name"),
                _number(options["quota"]) if "quota" in options else None,
                name_list(options.get("topics")),
                name_list(options.get("departments")),
            )
            return Message.of(
                para(Mention(person.id, boss.name), f" is an executive: {exec_line(boss)}")
            )
        if action == "remove":
            handed_back = await to_thread(executives.retire, self.core, person)
            return Message.of(
                para(
                    who,
                    " is no longer an executive; their record stays and their "
                    f"{handed_back} open complaint(s) are back in the queue.",
                )
            )
        if action == "back":
            await to_thread(executives.set_away, self.core, person, None, None)
            return Message.of(para(who, " is back."))
        if len(positional) != 3:
            raise UsageError("use `execs away @user FROM TO` with ISO dates")
        start, end = (date.fromisoformat(word) for word in positional[1:])
        await to_thread(executives.set_away, self.core, person, start, end)
        return Message.of(para(who, f" is away {start} to {end}."))


def refusal(exc: Exception) -> Message:
    """What a person is told when their role or the complaint's state does not allow a step."""
    if isinstance(exc, RoleRequired):
        return Message.of(
            para("Sorry, this needs the ", Strong(exc.role), " role; ask an Upside admin.")
        )
    return Message.text(f"Sorry, {exc}." if isinstance(exc, PermissionError) else str(exc))


def resolved_reply(complaint: ComplaintView, answered: bool) -> str:
    """What an executive is told once their complaint is resolved."""
    reply = f"Complaint #{complaint.id} resolved. Thank you."
    if answered:
        return reply + " Your note is in the source thread."
    if complaint.link:
        return reply + " (The source thread could not be answered; the note is recorded.)"
    return reply


def revealed_message(feedback_id: int, text: str) -> Message:
    """A complaint's words as received, for the executive holding it."""
    shown = _clipped(text, REVEAL_CHARS)
    return Message.of(
        para(
            Strong(f"Complaint #{feedback_id}"),
            " as the customer sent it, for you alone (this look is recorded):",
        ),
        para(Said(shown)),
    )


def exec_list(bosses: list[Executive]) -> Message:
    """The roster as a message."""
    if not bosses:
        return Message.text("No executives yet.")
    return Message.of(
        para(Strong("Executives")),
        bullets([(Mention(b.user_id, b.name), f" ({b.platform}) {exec_line(b)}") for b in bosses]),
    )


def exec_line(boss: Executive) -> str:
    """One executive's settings in a line."""
    parts = [f"{boss.name}: {boss.quota} a month"]
    if boss.home_topics or boss.home_departments:
        parts.append("home " + ", ".join([*boss.home_topics, *boss.home_departments]))
    if boss.out_of_office_from is not None:
        parts.append(f"away {boss.out_of_office_from} to {boss.out_of_office_until}")
    return ", ".join(parts)


def name_list(option: str | None) -> list[str] | None:
    """Names given comma-separated ("Billing,Delivery"); None when the option is absent."""
    return None if option is None else [n.strip() for n in option.split(",") if n.strip()]


def _line(complaint: ComplaintView) -> tuple:
    topic = f" · {complaint.topic}" if complaint.topic else ""
    source = (" · ", Link(complaint.link, "source")) if complaint.link else ()
    return (
        f"#{complaint.id} ({complaint.score:+.2f}{topic}",
        *source,
        ") ",
        Said(complaint.text[:280]),
    )


def _page(words: list[str]) -> int:
    """The page a list command asks for: the first by default."""
    if not words:
        return 1
    if len(words) > 1 or not (words[0].isascii() and words[0].isdecimal()) or int(words[0]) < 1:
        raise UsageError("give a page number, as in `topics 2`")
    return int(words[0])


def _clipped(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _number(word: str) -> int:
    if not word.lstrip("#").isdigit():
        raise UsageError(f"`{word}` is not a number")
    return int(word.lstrip("#"))


def user_id(word: str) -> str:
    """A person named in a command (`@ID`, as adapters pass mentions on) or a bare id."""
    return word.strip().lstrip("@")
