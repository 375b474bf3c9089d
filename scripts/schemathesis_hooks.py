"""Schemathesis hooks for crm-bench's API (loaded through SCHEMATHESIS_HOOKS by
scripts/schemathesis.sh).

Two kinds of input cannot be described by JSON Schema, and are tested elsewhere:
- the list language's `filter` and `order_by` (a grammar over each resource's fields) and
  the opaque keyset cursors `starting_after` / `ending_before`: generated strings would be
  refused (400) although they match any schema we could write. Cases carrying them are
  dropped; the unit and property tests of crm-core's query module cover them.
- answers that depend on the stored data rather than on the request's shape: an id that
  names no record of the tenant (422 `unknown-reference`), a stale version (412
  `precondition-failed`), an Idempotency-Key reused with another body (422
  `idempotency-key-reused`), and a batch refused because such items failed (422
  `batch-rejected`). A schema promises which requests are well formed, not which records
  exist; a schema-valid request answered so is not counted as "rejected". Nor is 422
  `inconsistent`: fields valid one by one that break a rule between them or with the stored
  record or the clock (a meeting ending before it starts, an expiry in the past), which no
  JSON Schema can state either. Every other failure counts.
"""

import json

import schemathesis
from schemathesis.openapi.checks import RejectedPositiveData

GRAMMAR_PARAMETERS = {"filter", "order_by", "starting_after", "ending_before"}

STATE_DEPENDENT = {
    "/problems/unknown-reference",
    "/problems/inconsistent",
    "/problems/not-found",
    "/problems/precondition-failed",
    "/problems/idempotency-key-reused",
    "/problems/duplicate",
    "/problems/invalid-transition",
}


@schemathesis.hook
def filter_case(context, case):
    query = case.query or {}
    return not any(name in query for name in GRAMMAR_PARAMETERS)


def _problem_types(response):
    try:
        body = json.loads(response.content or b"null")
    except ValueError:
        return None
    if not isinstance(body, dict):
        return None
    kind = body.get("type")
    if kind == "/problems/batch-rejected":
        items = [r.get("error") for r in body.get("results", []) if r.get("error")]
        return {item.get("type") for item in items} or None
    return {kind}


def _only_unknown_fields(response):
    """Whether a 422 refuses nothing but fields the document does not have. Every request body
    schema says `additionalProperties: false`, so such a request was not schema-valid:
    schemathesis' adaptive phases add fields they saw in earlier responses (a stage's `key`
    and `pipeline_id` at the top of a batch) and still file the request as positive."""
    try:
        body = json.loads(response.content or b"null")
    except ValueError:
        return False
    errors = body.get("errors") if isinstance(body, dict) else None
    return bool(errors) and all(
        str(e.get("message", "")).startswith("unknown field") for e in errors
    )


@schemathesis.hook
def filter_failure(context, failure, case, response):
    if isinstance(failure, RejectedPositiveData):
        types = _problem_types(response)
        if types and types <= STATE_DEPENDENT:
            return False
        if _only_unknown_fields(response):
            return False
    return True
