"""Alembic environment: runs against the engine Upside hands over in `config.attributes`."""

from alembic import context

from bot.models import SQLModel

config = context.config
engine = config.attributes["engine"]


def _ours(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
    """slack_* tables belong to slack_sdk's stores (created by migration 0004), not to models."""
    return not (type_ == "table" and reflected and name and name.startswith("slack_"))


with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=SQLModel.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        include_object=_ours,
    )
    context.run_migrations()
