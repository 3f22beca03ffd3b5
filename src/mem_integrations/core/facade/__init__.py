"""The public surface of ``Memory``, split by concern: ``writes``, ``reads``, and ``base``.

Each public method normalises Mem0's arguments (the scope ids, written once in
:meth:`~.base.Facade._scope`) and calls one operation of ``read/`` or ``write/``; no row
building, SQL or ranking happens here.
"""
