"""Storage: the only code that talks to LanceDB.

``schema`` (tables and named migrations), ``commits`` (conflict retries), ``store`` (one commit
per call, compaction, indexes), ``reader`` and ``search`` (the search path), ``scope_index`` and
``text_index`` (scopes searched in RAM), ``rows`` (rows <-> records), ``recovery`` (history
lost by a crash between two commits).
"""
