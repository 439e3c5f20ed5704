from titanium_common.serve import run_async_migrations
from user_service.models import SCHEMA, Base

run_async_migrations(Base.metadata, schema=SCHEMA)
