"""The same formats for the `en` locale as for `en_GB` (config/formats/en_GB/formats.py)."""

from config.formats.en_GB.formats import *  # noqa: F403
