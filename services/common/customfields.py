"""Custom fields: the one generic mechanism every service uses for the fields admins add without
code (docs/customfields.md). No domain rule here: which entities exist, who may define fields and
where definitions come from is each service's business.

- A **definition** (a plain dict): `key` (stable, `[a-z][a-z0-9_]*`), `entity`, `label`, `kind`
  (text, number, money, date, boolean, select, multiselect), `required`, `default`, `help`,
  `options` (select kinds: `{"value", "label", "retired"}`), `currency` (money), `active`.
- A record's values live in the record under `custom`: `{key: stored value}` with
  text → str, number → int/float, money → int minor units (the definition's currency), date →
  "YYYY-MM-DD", boolean → bool, select → the option value, multiselect → `{option_key(value): value,
  ...}` (a map, so one option is filterable as `custom.<key>.<option key>` on every store; the map's
  keys are hashes because option values are free text, "Gold Plus" or "v1.2", and a stored field
  name may hold neither spaces nor dots nor a leading "$").
- `parse`: text from a user, an import cell or an API input → the stored value, or InputError.
- `apply`: a record's values with some changed (validated, required kept) → the new `custom` map.
- `view`: the typed list a client sees (label, kind, value as text, plus typed members), in the
  definitions' order; values of retired definitions are kept in the record but not shown.
- `filter_clause` / `sort_spec`: store filter and sort on a custom field.

Retiring never rewrites stored values: a retired definition's values stay in the record (not shown,
not writable, restored when the definition is reactivated); a retired option stays a valid stored
value (shown with its label and `retired`), refused for new writes."""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import re
from typing import Any

from .errors import ErrorCode, InputError
from .money import from_minor, parse_currency, parse_money
from .values import EARLIEST, LATEST, clean_text

# a definition as its owner publishes it (`contacts.customfield.created/updated`) and replicas keep it
DEFINITION_FIELDS = (
    "key",
    "entity",
    "label",
    "kind",
    "required",
    "default",
    "help",
    "options",
    "currency",
    "active",
    "position",
)
KINDS = ("text", "number", "money", "date", "boolean", "select", "multiselect")
SELECTS = ("select", "multiselect")
KEY = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
MAX_FIELDS = 100
MAX_OPTIONS = 200
MAX_TEXT = 2000
TRUE = {"true", "yes", "y", "1", "ja", "oui", "x"}
FALSE = {"false", "no", "n", "0", "nein", "non", ""}


def option_key(value: str) -> str:
    """The stored key of a multi-select option: store field names allow only [A-Za-z0-9_] (and
    MongoDB reads "." and a leading "$" as operators), option values are free text, so the hash of
    the value folded as options compare (case, runs of white space)."""
    return "o" + hashlib.sha1(" ".join(value.split()).casefold().encode()).hexdigest()[:16]


def options_of(value: dict) -> list[str]:
    """The option values of a stored multi-select map."""
    return [v for v in value.values() if isinstance(v, str)]


def _err(message: str, field: str) -> InputError:
    return InputError(ErrorCode.INVALID, message, ["input", field])


def check_options(options: list[tuple[str, str | None]], field: str = "options") -> list[dict]:
    out, seen = [], set()
    for value, label in options:
        v = clean_text(value, field, required=True, max_len=100)
        if v.casefold() in seen:
            raise _err(f"option {v!r} is listed twice", field)
        seen.add(v.casefold())
        out.append({"value": v, "label": clean_text(label, field, max_len=200) or v, "retired": False})
    if len(out) > MAX_OPTIONS:
        raise _err(f"at most {MAX_OPTIONS} options", field)
    return out


def check_definition(
    *,
    key: str,
    entity: str,
    label: str,
    kind: str,
    required: bool = False,
    default: str | None = None,
    help: str | None = None,
    options: list[tuple[str, str | None]] | None = None,
    currency: str | None = None,
) -> dict:
    """A new definition, validated (the default too), or InputError."""
    if not KEY.match(key or ""):
        raise _err("key: a lower-case letter, then letters, digits or _ (at most 40)", "key")
    if kind not in KINDS:
        raise _err(f"kind must be one of {', '.join(KINDS)}", "kind")
    d: dict[str, Any] = {
        "key": key,
        "entity": entity,
        "label": clean_text(label, "label", required=True),
        "kind": kind,
        "required": bool(required),
        "help": clean_text(help, "help", max_len=1000) or None,
        "options": [],
        "currency": None,
        "active": True,
        "default": None,
    }
    if kind in SELECTS:
        d["options"] = check_options(options or [])
        if not d["options"]:
            raise _err("a select field needs options", "options")
    elif options:
        raise _err("only select fields have options", "options")
    if kind == "money":
        if not currency:
            raise _err("a money field needs a currency", "currency")
        d["currency"] = parse_currency(currency)
    if default not in (None, ""):
        d["default"] = parse(d, default, field="default")
    return d


def parse(defn: dict, raw: Any, *, field: str | None = None) -> Any:
    """The stored value of `raw` (text, or a typed value) for this definition; None for empty.
    Refuses what does not fit the kind, and select options that do not exist or are retired."""
    name = field or defn["key"]
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    kind = defn["kind"]
    text = raw.strip() if isinstance(raw, str) else raw
    if kind == "text":
        return clean_text(str(text), name, max_len=MAX_TEXT)
    if kind == "number":
        try:
            n = decimal.Decimal(str(text).replace(",", ".")) if isinstance(text, str) else decimal.Decimal(text)
        except (decimal.InvalidOperation, ValueError, TypeError):
            raise _err(f"{name}: {raw!r} is not a number", name) from None
        if not n.is_finite() or abs(n) >= 10**15:
            raise _err(f"{name}: {raw!r} is out of range", name)
        return int(n) if n == n.to_integral_value() else float(n)
    if kind == "money":
        try:
            amount = decimal.Decimal(str(text).replace(",", "."))
        except (decimal.InvalidOperation, ValueError):
            raise _err(f"{name}: {raw!r} is not an amount", name) from None
        if not amount.is_finite():
            raise _err(f"{name}: {raw!r} is not an amount", name)
        try:
            minor, _ = parse_money(amount, defn["currency"], name)
        except InputError as exc:
            raise _err(f"{name}: {exc.message}", name) from None
        return minor
    if kind == "date":
        try:
            d = text if isinstance(text, dt.date) else dt.date.fromisoformat(str(text)[:10])
        except ValueError:
            raise _err(f"{name}: {raw!r} is not a date (YYYY-MM-DD)", name) from None
        if not EARLIEST.date() <= d <= LATEST.date():
            raise _err(f"{name}: {raw!r} is out of range", name)
        return d.isoformat()
    if kind == "boolean":
        if isinstance(text, bool):
            return text
        t = str(text).casefold()
        if t in TRUE:
            return True
        if t in FALSE:
            return False
        raise _err(f"{name}: {raw!r} is not yes or no", name)
    live = {o["value"].casefold(): o["value"] for o in defn["options"] if not o.get("retired")}
    if kind == "select":
        v = live.get(str(text).casefold())
        if v is None:
            raise _err(f"{name}: {raw!r} is not one of {', '.join(live.values())}", name)
        return v
    values = text if isinstance(text, list) else [p for p in re.split(r"[;|,]", str(text)) if p.strip()]
    out = {}
    for p in values:
        v = live.get(str(p).strip().casefold())
        if v is None:
            raise _err(f"{name}: {p!r} is not one of {', '.join(live.values())}", name)
        out[option_key(v)] = v
    return out or None


def apply(defs: list[dict], current: dict | None, raw: dict[str, Any], *, creating: bool) -> dict:
    """The record's `custom` map after setting the `raw` values (key → text or typed value; None or
    "" clears). Unknown or retired keys are refused; a required field may not end up empty (on
    creation its default fills it). Values of other keys, retired ones included, are kept."""
    by_key = {d["key"]: d for d in defs}
    out = dict(current or {})
    for key, value in raw.items():
        d = by_key.get(key)
        if d is None or not d.get("active", True):
            raise InputError(ErrorCode.INVALID, f"no custom field {key!r}", ["input", key])
        v = parse(d, value)
        if v is None:
            out.pop(key, None)
        else:
            out[key] = v
    for d in defs:
        if not d.get("active", True):
            continue
        if creating and d["key"] not in out and d.get("default") is not None:
            out[d["key"]] = d["default"]
        if d.get("required") and out.get(d["key"]) in (None, {}) and (creating or d["key"] in raw):
            raise InputError(ErrorCode.INVALID, f"{d['label']} is required", ["input", d["key"]])
    return out


def text_of(defn: dict, value: Any) -> str | None:
    """A stored value as text (the form an import or a filter takes)."""
    if value is None:
        return None
    kind = defn["kind"]
    if kind == "boolean":
        return "true" if value else "false"
    if kind == "money":
        return str(from_minor(value, defn["currency"]))
    if kind == "multiselect":
        order = [o["value"] for o in defn["options"]]
        stored = options_of(value)
        chosen = [v for v in order if v in stored] + sorted(v for v in stored if v not in order)
        return ";".join(chosen)
    return str(value)


def view(defs: list[dict], custom: dict | None) -> list[dict]:
    """The typed list of a record's custom fields: every active definition, in order, with its
    value (the default when the record has none), as text and typed."""
    custom = custom or {}
    out = []
    for d in defs:
        if not d.get("active", True):
            continue
        stored = custom.get(d["key"])
        is_default = stored is None and d.get("default") is not None
        value = d.get("default") if is_default else stored
        labels = {o["value"]: o for o in d["options"]}
        chosen = []
        if d["kind"] == "select" and value is not None:
            chosen = [value]
        elif d["kind"] == "multiselect" and value:
            chosen = [v for v in (text_of(d, value) or "").split(";") if v]
        out.append(
            {
                "key": d["key"],
                "label": d["label"],
                "kind": d["kind"],
                "help": d.get("help"),
                "value": text_of(d, value),
                "number": value if d["kind"] == "number" else None,
                "amount_minor": value if d["kind"] == "money" else None,
                "currency": d.get("currency"),
                "date": value if d["kind"] == "date" else None,
                "boolean": value if d["kind"] == "boolean" else None,
                "options": [
                    {
                        "value": v,
                        "label": labels.get(v, {}).get("label", v),
                        "retired": labels.get(v, {}).get("retired", True),
                    }
                    for v in chosen
                ],
                "is_default": is_default,
            }
        )
    return out


def filter_clause(
    defn: dict,
    *,
    eq: str | None = None,
    gte: str | None = None,
    lte: str | None = None,
    any_of: list[str] | None = None,
    is_set: bool | None = None,
) -> dict:
    """A store filter on one custom field. `eq`, `gte`, `lte` take the text form of a value
    (numbers, amounts and dates compare as such); `any_of` is any of these options; `is_set`
    whether the record has a value. Option values of retired options still filter."""
    path = f"custom.{defn['key']}"
    kind = defn["kind"]
    clauses: list[dict] = []
    as_filter = {**defn, "options": [{**o, "retired": False} for o in defn["options"]]}  # retired options still filter

    def value(text: str, what: str) -> Any:
        return parse(as_filter, text, field=what)

    if kind == "multiselect":
        opts = [*(any_of or []), *([eq] if eq is not None else [])]
        if opts:
            keys = list((value(";".join(opts), "anyOf") or {}).keys())
            clauses.append(
                {"$or": [{f"{path}.{k}": {"$exists": True}} for k in keys]}
                if len(keys) > 1
                else {f"{path}.{keys[0]}": {"$exists": True}}
            )
        if gte is not None or lte is not None:
            raise InputError(ErrorCode.INVALID, "a multi-select field has no order", ["filter", defn["key"]])
    else:
        if eq is not None:
            clauses.append({path: value(eq, "eq")})
        if any_of:
            clauses.append({path: {"$in": [value(v, "anyOf") for v in any_of]}})
        if gte is not None or lte is not None:
            if kind not in ("number", "money", "date", "text"):
                raise InputError(ErrorCode.INVALID, f"a {kind} field has no order", ["filter", defn["key"]])
            if gte is not None:
                clauses.append({path: {"$gte": value(gte, "gte")}})
            if lte is not None:
                clauses.append({path: {"$lte": value(lte, "lte")}})
    if is_set is not None:
        clauses.append({path: {"$exists": True, "$ne": None}} if is_set else {path: {"$exists": False}})
    if not clauses:
        return {}
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


def sort_spec(defn: dict, descending: bool = False) -> list[tuple[str, int]]:
    """The store sort on a custom field (a multi-select field has no order)."""
    if defn["kind"] == "multiselect":
        raise InputError(ErrorCode.INVALID, "a multi-select field has no order", ["sort", defn["key"]])
    return [(f"custom.{defn['key']}", -1 if descending else 1)]


def retire_option(defn: dict, value: str) -> dict:
    """The definition with one option retired (kept, so stored values keep their label)."""
    found = False
    options = []
    for o in defn["options"]:
        if o["value"].casefold() == value.strip().casefold():
            found = True
            o = {**o, "retired": True}
        options.append(o)
    if not found:
        raise _err(f"no option {value!r}", "removeOptions")
    if all(o["retired"] for o in options):
        raise _err("a select field keeps at least one option", "removeOptions")
    out = {**defn, "options": options}
    if (
        defn["kind"] == "select"
        and defn.get("default")
        and not any(o["value"] == defn["default"] and not o["retired"] for o in options)
    ):
        out["default"] = None
    if defn["kind"] == "multiselect" and defn.get("default"):
        live = {o["value"] for o in options if not o["retired"]}
        kept = {k: v for k, v in defn["default"].items() if v in live}
        out["default"] = kept or None
    return out
