"""The Directus query, one implementation: parsed and validated once (`model`, `filter`,
`params`), run in the database over items (`sql`) or in memory over JSON values (`memory`),
shaped per page (`project`). The rules are in docs/query.md."""

from host.query.model import Query
from host.query.params import query_from_params

__all__ = ["Query", "query_from_params"]
