"""Print the GraphQL SDL: ``python -m api.graphql > api/schema.graphql``."""

from api.graphql.schema import schema

print(schema.as_str())
