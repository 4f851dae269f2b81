"""Tables, sessions and the domain operations on them. Imports nothing above it."""
