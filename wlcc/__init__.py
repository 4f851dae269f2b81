"""Shared foundations of the WLCC bot: settings, message catalog, formatting, logging, CLI.

Every layer (bot, handlers, conversations, storage) may import from here; this package imports
none of them except in the CLI, which is an entry point like ``app``.
"""
