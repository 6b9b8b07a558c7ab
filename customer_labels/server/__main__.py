"""The Procfile's web line: the production app on 0.0.0.0:$PORT."""

import sys

from .. import settings
from ..service import _production_app
from .run import serve

try:
    found = settings.server_settings()
    app = _production_app()
    serve(app, host="0.0.0.0", **found)
except settings.ConfigError as err:
    sys.exit(f"Error: {err}")
