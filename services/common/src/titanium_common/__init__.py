"""What every Titanium blog service shares. See services/common/README.md."""

from titanium_common.app import AppContext, create_app
from titanium_common.auth import CurrentUser, current_user, optional_user
from titanium_common.cache import Cache
from titanium_common.db import Database, db_session
from titanium_common.settings import ServiceSettings

__all__ = [
    "AppContext",
    "Cache",
    "CurrentUser",
    "Database",
    "ServiceSettings",
    "create_app",
    "current_user",
    "db_session",
    "optional_user",
]
