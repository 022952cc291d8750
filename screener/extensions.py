"""Extension objects, created here and bound to the app in create_app."""
from __future__ import annotations

from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect

from .storage.db import Database

db = Database()
csrf = CSRFProtect()
babel = Babel()
login_manager = LoginManager()
# Only routes that ask for it are limited (the practitioners' login); storage from
# RATELIMIT_STORAGE_URI (memory:// per process by default).
limiter = Limiter(key_func=get_remote_address)
