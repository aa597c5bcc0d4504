"""Schemaless JSON items in collections, their Directus-style queries and their events."""

from host.items.service import ItemsService
from host.query import Query

__all__ = ["ItemsService", "Query"]
