"""exthost: a host for sandboxed Directus-style extensions."""
