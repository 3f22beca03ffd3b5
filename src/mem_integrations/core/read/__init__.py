"""The read path: selecting rows (``select``), listing (``listing``), searching (``search``).

Reads never write to the memories table; a search records accesses for decay in the separate
accesses table, off the request path.
"""
