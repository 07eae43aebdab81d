"""The GraphQL API: types generated from the ontology, resolvers behind permissions, masking and audit.

:data:`schema` is the strawberry schema (queries, mutations, subscriptions);
:class:`api.routes.graphql` serves it at `/graphql` with GraphiQL. The SDL is kept in
`api/schema.graphql`.
"""

from api.graphql.context import Context, Loaders
from api.graphql.schema import make_schema, schema

__all__ = ["Context", "Loaders", "make_schema", "schema"]
