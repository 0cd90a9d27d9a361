"""Compatibility: will a VM move from this host to that one, and over a whole pool?

The web side of the engine in ``cpus/cpuid`` (``compat``, ``baseline``, ``matrix``, ``preflight``,
``planning``): its pages (``views``, ``preflight_views``), its REST endpoints (``api/``), the
matrix runs that compute a pool's pairs in tiles (``runs``) and their Celery tasks (``tasks``),
with its templates and scripts.  It owns no model: runs and hosts are rows of ``cpus.models``.
"""
