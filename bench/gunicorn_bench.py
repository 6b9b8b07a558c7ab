"""The one set of gunicorn settings that the service and the baselines all run
under in a benchmark, so that only the application differs."""

import os

bind = f"127.0.0.1:{os.environ['PORT']}"
workers = 2
worker_class = "sync"
preload_app = True
accesslog = None
errorlog = "-"
loglevel = "warning"
control_socket_disable = True
