"""The spec view of api-diff: each kind of spec change, judged for a caller who writes requests
and reads responses."""

from __future__ import annotations

from pathlib import Path

from .apidiff_helpers import api_diff, write_tree

OLD_SPEC = """
    openapi: 3.1.0
    info: {title: Test, version: '1'}
    servers: [{url: 'https://api.example.test'}]
    security: [{basic: []}]
    paths:
      /cancel:
        post:
          operationId: cancel
          requestBody:
            required: true
            content:
              application/json:
                schema:
                  type: object
                  required: [token]
                  properties:
                    token: {type: string, maxLength: 40}
                    reason: {type: string}
                    mode: {type: string, enum: [soft, hard]}
          responses:
            '200':
              description: ok
              content:
                application/json:
                  schema:
                    type: object
                    required: [status]
                    properties:
                      status: {anyOf: [{type: string, enum: [CANCELLED]}, {type: string}]}
                      note: {type: string}
                      kind: {type: string, enum: [card, wallet]}
                      seen: {type: [string, 'null']}
            '404': {description: gone}
    components:
      securitySchemes:
        basic: {type: http, scheme: basic}
"""

NEW_SPEC = """
    openapi: 3.1.0
    info: {title: Test, version: '2'}
    servers: [{url: 'https://api2.example.test'}]
    security: [{basic: [], signature: []}]
    paths:
      /cancel:
        post:
          operationId: cancel
          requestBody:
            required: true
            content:
              application/json:
                schema:
                  type: object
                  required: [token, reason]
                  properties:
                    token: {type: string, maxLength: 30}
                    reason: {type: string}
                    mode: {type: string, enum: [soft, hard, purge]}
                    channel: {type: string}
          responses:
            '200':
              description: ok
              content:
                application/json:
                  schema:
                    type: object
                    properties:
                      status: {anyOf: [{type: string, enum: [CANCELLED, PENDING]}, {type: string}]}
                      kind: {anyOf: [{type: string, enum: [card, wallet]}, {type: string}]}
                      seen: {type: string}
                      count: {type: integer}
            '409': {description: conflict}
    components:
      securitySchemes:
        basic: {type: http, scheme: basic}
        signature: {type: apiKey, in: header, name: signature}
"""

SECTION = "specs/xendit.yaml: POST /cancel (cancel)"


def test_each_kind_of_spec_change_is_listed_and_judged_for_a_caller(tmp_path: Path) -> None:
    """Requests may take more and demand no more; responses may add, not drop or widen."""
    old = write_tree(tmp_path / "old", {"specs/xendit.yaml": OLD_SPEC})
    new = write_tree(tmp_path / "new", {"specs/xendit.yaml": NEW_SPEC})

    changes = api_diff.spec_changes(old, new)

    assert {change.section for change in changes} == {SECTION}
    assert [(change.breaking, change.text) for change in changes] == [
        (True, "`request body reason`: now required"),
        (True, "`request body token`: maxLength `40` -> `30`"),
        (True, "`response 200 body kind`: enum now open (was closed)"),
        (True, "`response 200 body note` removed (was string, optional)"),
        (True, "`response 200 body status`: now optional"),
        (True, "response status `404` removed"),
        (True, 'security scheme `apiKey in header "signature"` added'),
        (True, "server `https://api.example.test` removed"),
        (False, "`request body channel` added (string, optional)"),
        (False, '`request body mode`: enum value `"purge"` added'),
        (False, "`response 200 body count` added (integer, optional)"),
        (False, "`response 200 body seen`: no longer nullable"),
        (False, '`response 200 body status`: enum value `"PENDING"` added'),
        (False, "response status `409` added"),
        (False, "server `https://api2.example.test` added"),
    ]


ONE_OF = """
    openapi: 3.1.0
    info: {title: Test, version: '1'}
    paths:
      /v1/recurring-token/cancel:
        post:
          operationId: cancelToken
          responses:
            '200':
              description: one of three bodies
              content:
                application/json:
                  schema:
                    oneOf:
                      - {type: object, required: [status], properties: {status: {type: string}}}
                      - type: object
                        required: [error]
                        properties:
                          error:
                            type: object
                            required: [code]
                            properties: {code: {const: '1.01'}, messages: {type: array}}
                      - type: object
                        required: [error]
                        properties:
                          error:
                            type: object
                            properties:
                              code: {type: string}
                              messages: {type: array}
                              hint: {type: string}
"""


def test_a_property_dropped_from_one_variant_of_a_one_of_is_breaking(tmp_path: Path) -> None:
    """Solidgate's 200 is a oneOf: a field one variant loses is a field callers lose."""
    old = write_tree(tmp_path / "old", {"specs/solidgate.yaml": ONE_OF})
    new = write_tree(
        tmp_path / "new",
        {"specs/solidgate.yaml": ONE_OF.replace("      hint: {type: string}\n", "")},
    )
    changes = api_diff.spec_changes(old, new)
    assert [(change.section, change.breaking, change.text) for change in changes] == [
        (
            "specs/solidgate.yaml: POST /v1/recurring-token/cancel (cancelToken)",
            True,
            "`response 200 body error.hint` removed (was string, optional)",
        )
    ]


def test_an_operation_added_or_removed_is_listed(tmp_path: Path) -> None:
    """Operations are matched by method and path; one that disappears breaks its callers."""
    old = write_tree(tmp_path / "old", {"specs/solidgate.yaml": ONE_OF})
    moved = ONE_OF.replace("/v1/recurring-token/cancel", "/v2/recurring-token/cancel")
    new = write_tree(tmp_path / "new", {"specs/solidgate.yaml": moved})
    changes = api_diff.spec_changes(old, new)
    assert [(change.section, change.breaking, change.text) for change in changes] == [
        ("specs/solidgate.yaml: POST /v1/recurring-token/cancel", True, "operation removed"),
        ("specs/solidgate.yaml: POST /v2/recurring-token/cancel", False, "operation added"),
    ]
