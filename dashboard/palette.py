"""The map's colours, for the dashboard's pieces: defined in :mod:`services.palette`, where the
static map and the PDF brief take them too, so every picture uses the same colours."""

from services.palette import *  # noqa: F401,F403
from services.palette import __all__  # noqa: F401
