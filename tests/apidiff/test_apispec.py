"""The shared reading of an OpenAPI operation: open enums, oneOf merging, string-typed values."""

from __future__ import annotations

from typing import Any

import pytest

from .apidiff_helpers import ROOT, apispec


def operation(schema: dict[str, Any], **extra: Any) -> apispec.Operation:
    document = {
        "openapi": "3.1.0",
        "paths": {
            "/x": {
                "post": {
                    "responses": {
                        "200": {
                            "description": "ok",
                            "content": {"application/json": {"schema": schema}},
                        }
                    },
                    **extra,
                }
            }
        },
        "components": {
            "schemas": {
                "Status": {"type": "string", "enum": ["ACTIVE", "CANCELED"]},
                "Node": {
                    "type": "object",
                    "properties": {"next": {"$ref": "#/components/schemas/Node"}},
                },
            }
        },
    }
    return apispec.read_operation(document, "post", "/x", source="test")


def test_an_enum_beside_a_plain_string_is_open_and_a_null_branch_makes_it_nullable() -> None:
    """Our specs' `anyOf: [{$ref: enum}, {type: string}, {type: 'null'}]` reads as designed."""
    fields = operation(
        {
            "type": "object",
            "properties": {
                "open": {"anyOf": [{"$ref": "#/components/schemas/Status"}, {"type": "string"}]},
                "closed": {"anyOf": [{"$ref": "#/components/schemas/Status"}, {"type": "null"}]},
            },
        }
    ).fields
    assert fields["response 200 body open"] == apispec.Field(
        types=frozenset({"string"}),
        enum=frozenset({'"ACTIVE"', '"CANCELED"'}),
        open_enum=True,
    )
    assert fields["response 200 body closed"] == apispec.Field(
        types=frozenset({"string"}),
        nullable=True,
        enum=frozenset({'"ACTIVE"', '"CANCELED"'}),
    )


def test_one_of_variants_merge_and_a_field_is_required_only_where_every_variant_requires_it() -> (
    None
):
    """A oneOf of bodies reads as every field a caller may meet, with honest required flags."""
    fields = operation(
        {
            "oneOf": [
                {
                    "type": "object",
                    "required": ["status"],
                    "properties": {"status": {"type": "string"}},
                },
                {
                    "type": "object",
                    "required": ["error"],
                    "properties": {
                        "error": {
                            "type": "object",
                            "required": ["code"],
                            "properties": {"code": {"const": "1.01"}},
                        }
                    },
                },
                {
                    "type": "object",
                    "required": ["error"],
                    "properties": {
                        "error": {"type": "object", "properties": {"code": {"type": "string"}}}
                    },
                },
            ]
        }
    ).fields
    assert fields["response 200 body status"].required is True
    assert fields["response 200 body error"].required is True
    assert fields["response 200 body error.code"] == apispec.Field(
        types=frozenset({"string"}), enum=frozenset({'"1.01"'}), open_enum=True
    )


def test_string_typed_numbers_and_booleans_read_as_values() -> None:
    """Xendit's `"required": "true"` and `"minLength": "39"` mean true and 39."""
    document = {
        "openapi": "3.0.0",
        "paths": {
            "/t/{id}": {
                "post": {
                    "parameters": [
                        {
                            "in": "header",
                            "name": "Version",
                            "required": "false",
                            "schema": {"type": "string"},
                        },
                        {
                            "in": "query",
                            "name": "id",
                            "required": "true",
                            "schema": {"type": "string", "minLength": "39", "maxLength": "39.0"},
                        },
                    ],
                    "responses": {"200": {"description": "ok"}},
                }
            }
        },
    }
    fields = apispec.read_operation(document, "post", "/t/{id}", source="test").fields
    assert fields["request query id"] == apispec.Field(
        types=frozenset({"string"}),
        required=True,
        constraints=(("maxLength", "39"), ("minLength", "39")),
    )
    assert fields["request header version"].required is False


def test_a_recursive_schema_is_read_once_and_a_missing_ref_is_an_error() -> None:
    """Cycles stop instead of looping; a $ref to nothing is a clear SpecError."""
    fields = operation({"$ref": "#/components/schemas/Node"}).fields
    assert "response 200 body next" in fields
    with pytest.raises(apispec.SpecError, match="points nowhere"):
        operation({"$ref": "#/components/schemas/Missing"})
    with pytest.raises(apispec.SpecError, match="only local \\$ref"):
        operation({"$ref": "other.yaml#/Thing"})


def test_our_own_specs_read_without_error_and_every_operation_is_found() -> None:
    """Each spec in specs/ has exactly its one cancel operation, readable by both tools."""
    for provider, expected in {
        "kbank": ("post", "/kplus/payment/cancel-token"),
        "solidgate": ("post", "/v1/recurring-token/cancel"),
        "xendit": ("post", "/v3/payment_tokens/{payment_token_id}/cancel"),
    }.items():
        path = ROOT / "specs" / f"{provider}.yaml"
        document = apispec.load_document(path.read_text(encoding="utf-8"), str(path))
        assert apispec.operations(document) == [expected]
        read = apispec.read_operation(document, *expected, source=str(path))
        assert "200" in read.statuses
