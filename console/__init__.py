"""The staff web console (issue 13)."""
