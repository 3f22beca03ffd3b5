"""The write path: messages to rows, changes in place, removals.

``add`` (messages -> operations -> rows), ``change`` (update, expiry, put) and ``remove``
(deletes and the expiry purge). Each call validates everything before its one memories commit,
then records history.
"""
