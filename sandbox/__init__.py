"""Offline stand-ins for the remote services Baton talks to, for `baton dev`, the tests and the benches. Imports
nothing from the project; the product may import only what the import-boundary test allows (the scripted model's
shell)."""
