"""Browser tests: the real app in real headless Chromium (Debian's), checked with axe-core."""
