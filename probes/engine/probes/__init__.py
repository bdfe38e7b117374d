"""The probe families, one module per part of the 2007 roadmap."""

from . import cgroups, checkpoint, keyrings, new_namespaces, ongoing_namespaces

ALL_FAMILIES = (ongoing_namespaces, new_namespaces, keyrings, cgroups, checkpoint)
