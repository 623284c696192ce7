"""Alembic environment: runs against the engine Upside hands over in `config.attributes`."""

from alembic import context

from bot.db import is_model_object
from bot.models import SQLModel

config = context.config
engine = config.attributes["engine"]


with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=SQLModel.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        include_object=is_model_object,
    )
    context.run_migrations()
