"""The GraphQL schema: derived from the ontology, exported to api/schema.graphql, limits in place."""

from __future__ import annotations

from pathlib import Path

from api.graphql import schema
from api.graphql.nodes import RELATION_FIELDS, TYPES
from graph.ontology import NODE_TYPES, RELATIONS

SDL = Path(__file__).parents[2] / "api" / "schema.graphql"


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.title() for p in rest)


def test_the_exported_sdl_is_the_schema() -> None:
    assert SDL.read_text() == schema.as_str() + "\n", "run: .venv/bin/python -m api.graphql > api/schema.graphql"


def test_every_label_is_a_type_with_every_property_as_a_field() -> None:
    assert set(TYPES) == set(NODE_TYPES)
    for label, model in NODE_TYPES.items():
        graphql_type = schema._schema.get_type(label)
        assert graphql_type is not None, label
        fields = set(graphql_type.fields)  # type: ignore[attr-defined]
        assert {_camel(name) for name in model.model_fields} - {"ingestedAt"} <= fields, label
        assert {"uid", "label", "caption", "maskedFields", "related"} <= fields


def test_relationship_fields_follow_relationships_the_ontology_allows() -> None:
    for label, fields in RELATION_FIELDS.items():
        here = label
        for spec in fields.values():
            for step in spec.steps:
                relation = RELATIONS[step.rel_type]
                ends = {"out": (relation.sources, relation.targets), "in": (relation.targets, relation.sources)}
                if step.direction in ends:
                    start, end = ends[step.direction]
                    assert here in start and step.label in end, (label, step)
                here = step.label
            here = label
