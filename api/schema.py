"""The OpenAPI 3.1 schema of the suppression API, served at /api/v1/openapi.json and driven
by schemathesis in the tests (tests/api/test_schema.py)."""

from __future__ import annotations

from typing import Any

_ERROR = {"$ref": "#/components/schemas/Error"}


def _errors(*statuses: int) -> dict[str, Any]:
    words = {
        400: "Bad input; the message says what is wrong",
        401: "No key, a wrong key or a revoked key (nothing else is said)",
        403: "The key lacks the scope this call needs",
        404: "No such account",
        405: "Wrong method",
        409: "The event id was reported before with another account, address or reason",
        413: "The body is over the size limit",
        429: "Too many calls with this key; Retry-After says when to try again",
    }
    return {
        str(status): {
            "description": words[status],
            "content": {"application/json": {"schema": _ERROR}},
        }
        for status in statuses
    }


def openapi_schema(*, base: str) -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Suppression API of the back office",
            "version": "1",
            "description": (
                "For the sending platform: which addresses of a send batch an account must "
                "not mail (R9), and the unsubscribes the mail pipeline received. "
                "Authenticate with `Authorization: Bearer <API key>`."
            ),
        },
        "servers": [{"url": base.rstrip("/")}],
        "components": {
            "securitySchemes": {"apiKey": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error"],
                    "properties": {"error": {"type": "string"}},
                },
                "Reason": {
                    "type": "string",
                    "enum": ["unsubscribe", "hard_bounce", "complaint", "manual", "erasure"],
                },
                "CheckRequest": {
                    "type": "object",
                    "required": ["account", "addresses"],
                    "properties": {
                        "account": {"type": "integer", "minimum": 1, "description": "Account id"},
                        "addresses": {
                            "type": "array",
                            "maxItems": 10000,
                            "items": {"type": "string"},
                        },
                    },
                },
                "CheckAnswer": {
                    "type": "object",
                    "required": ["account", "checked_at", "checked", "suppressed", "invalid"],
                    "properties": {
                        "account": {"type": "integer"},
                        "checked_at": {"type": "string", "format": "date-time"},
                        "checked": {"type": "integer"},
                        "suppressed": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["address", "since", "reason"],
                                "properties": {
                                    "address": {"type": "string"},
                                    "since": {"type": "string", "format": "date-time"},
                                    "reason": {"$ref": "#/components/schemas/Reason"},
                                },
                            },
                        },
                        "invalid": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["address", "error"],
                                "properties": {
                                    "address": {"type": "string"},
                                    "error": {"type": "string"},
                                },
                            },
                        },
                    },
                },
                "RecordRequest": {
                    "type": "object",
                    "required": ["account", "event_id", "address", "reason"],
                    "properties": {
                        "account": {"type": "integer", "minimum": 1},
                        "event_id": {"type": "string", "minLength": 1, "maxLength": 200},
                        "address": {"type": "string", "minLength": 3, "maxLength": 320},
                        "reason": {
                            "type": "string",
                            "enum": ["unsubscribe", "hard_bounce", "complaint"],
                        },
                        "at": {"type": "string", "format": "date-time"},
                        "evidence": {"type": "string", "maxLength": 2000},
                    },
                },
                "RecordAnswer": {
                    "type": "object",
                    "required": ["recorded", "event_id", "account", "suppressed_since", "reason"],
                    "properties": {
                        "recorded": {
                            "type": "boolean",
                            "description": "false: this event id was recorded before",
                        },
                        "event_id": {"type": "string"},
                        "account": {"type": "integer"},
                        "suppressed_since": {"type": "string", "format": "date-time"},
                        "reason": {"$ref": "#/components/schemas/Reason"},
                    },
                },
            },
        },
        "security": [{"apiKey": []}],
        "paths": {
            "/api/v1/suppressions/check": {
                "post": {
                    "operationId": "checkSuppressions",
                    "summary": "Which of these addresses the account must not mail now",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/CheckRequest"}
                            }
                        },
                    },
                    "responses": {
                        "200": {
                            "description": "The suppressed addresses, since when and why",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/CheckAnswer"}
                                }
                            },
                        },
                        **_errors(400, 401, 403, 404, 405, 413, 429),
                    },
                }
            },
            "/api/v1/suppressions": {
                "post": {
                    "operationId": "recordSuppression",
                    "summary": "Record an unsubscribe (bounce, complaint) the mail pipeline got",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/RecordRequest"}
                            }
                        },
                    },
                    "responses": {
                        "201": {
                            "description": "Recorded",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/RecordAnswer"}
                                }
                            },
                        },
                        "200": {
                            "description": "This event id was recorded before: nothing new",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/RecordAnswer"}
                                }
                            },
                        },
                        **_errors(400, 401, 403, 404, 405, 409, 413, 429),
                    },
                }
            },
        },
    }
