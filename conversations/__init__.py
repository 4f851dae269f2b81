"""Multi-step dialogs, one file each; :mod:`conversations.engine` discovers them."""
