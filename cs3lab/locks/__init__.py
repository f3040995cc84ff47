"""Write locks kept in the storage (native CS3 locks, or a race-free marker fallback).

Not built yet: see DESIGN.md, "Locks". Until then a stale save is refused by etag.
"""
