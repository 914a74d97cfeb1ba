"""Code shared by the Learnloop services.

Imported first by every service module: it makes structured ``extra=`` logging safe (see :mod:`.logging`).
"""

from . import logging as _logging  # noqa: F401
