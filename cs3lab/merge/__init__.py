"""Clone-with-origin and three-way notebook merge with nbdime.

A copy records where it came from (origin.py: resource id, path, etag, a base snapshot beside
it); the service (service.py) copies, diffs and merges it back with nbdime's merge API run off
the event loop (offload.py), answering ``{base, merge_decisions}`` for nbdime's merge widget;
handlers.py is the REST layer.
"""
