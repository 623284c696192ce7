"""Alembic environment: runs against the engine Upside hands over in `config.attributes`."""

from alembic import context

from bot.db import is_model_object
from bot.models import SQLModel

config = context.config
engine = config.attributes["engine"]


with engine.connect() as connection:
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:  # a batch rebuild drops tables that others reference; SQLite checks outside
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        connection.commit()
    context.configure(
        connection=connection,
        target_metadata=SQLModel.metadata,
        render_as_batch=sqlite,
        include_object=is_model_object,
    )
    with connection.begin():
        context.run_migrations()
        if sqlite and connection.exec_driver_sql("PRAGMA foreign_key_check").first():
            raise RuntimeError("a migration left rows pointing at rows that are gone")
    if sqlite:
        connection.exec_driver_sql("PRAGMA foreign_keys=ON")
        connection.commit()
