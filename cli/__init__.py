"""The ``wlcc`` console command: the top floor, beside ``app.py``.

``cli/main.py`` holds the command and its small subcommands; the larger groups have a file of
their own (``members.py``, ``outbox.py``: worker and broadcast, ``inbox.py``), ``common.py``
what they share. Everything heavy is imported inside the commands, so ``wlcc --help`` is quick.
"""
