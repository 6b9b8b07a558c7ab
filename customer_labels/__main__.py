"""``python -m customer_labels``: the local mock, as ``python app.py`` runs it."""

from .service import main

main()
