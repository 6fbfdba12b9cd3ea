"""Building a subgraph schema: Federation v2.9, the field-rule check, error masking, and the
hostile-query limits of a subgraph (the gateway has its own, tighter ones; these hold when a
subgraph is reached directly with a valid token)."""

from __future__ import annotations

import logging
import re
import uuid
from collections import OrderedDict
from collections.abc import Sequence

import strawberry
from graphql import DocumentNode, GraphQLError, NoSchemaIntrospectionCustomRule, ValidationRule
from strawberry.extensions import MaskErrors, MaxTokensLimiter, SchemaExtension
from strawberry.federation.schema import FederationAny
from strawberry.types import Info

from .authz import check_rules
from .errors import InputError, PublicError
from .limits import Measure, measure, measure_reading, variables_key
from .settings import Settings

log = logging.getLogger(__name__)
MASKED = "Internal error; see the service log (reference in extensions)"
SUGGESTION = re.compile(r"\s*Did you mean [^?]*\?")


def _should_mask(error: GraphQLError) -> bool:
    original = error.original_error
    if original is None or error.path is None:
        return False  # syntax/validation/coercion errors are about the client's document
    if isinstance(original, GraphQLError):
        return False
    if isinstance(original, (PublicError, InputError)):  # a bad argument of a query: the client's mistake
        error.extensions = {**(error.extensions or {}), "code": "BAD_USER_INPUT"}
        return False
    ref = uuid.uuid4().hex[:12]
    log.error("resolver failed ref=%s path=%s", ref, ".".join(map(str, error.path)), exc_info=original)
    error.extensions = {**(error.extensions or {}), "code": "INTERNAL_SERVER_ERROR", "reference": ref}
    return True


def mask_errors() -> MaskErrors:
    return MaskErrors(should_mask_error=_should_mask, error_message=MASKED)


class DocumentCache:
    """What depends only on a document, computed once per distinct document text and schema: the
    parsed document, its measures (services/common/limits.py; keyed further by the few variable
    values a measure reads: page sizes, the number of representations) and which sets of
    validation rules it passed. An LRU bounded in entries and in the total length of the texts it
    keeps, so a flood of distinct documents cannot grow memory without bound; a document longer
    than `max_doc_chars` is never kept. Failed validations are not kept (their errors are
    rewritten per request), nor are refusals of the limits short-circuited: the limits are
    checked on every request against the (cached) measure and the request's settings."""

    MEASURES_PER_DOCUMENT = 32

    def __init__(self, max_entries: int = 512, max_chars: int = 2_000_000, max_doc_chars: int = 64_000):
        self.max_entries, self.max_chars, self.max_doc_chars = max_entries, max_chars, max_doc_chars
        self._entries: OrderedDict[str, _Cached] = OrderedDict()
        self.chars = 0
        self.hits = self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, query: str | None) -> _Cached | None:
        entry = self._entries.get(query) if query else None
        if entry is None:
            self.misses += 1
            return None
        self._entries.move_to_end(query)
        self.hits += 1
        return entry

    def put(self, query: str, document: DocumentNode) -> _Cached | None:
        if len(query) > self.max_doc_chars:
            return None
        entry = self._entries.get(query)
        if entry is None:
            entry = self._entries[query] = _Cached(document)
            self.chars += len(query)
            while len(self._entries) > self.max_entries or self.chars > self.max_chars:
                old, _ = self._entries.popitem(last=False)
                self.chars -= len(old)
        return entry


class _Cached:
    __slots__ = ("document", "measures", "reads", "valid")

    def __init__(self, document: DocumentNode):
        self.document = document
        self.reads: dict[str | None, frozenset[str]] = {}  # operation name -> variables its measure reads
        self.measures: OrderedDict[tuple, Measure | None] = OrderedDict()
        self.valid: set[tuple] = set()  # validation-rule tuples the document passed

    def measure(self, schema, operation_name: str | None, variables: dict | None) -> Measure | None:
        reads = self.reads.get(operation_name)
        key = (operation_name, variables_key(reads, variables)) if reads is not None else None
        if key is not None and key in self.measures:
            return self.measures[key]
        m, reads = measure_reading(schema, self.document, operation_name, variables)
        self.reads[operation_name] = reads
        self.measures[(operation_name, variables_key(reads, variables))] = m
        while len(self.measures) > DocumentCache.MEASURES_PER_DOCUMENT:
            self.measures.popitem(last=False)
        return m


class DocumentLimits(SchemaExtension):
    """Refuses a document whose expanded size, depth, aliases or estimated cost is over this
    subgraph's limits (services/common/limits.py), before graphql-core validates it: the measure is
    linear in the document, while validating a fragment bomb is not.

    With a `DocumentCache` (one per schema), a document seen before is neither parsed, measured
    nor validated again: its parsed form, measure and successful validation are reused, and the
    limits are checked against the measure on every request."""

    def __init__(self, *, settings: Settings, cache: DocumentCache | None = None):
        self.settings = settings
        self.cache = cache
        self._entry: _Cached | None = None

    def on_parse(self):
        ec = self.execution_context
        if self.cache is not None and ec.graphql_document is None:
            self._entry = self.cache.get(ec.query)
            if self._entry is not None:
                ec.graphql_document = self._entry.document
        yield
        if self.cache is not None and self._entry is None and ec.graphql_document is not None and ec.query:
            self._entry = self.cache.put(ec.query, ec.graphql_document)

    def on_validate(self):
        ec = self.execution_context
        entry = self._entry if self._entry is not None and self._entry.document is ec.graphql_document else None
        rules = None
        if ec.graphql_document is not None and ec.pre_execution_errors is None:
            if entry is not None:
                m = entry.measure(ec.schema._schema, ec.operation_name, ec.variables)
            else:
                m = measure(ec.schema._schema, ec.graphql_document, ec.operation_name, ec.variables)
            problem = m and self.problem(m, getattr(ec.context, "settings", None) or self.settings)
            if problem:
                code = (
                    "COST_ESTIMATED_TOO_EXPENSIVE"
                    if problem.startswith("estimated cost")
                    else "GRAPHQL_VALIDATION_FAILED"
                )
                ec.pre_execution_errors = [GraphQLError(f"Document refused: {problem}", extensions={"code": code})]
            elif entry is not None:
                rules = tuple(ec.validation_rules)
                if rules in entry.valid:
                    ec.pre_execution_errors = []  # validated before with these rules: graphql-core skips it
                    rules = None
        yield
        if rules is not None and ec.pre_execution_errors == []:
            entry.valid.add(rules)

    @staticmethod
    def problem(m, s: Settings) -> str | None:
        for what, value, limit in (
            ("fields after expanding fragments", m.fields, s.max_fields),
            ("depth", m.depth, s.max_depth),
            ("aliases", m.aliases, s.max_aliases),
            ("directives", m.directives, s.max_directives),
            ("copies of one field in a selection set", m.duplicates, s.max_duplicate_fields),
            ("estimated cost", m.cost, s.max_cost),
        ):
            if limit and value > limit:
                return f"{what} {value} exceeds the limit of {limit}"
        return None


class NoSuggestions(SchemaExtension):
    """Outside development, no "Did you mean …?" in any error (they would teach the schema)."""

    def on_operation(self):
        yield
        ec = self.execution_context
        settings = getattr(ec.context, "settings", None)
        if settings is None or settings.development:
            return
        for error in (ec.result.errors or []) if ec.result else []:
            if "Did you mean" in error.message:
                error.message = SUGGESTION.sub("", error.message).strip()


class PortalIntrospectionGuard(SchemaExtension):
    """Outside development, partner and customer tokens cannot introspect the subgraph (nor read
    its SDL through `_service`), even when they reach it directly."""

    def on_operation(self):
        ec = self.execution_context
        principal = getattr(ec.context, "principal", None)
        if principal is not None and principal.is_portal and not ec.context.settings.development:
            ec.validation_rules = (*ec.validation_rules, NoSchemaIntrospectionCustomRule, _NoServiceSDL)
        yield


class _NoServiceSDL(ValidationRule):
    def enter_field(self, node, *_):
        if node.name.value == "_service":
            self.report_error(GraphQLError("GraphQL introspection has been disabled", [node]))


class _Schema(strawberry.federation.Schema):
    def process_errors(self, errors, execution_context=None) -> None:
        # Client mistakes (syntax, validation, bad arguments) are answered, not logged as
        # failures; unexpected resolver errors are logged once, with a reference, by _should_mask.
        return None

    def entities_resolver(self, info: Info, representations: list[FederationAny]) -> list[FederationAny]:
        """`_entities`, for representations of this subgraph's entities only: each names an entity
        type that has a reference resolver and carries exactly its key, `id`, as a string.
        Anything else is a typed error for the whole call (the router never sends it)."""
        for index, rep in enumerate(representations):
            problem = self._bad_representation(rep)
            if problem:
                raise GraphQLError(f"representations[{index}]: {problem}", extensions={"code": "BAD_USER_INPUT"})
        return super().entities_resolver(info, representations)

    def _bad_representation(self, rep) -> str | None:
        if not isinstance(rep, dict):
            return "a representation is an object"
        typename = rep.get("__typename")
        graphql_type = self.schema_converter.type_map.get(typename) if isinstance(typename, str) else None
        origin = getattr(getattr(graphql_type, "definition", None), "origin", None)
        if origin is None or not hasattr(origin, "resolve_reference"):
            return f"{str(typename)[:64]!r} is not an entity of this subgraph"
        if set(rep) != {"__typename", "id"} or not isinstance(rep["id"], str):
            return f"a {typename} representation is {{__typename, id}} with a string id"
        return None


def build_schema(
    query, mutation=None, types: Sequence[type] = (), settings: Settings | None = None
) -> strawberry.federation.Schema:
    """A subgraph schema with its limits; refuses a schema where a field lacks a role rule."""
    s = settings or Settings(service="schema")
    cache = DocumentCache()
    schema = _Schema(
        query=query,
        mutation=mutation,
        types=list(types),
        federation_version="2.9",
        extensions=[
            mask_errors,
            lambda: MaxTokensLimiter(max_token_count=s.max_tokens),
            lambda: DocumentLimits(settings=s, cache=cache),
            PortalIntrospectionGuard,
            NoSuggestions,
        ],
    )
    check_rules(schema)
    schema.document_cache = cache
    return schema
