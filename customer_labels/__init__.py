"""Customer Labels: an HTTP service that records which labels are attached to
which customers. ``customer_labels.service.create_app`` makes the app.

The product's design keeps ``store/``, ``auth/`` and ``schemas/`` at the top of
the repository, beside this folder; they are this package's subpackages all the
same (``customer_labels.store``...). A built distribution has them inside the
package (``pyproject.toml`` maps them there); in a checkout, the line below
finds them beside this folder.
"""

import os as _os

__version__ = "1.1.0"

_here = _os.path.dirname(_os.path.abspath(__file__))
if not _os.path.isdir(_os.path.join(_here, "store")):  # a checkout, not an installed copy
    __path__.append(_os.path.dirname(_here))
