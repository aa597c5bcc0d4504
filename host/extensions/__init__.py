"""Extension packages: their manifest, loading them, and the registry of what is loaded."""
