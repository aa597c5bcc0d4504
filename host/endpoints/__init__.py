"""Endpoint extensions: Express-style routes under `/<id>/...`."""
