"""The staff console: server-rendered pages for coordinators, the treasurer, protection officers
and admins at ``/console/``, and the browser simulator at ``/simulator``.

It sits on the channels' floor (like bot/): a browser is one more way in. Its pages call the
same storage operations and the same permission rules (storage/permissions.py) as the chat.
"""
