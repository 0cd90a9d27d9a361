"""The OpenAPI schema's error answers: what every 4xx of the API looks like, and which
operations can give which (a drf-spectacular post-processing hook).  Plain data: no DRF
import, so tests can use it before Django is set up."""

ERROR_COMPONENT = {
    "type": "object",
    "description": "The body of every 4xx answer: one readable sentence, a code, DRF's details, "
    "the offending field and, for a dump that cannot be decoded, its line.",
    "required": ["error", "code", "detail"],
    "properties": {
        "error": {"type": "string"},
        "code": {"type": "string"},
        "detail": {},
        "field": {"type": "string"},
        "line": {"type": "integer", "nullable": True},
        "issues": {"type": "array", "items": {"type": "object"}},
    },
}
ERROR_DESCRIPTIONS = {
    "400": "Invalid input (query, body or dump); nothing is stored.",
    "401": "Missing, unknown or revoked token.",
    "403": "Authenticated but not allowed (not the owner, not staff).",
    "404": "No such object, or no host, report or CPU model of that id or name in the body.",
    "409": "The object is still referenced (a ledger record holds the host or report).",
    "413": (
        "The request body is larger than CPUKB_MAX_REQUEST_BYTES; refused from its "
        "Content-Length before it is read (kbsite/limits.py)."
    ),
    "415": "Unsupported request body media type.",
    "429": (
        "Too many requests: writes (CPUKB_THROTTLE_*_WRITES), or anonymous reads "
        "(CPUKB_THROTTLE_ANON_READS); Retry-After says when to retry."
    ),
}
WRITE_METHODS = frozenset({"post", "put", "patch", "delete"})


def error_statuses(path: str, method: str, operation: dict) -> list[str]:
    """The 4xx answers an operation can give under this API's conventions."""
    statuses = ["400", "401", "429"]  # every request is throttled (reads when anonymous)
    if "{" in path or "requestBody" in operation:
        statuses.append("404")  # a missing object, or a host/report named in the body
    if "requestBody" in operation:
        statuses.append("413")  # any body over the size limit
    if method in WRITE_METHODS:
        statuses += ["403", "415"]
    if method == "delete":
        statuses.append("409")
    return statuses


def document_error_responses(result, generator, request, public):
    """drf-spectacular post-processing hook: every operation documents its 4xx answers with the
    one error shape (``kbsite.api_errors.exception_handler``), unless the view documented them
    itself."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_COMPONENT
    error_body = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            for status in error_statuses(path, method, operation):
                responses.setdefault(
                    status, {"description": ERROR_DESCRIPTIONS[status], "content": error_body}
                )
    return result
