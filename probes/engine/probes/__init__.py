"""The probe families, one module per part of the 2007 roadmap.

Imported in roadmap order, which is the catalogue's order (the order of
results in every document and table).
"""

import importlib

FAMILY_NAMES = ("ongoing_namespaces", "new_namespaces", "keyrings", "cgroups", "checkpoint")
ALL_FAMILIES = tuple(importlib.import_module(f"{__name__}.{name}") for name in FAMILY_NAMES)
