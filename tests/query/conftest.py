from tests.items.conftest import api, db_url, postgres_url

__all__ = ["api", "db_url", "postgres_url"]
