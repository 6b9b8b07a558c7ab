"""The Customer Labels service, run from a checkout.

``python app.py`` runs the local mock (dev mode); ``flask --app app`` reaches the
production app, and ``flask --app app:dev_app`` the same app in dev mode. The
Procfile runs ``python -m customer_labels.server``.
The code is the package ``customer_labels``; this file only points at it.
"""

from customer_labels.service import create_app, main

__all__ = ["create_app", "main"]


def __getattr__(name):
    # `app` and `dev_app` are made on first use (see customer_labels.service).
    from customer_labels import service

    return getattr(service, name)


if __name__ == "__main__":
    main()
