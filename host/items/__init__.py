"""Schemaless JSON items in collections, their Directus-style queries and their events."""

from host.query import Query
from host.items.service import ItemsService

__all__ = ["ItemsService", "Query"]
