"""The Procfile's web line: the production app on 0.0.0.0:$PORT."""

import sys

from .. import metrics, settings
from ..service import _production_app
from .run import serve

try:
    found = settings.server_settings()
    if found["processes"] > 1:
        metrics.share_across_processes()  # before the app is made, and the processes forked
    app = _production_app()
except settings.ConfigError as err:
    sys.exit(f"Error: {err}")
serve(app, host="0.0.0.0", **found)
