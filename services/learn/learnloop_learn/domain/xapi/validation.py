"""xAPI statement validation: the Data part of the spec (xAPI 1.0.3 and 2.0.0 / IEEE 9274.1.1). Pure, no I/O.

Every ``validate_*`` function either returns (the value it checked) or raises
:class:`~learnloop_learn.domain.xapi.errors.InvalidStatement` whose text starts with the JSON path of the
first offending value, e.g. ``actor.mbox: must be a mailto: IRI with an email address``. Nothing is
changed: the LRS stores what it was given, except for :func:`normalise`, which only turns single
``contextActivities`` objects into arrays (in place).

Invariants a caller may rely on after :func:`validate_statement` returned:

- the statement has exactly the properties the spec names for its version (no unknown property anywhere
  outside extension values), and none of them is ``null`` (extension values may be);
- ``actor``, ``verb`` and ``object`` are present; every Agent and identified Group has exactly one
  inverse functional identifier; ``id`` (when given) and every StatementRef ``id`` are UUID strings;
- a voiding statement (verb :data:`VOIDED_VERB`) has a StatementRef object;
- strings, arrays, maps and extension values are within the limits below.

It is on the ingestion hot path: plain functions, precompiled regular expressions, no per-call objects
beyond the path strings of the values it descends into.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import Any, Final

from learnloop_learn.domain.xapi.errors import InvalidStatement

VERSIONS: Final = ("1.0.3", "2.0.0")
"""The xAPI versions the LRS speaks (the ``X-Experience-API-Version`` header picks one)."""

VOIDED_VERB: Final = "http://adlnet.gov/expapi/verbs/voided"
"""A statement with this verb voids the statement its StatementRef object names."""

MAX_STRING_CHARS: Final = 65_536
"""Longest string (characters) anywhere in a statement outside extension values: an IRI, a name, a
``result.response``, a language map value... The spec sets no limit; 64 Ki characters is far above any
real value and keeps one statement from growing without bound."""

MAX_ARRAY_ITEMS: Final = 10_000
"""Most items in one array of a statement (group members, contextActivities, interaction components,
correctResponsesPattern, attachments, contextAgents, relevantTypes...)."""

MAX_MAP_ENTRIES: Final = 1_000
"""Most entries in one language map or one extensions object."""

MAX_EXTENSION_DEPTH: Final = 32
"""Deepest nesting of arrays/objects inside one extension value (a scalar is depth 0)."""

MAX_BATCH_STATEMENTS: Final = 100_000
"""A hard upper bound on a list given to :func:`validate_statements`; the API sets its own, smaller limit."""

INTERACTION_TYPES: Final = frozenset(
    {
        "true-false",
        "choice",
        "fill-in",
        "long-fill-in",
        "matching",
        "performance",
        "sequencing",
        "likert",
        "numeric",
        "other",
    }
)
"""The spec's ``interactionType`` values (case-sensitive)."""

# Which interaction component lists each interactionType may carry (the spec's table in "Interaction Components").
_COMPONENTS_OF: Final[dict[str, frozenset[str]]] = {
    "choice": frozenset({"choices"}),
    "sequencing": frozenset({"choices"}),
    "likert": frozenset({"scale"}),
    "matching": frozenset({"source", "target"}),
    "performance": frozenset({"steps"}),
}
_NO_COMPONENTS: Final = frozenset[str]()
_COMPONENT_LISTS: Final = ("choices", "scale", "source", "target", "steps")

# --- allowed properties per object ----------------------------------------------------------------------

_STATEMENT_KEYS: Final = frozenset(
    {"id", "actor", "verb", "object", "result", "context", "timestamp", "stored", "authority", "version", "attachments"}
)
_SUBSTATEMENT_KEYS: Final = frozenset(
    {"objectType", "actor", "verb", "object", "result", "context", "timestamp", "attachments"}
)
_AGENT_KEYS: Final = frozenset({"objectType", "name", "mbox", "mbox_sha1sum", "openid", "account"})
_GROUP_KEYS: Final = frozenset({"objectType", "name", "member", "mbox", "mbox_sha1sum", "openid", "account"})
_IFI_KEYS: Final = ("mbox", "mbox_sha1sum", "openid", "account")
_ACCOUNT_KEYS: Final = frozenset({"homePage", "name"})
_VERB_KEYS: Final = frozenset({"id", "display"})
_ACTIVITY_KEYS: Final = frozenset({"objectType", "id", "definition"})
_DEFINITION_KEYS: Final = frozenset(
    {
        "name",
        "description",
        "type",
        "moreInfo",
        "interactionType",
        "correctResponsesPattern",
        "choices",
        "scale",
        "source",
        "target",
        "steps",
        "extensions",
    }
)
_COMPONENT_KEYS: Final = frozenset({"id", "description"})
_STATEMENT_REF_KEYS: Final = frozenset({"objectType", "id"})
_RESULT_KEYS: Final = frozenset({"score", "success", "completion", "response", "duration", "extensions"})
_SCORE_KEYS: Final = frozenset({"scaled", "raw", "min", "max"})
_CONTEXT_KEYS_103: Final = frozenset(
    {
        "registration",
        "instructor",
        "team",
        "contextActivities",
        "revision",
        "platform",
        "language",
        "statement",
        "extensions",
    }
)
_CONTEXT_KEYS_200: Final = _CONTEXT_KEYS_103 | {"contextAgents", "contextGroups"}
_CONTEXT_ACTIVITIES_KEYS: Final = frozenset({"parent", "grouping", "category", "other"})
_CONTEXT_AGENT_KEYS: Final = frozenset({"objectType", "agent", "relevantTypes"})
_CONTEXT_GROUP_KEYS: Final = frozenset({"objectType", "group", "relevantTypes"})
_ATTACHMENT_KEYS: Final = frozenset({"usageType", "display", "description", "contentType", "length", "sha2", "fileUrl"})

# --- lexical forms --------------------------------------------------------------------------------------

# An absolute IRI: a scheme (RFC 3987 / 3986 `scheme`), a colon, then no whitespace and none of the
# characters an IRI can never hold unescaped.
_IRI_RE: Final = re.compile(r'[A-Za-z][A-Za-z0-9+.\-]*:[^\s<>"{}|\\^`]*')
_MAILTO_RE: Final = re.compile(r'mailto:[^@\s<>"]+@[^@\s<>"]+')
_SHA1_RE: Final = re.compile(r"[0-9a-fA-F]{40}")
_SHA2_RE: Final = re.compile(r"[0-9a-fA-F]{56}|[0-9a-fA-F]{64}|[0-9a-fA-F]{96}|[0-9a-fA-F]{128}")
_UUID_RE: Final = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
# RFC 6838 / 9110 media type: type "/" subtype, then optional parameters.
_MEDIA_TYPE_RE: Final = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+/[!#$%&'*+.^_`|~0-9A-Za-z-]+[ \t]*(?:;.*)?", re.DOTALL)
_VERSION_103_RE: Final = re.compile(r"1\.0(?:\.[0-9]+)?")
_VERSION_200_RE: Final = re.compile(r"(?:1\.0|2\.0)(?:\.[0-9]+)?")

# RFC 5646 `Language-Tag` (section 2.1 ABNF), case-insensitive: langtag / privateuse / grandfathered.
_LANGTAG: Final = (
    r"(?:[a-z]{2,3}(?:-[a-z]{3}){0,3}|[a-z]{4}|[a-z]{5,8})"  # language ["-" extlang]
    r"(?:-[a-z]{4})?"  # script
    r"(?:-(?:[a-z]{2}|[0-9]{3}))?"  # region
    r"(?:-(?:[a-z0-9]{5,8}|[0-9][a-z0-9]{3}))*"  # variants
    r"(?:-[0-9a-wyz](?:-[a-z0-9]{2,8})+)*"  # extensions
    r"(?:-x(?:-[a-z0-9]{1,8})+)?"  # privateuse
)
_GRANDFATHERED: Final = (
    "en-GB-oed|i-ami|i-bnn|i-default|i-enochian|i-hak|i-klingon|i-lux|i-mingo|i-navajo|i-pwn|i-tao|i-tay|i-tsu"
    "|sgn-BE-FR|sgn-BE-NL|sgn-CH-DE|art-lojban|cel-gaulish|no-bok|no-nyn|zh-guoyu|zh-hakka|zh-min|zh-min-nan|zh-xiang"
)
_LANGUAGE_TAG_RE: Final = re.compile(rf"{_LANGTAG}|x(?:-[a-z0-9]{{1,8}})+|{_GRANDFATHERED}", re.IGNORECASE)
_MAX_TAG_CHARS: Final = 256
# Tags found valid so far: a statement stream repeats a handful of tags ("en-US"), and a set lookup is
# cheaper than the expression. Bounded: cleared when full, so hostile input cannot grow it.
_KNOWN_TAGS: set[str] = set()
_KNOWN_TAGS_MAX: Final = 4096

# ISO 8601:2004(E) 4.4.3.2 durations: PnYnMnDTnHnMnS (each part optional, at least one, a decimal fraction
# allowed) or PnW. The alternative format (P0003-01-29T04:35:59) is not allowed.
_NUM: Final = r"[0-9]+(?:[.,][0-9]+)?"
_DURATION_RE: Final = re.compile(
    rf"P(?:{_NUM}W|(?=[0-9]|T[0-9])(?:{_NUM}Y)?(?:{_NUM}M)?(?:{_NUM}D)?(?:T(?=[0-9])(?:{_NUM}H)?(?:{_NUM}M)?(?:{_NUM}S)?)?)"
)

# Timestamps. ISO 8601 extended (2015-01-31T12:30:00.123+01:00) or basic (20150131T123000Z), a time is
# required, the offset optional (the LRS reads a missing one as UTC); " " is accepted for "T" as RFC 3339
# allows. RFC 3339 (xAPI 2.0.0): extended only, seconds and an offset required.
_TZ: Final = r"(Z|z|[+-][0-9]{2}(?::?[0-9]{2})?)"
_ISO_EXTENDED_RE: Final = re.compile(
    rf"([0-9]{{4}})-([0-9]{{2}})-([0-9]{{2}})[Tt ]([0-9]{{2}}):([0-9]{{2}})(?::([0-9]{{2}})(?:[.,]([0-9]+))?)?{_TZ}?"
)
_ISO_BASIC_RE: Final = re.compile(
    rf"([0-9]{{4}})([0-9]{{2}})([0-9]{{2}})T([0-9]{{2}})([0-9]{{2}})(?:([0-9]{{2}})(?:[.,]([0-9]+))?)?{_TZ}?"
)
_RFC3339_RE: Final = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt ]([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]+))?(Z|z|[+-][0-9]{2}:[0-9]{2})"
)
_DAYS_IN_MONTH: Final = (0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


# --- small helpers --------------------------------------------------------------------------------------


def _fail(path: str, reason: str) -> InvalidStatement:
    return InvalidStatement(f"{path}: {reason}" if path else reason)


def _type_fail(path: str, expected: str, value: object) -> InvalidStatement:
    if value is None:
        return _fail(path, f"must be {expected}, not null")
    return _fail(path, f"must be {expected}, not {_json_type(value)}")


def _json_type(value: object) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _check_keys(obj: dict[str, Any], allowed: frozenset[str], path: str) -> None:
    if not allowed.issuperset(obj):
        unknown = sorted(k for k in obj if k not in allowed)
        where = f"{path}." if path else ""
        allowed_list = ", ".join(sorted(allowed))
        raise _fail(f"{where}{unknown[0]}", f"is not a property the spec allows here (allowed: {allowed_list})")


def _object(value: object, path: str) -> dict[str, Any]:
    if type(value) is not dict:
        raise _type_fail(path, "an object", value)
    return value


def _array(value: object, path: str, *, non_empty: bool = False) -> list[Any]:
    if type(value) is not list:
        raise _type_fail(path, "an array", value)
    if len(value) > MAX_ARRAY_ITEMS:
        raise _fail(path, f"holds {len(value)} items, at most {MAX_ARRAY_ITEMS} are accepted")
    if non_empty and not value:
        raise _fail(path, "must not be empty")
    return value


def _string(value: object, path: str) -> str:
    if type(value) is not str:
        raise _type_fail(path, "a string", value)
    if len(value) > MAX_STRING_CHARS:
        raise _fail(path, f"is {len(value)} characters long, at most {MAX_STRING_CHARS} are accepted")
    return value


def _iri(value: object, path: str) -> str:
    if type(value) is not str:
        raise _type_fail(path, "an IRI string", value)
    if len(value) > MAX_STRING_CHARS:
        raise _fail(path, f"is {len(value)} characters long, at most {MAX_STRING_CHARS} are accepted")
    if _IRI_RE.fullmatch(value) is None:
        raise _fail(path, f"must be an absolute IRI with a scheme, not {value[:200]!r}")
    return value


def _boolean(value: object, path: str) -> bool:
    if type(value) is not bool:
        raise _type_fail(path, "true or false", value)
    return value


def _number(value: object, path: str) -> float:
    # bool is an int in Python but never a JSON number.
    if type(value) is bool or not isinstance(value, int | float):
        raise _type_fail(path, "a number", value)
    try:
        number = float(value)
    except OverflowError:  # a JSON integer beyond a double's range
        raise _fail(path, "is out of range") from None
    if number != number or number in (float("inf"), float("-inf")):
        raise _fail(path, "must be a finite number")
    return number


def _expect_object_type(obj: dict[str, Any], expected: str, path: str) -> None:
    got = obj.get("objectType")
    if got != expected:
        raise _fail(f"{path}.objectType", f"must be {expected!r}, not {got!r}")


# --- public single-value checks -------------------------------------------------------------------------


def validate_uuid(value: object, what: str) -> str:
    """A UUID string in the 8-4-4-4-12 hex form, any variant/version, either case. Returns it unchanged."""
    if type(value) is not str:
        raise _type_fail(what, "a UUID string", value)
    if _UUID_RE.fullmatch(value) is None:
        raise _fail(what, f"must be a UUID (8-4-4-4-12 hex digits), not {value[:100]!r}")
    return value


def validate_activity_id(value: object, what: str = "activityId") -> str:
    """An Activity id: an absolute IRI (a scheme, then no whitespace). Returns it unchanged."""
    return _iri(value, what)


def validate_timestamp(value: object, what: str, *, rfc3339: bool = False) -> str:
    """An ISO 8601 date and time as xAPI requires (``timestamp``, ``stored``, ``since``, ``until``).

    Extended (``2015-01-31T12:30:00.123+01:00``) or basic (``20150131T123000Z``) form, a time of day
    required, the offset optional (``Z``, ``±HH``, ``±HHMM``, ``±HH:MM``; a missing one means UTC); the
    negative zero offsets ``-00``, ``-0000``, ``-00:00`` are refused as the spec says. With ``rfc3339``
    (statements under xAPI 2.0.0) the value must also be an RFC 3339 ``date-time``: extended form,
    seconds and an offset. Calendar values are checked (month 1-12, the month's days, 23:59:60 at most).
    """
    if type(value) is not str:
        raise _type_fail(what, "an ISO 8601 timestamp string", value)
    _timestamp_parts(value, what, rfc3339)
    return value


def _timestamp_parts(value: str, what: str, rfc3339: bool) -> tuple[str | None, ...]:
    """The groups (year, month, day, hour, minute, second, fraction, offset) of a valid timestamp."""
    if type(value) is not str:
        raise _type_fail(what, "an ISO 8601 timestamp string", value)
    if rfc3339:
        m = _RFC3339_RE.fullmatch(value)
    elif len(value) > 4 and value[4] == "-":
        m = _ISO_EXTENDED_RE.fullmatch(value)
    else:
        m = _ISO_BASIC_RE.fullmatch(value)
    if m is None:
        form = "an RFC 3339 date-time with an offset" if rfc3339 else "an ISO 8601 date and time"
        raise _fail(what, f"must be {form} (e.g. 2015-01-31T12:30:00.000Z), not {value[:100]!r}")
    year, month, day, hour, minute, second, _fraction, tz = m.groups()
    mo, d = int(month), int(day)
    if not 1 <= mo <= 12 or not 1 <= d <= _DAYS_IN_MONTH[mo] or (mo == 2 and d == 29 and not _leap(int(year))):
        raise _fail(what, f"names no calendar date: {value[:100]!r}")
    if int(hour) > 23 or int(minute) > 59 or (second is not None and int(second) > 60):
        raise _fail(what, f"names no time of day: {value[:100]!r}")
    if tz is not None and tz[0] in "+-" and len(tz) > 1:
        if tz[0] == "-" and tz[1:].replace(":", "").strip("0") == "":
            raise _fail(what, "must not use a negative zero offset (-00, -0000, -00:00): write Z or +00:00")
        digits = tz[1:].replace(":", "")
        if int(digits[:2]) > 23 or (len(digits) == 4 and int(digits[2:]) > 59):
            raise _fail(what, f"has no valid offset: {value[:100]!r}")
    return m.groups()


def utc_timestamp(value: str) -> str:
    """A timestamp :func:`validate_timestamp` accepted, as UTC in the RFC 3339 form the LRS returns
    (``2023-05-04T17:00:00.123Z``): xAPI 2.0.0 has the LRS convert timestamps to UTC rather than reject
    other offsets. A missing offset means UTC; the fraction of a second is kept digit for digit; a leap
    second (``:60``) becomes ``:59``."""
    year, month, day, hour, minute, second, fraction, tz = _timestamp_parts(value, "timestamp", False)
    try:
        at = datetime(int(year or 0), int(month or 0), int(day or 0), int(hour or 0), int(minute or 0))
        at = at.replace(second=min(int(second or 0), 59), tzinfo=_offset(tz)).astimezone(UTC)
    except (ValueError, OverflowError):  # year 0000, or an offset that crosses year 1 / 9999: keep as sent
        return value
    text = at.strftime("%Y-%m-%dT%H:%M:%S")
    return f"{text}.{fraction}Z" if fraction else f"{text}Z"


def _offset(tz: str | None) -> tzinfo:
    if tz is None or tz in ("Z", "z"):
        return UTC
    digits = tz[1:].replace(":", "")
    minutes = int(digits[:2]) * 60 + (int(digits[2:]) if len(digits) == 4 else 0)
    return timezone(timedelta(minutes=-minutes if tz[0] == "-" else minutes))


def _leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def validate_duration(value: object, what: str) -> str:
    """An ISO 8601:2004(E) 4.4.3.2 duration (``PT1H30M``, ``P3Y1M29DT4H35M59.14S``, ``P4W``)."""
    if type(value) is not str:
        raise _type_fail(what, "an ISO 8601 duration string", value)
    if _DURATION_RE.fullmatch(value) is None:
        raise _fail(what, f"must be an ISO 8601 duration such as PT1H0M0.1S, not {value[:100]!r}")
    return value


def _is_language_tag(tag: str) -> bool:
    """RFC 5646 ``Language-Tag``: the ABNF (section 2.1) plus section 2.2.5/2.2.6's rules that a variant
    and an extension singleton appear at most once."""
    if tag in _KNOWN_TAGS:
        return True
    if len(tag) > _MAX_TAG_CHARS or _LANGUAGE_TAG_RE.fullmatch(tag) is None:
        return False
    subtags = tag.lower().split("-")
    singletons: set[str] = set()
    variants: set[str] = set()
    for sub in subtags[1:]:
        if sub == "x":
            break  # private use: anything goes
        if len(sub) == 1:
            if sub in singletons:
                return False
            singletons.add(sub)
        elif not singletons and (len(sub) >= 5 or (len(sub) == 4 and sub[0].isdigit())):
            if sub in variants:
                return False
            variants.add(sub)
    if len(_KNOWN_TAGS) >= _KNOWN_TAGS_MAX:
        _KNOWN_TAGS.clear()
    _KNOWN_TAGS.add(tag)
    return True


def validate_language_tag(value: object, what: str) -> str:
    """An RFC 5646 language tag (``en``, ``en-US``, ``zh-Hant-TW``, ``x-private``...)."""
    if type(value) is not str:
        raise _type_fail(what, "an RFC 5646 language tag", value)
    if not _is_language_tag(value):
        raise _fail(what, f"must be an RFC 5646 language tag, not {value[:100]!r}")
    return value


def validate_language_map(value: object, what: str) -> dict[str, Any]:
    """A Language Map: an object with at least one entry, RFC 5646 tags to strings. Returns it unchanged."""
    obj = _object(value, what)
    if not obj:
        raise _fail(what, "a language map needs at least one entry")
    if len(obj) > MAX_MAP_ENTRIES:
        raise _fail(what, f"holds {len(obj)} entries, at most {MAX_MAP_ENTRIES} are accepted")
    for tag, text in obj.items():
        if type(tag) is not str or not _is_language_tag(tag):
            raise _fail(what, f"{str(tag)[:100]!r} is not an RFC 5646 language tag")
        if type(text) is not str:
            raise _type_fail(f"{what}.{tag}", "a string", text)
        if len(text) > MAX_STRING_CHARS:
            raise _fail(f"{what}.{tag}", f"is {len(text)} characters long, at most {MAX_STRING_CHARS} are accepted")
    return obj


def validate_extensions(value: object, what: str) -> dict[str, Any]:
    """An extensions object: IRI keys, any JSON value (null included) nested at most
    :data:`MAX_EXTENSION_DEPTH` deep."""
    obj = _object(value, what)
    if len(obj) > MAX_MAP_ENTRIES:
        raise _fail(what, f"holds {len(obj)} entries, at most {MAX_MAP_ENTRIES} are accepted")
    for key, ext in obj.items():
        if type(key) is not str or _IRI_RE.fullmatch(key) is None or len(key) > MAX_STRING_CHARS:
            raise _fail(what, f"the key {str(key)[:200]!r} is not an absolute IRI")
        if type(ext) is dict or type(ext) is list:
            _check_depth(ext, f"{what}.{key}")
    return obj


def _check_depth(value: object, path: str) -> None:
    # Iterative, so that a hostile value cannot exhaust Python's recursion limit before the cap applies.
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_EXTENSION_DEPTH:
            raise _fail(path, f"is nested more than {MAX_EXTENSION_DEPTH} levels deep")
        children = node.values() if type(node) is dict else node  # type: ignore[attr-defined]
        for child in children:  # type: ignore[attr-defined]
            if type(child) is dict or type(child) is list:
                stack.append((child, depth + 1))


# --- agents and groups ----------------------------------------------------------------------------------


def _ifis(obj: dict[str, Any], path: str) -> int:
    """Check every inverse functional identifier present; return how many there are."""
    count = 0
    if "mbox" in obj:
        mbox = obj["mbox"]
        if type(mbox) is not str:
            raise _type_fail(f"{path}.mbox", "a mailto: IRI string", mbox)
        if len(mbox) > MAX_STRING_CHARS or _MAILTO_RE.fullmatch(mbox) is None:
            raise _fail(f"{path}.mbox", f"must be a mailto: IRI with an email address, not {mbox[:200]!r}")
        count += 1
    if "mbox_sha1sum" in obj:
        sha1 = obj["mbox_sha1sum"]
        if type(sha1) is not str:
            raise _type_fail(f"{path}.mbox_sha1sum", "a string of 40 hex digits", sha1)
        if _SHA1_RE.fullmatch(sha1) is None:
            raise _fail(f"{path}.mbox_sha1sum", "must be the hex SHA-1 of a mailto: IRI (40 hex digits)")
        count += 1
    if "openid" in obj:
        _iri(obj["openid"], f"{path}.openid")
        count += 1
    if "account" in obj:
        account = _object(obj["account"], f"{path}.account")
        _check_keys(account, _ACCOUNT_KEYS, f"{path}.account")
        if "homePage" not in account:
            raise _fail(f"{path}.account.homePage", "is required")
        if "name" not in account:
            raise _fail(f"{path}.account.name", "is required")
        _iri(account["homePage"], f"{path}.account.homePage")
        _string(account["name"], f"{path}.account.name")
        count += 1
    return count


def _agent(obj: dict[str, Any], path: str) -> None:
    """An Agent (its ``objectType`` already known to be absent or ``"Agent"``)."""
    _check_keys(obj, _AGENT_KEYS, path)
    if "name" in obj:
        _string(obj["name"], f"{path}.name")
    n = _ifis(obj, path)
    if n != 1:
        raise _fail(path, f"an Agent needs exactly one of mbox, mbox_sha1sum, openid, account (it has {n})")


def _group(obj: dict[str, Any], path: str, *, identified: bool = False) -> None:
    """A Group (``objectType`` already ``"Group"``): identified (one IFI, members optional) or anonymous
    (no IFI, ``member`` required). ``identified`` refuses an anonymous one."""
    _check_keys(obj, _GROUP_KEYS, path)
    if "name" in obj:
        _string(obj["name"], f"{path}.name")
    n = _ifis(obj, path)
    if n > 1:
        raise _fail(path, f"a Group has at most one of mbox, mbox_sha1sum, openid, account (it has {n})")
    if n == 0:
        if identified:
            raise _fail(path, "must be an identified Group (one of mbox, mbox_sha1sum, openid, account)")
        if "member" not in obj:
            raise _fail(f"{path}.member", "an anonymous Group (no mbox, mbox_sha1sum, openid or account) needs members")
    if "member" in obj:
        members = _array(obj["member"], f"{path}.member")
        for i, member in enumerate(members):
            mpath = f"{path}.member[{i}]"
            m = _object(member, mpath)
            object_type = m.get("objectType", "Agent")
            if object_type != "Agent":
                raise _fail(f"{mpath}.objectType", f"a Group's members are Agents, not {object_type!r}")
            _agent(m, mpath)


def _actor(value: object, path: str) -> dict[str, Any]:
    """An Agent (``objectType`` absent or ``"Agent"``) or a Group (``"Group"``)."""
    obj = _object(value, path)
    object_type = obj.get("objectType", "Agent")
    if object_type == "Agent":
        _agent(obj, path)
    elif object_type == "Group":
        _group(obj, path)
    else:
        raise _fail(f"{path}.objectType", f"must be 'Agent' or 'Group', not {object_type!r}")
    return obj


def validate_agent(obj: object, version: str, *, what: str = "agent") -> dict[str, Any]:
    """An Agent or an identified Group, as the ``agent`` parameter of the statements, document and agents
    resources takes it (a JSON object, already parsed). Returns it unchanged."""
    _check_version(version)
    agent = _object(obj, what)
    object_type = agent.get("objectType", "Agent")
    if object_type == "Agent":
        _agent(agent, what)
    elif object_type == "Group":
        _group(agent, what, identified=True)
    else:
        raise _fail(f"{what}.objectType", f"must be 'Agent' or 'Group', not {object_type!r}")
    return agent


def _authority(value: object, path: str) -> None:
    """An Agent, or (OAuth: consumer and user) an anonymous Group of exactly two Agents."""
    obj = _object(value, path)
    object_type = obj.get("objectType", "Agent")
    if object_type == "Agent":
        _agent(obj, path)
    elif object_type == "Group":
        _group(obj, path)
        if any(k in obj for k in _IFI_KEYS) or len(obj["member"]) != 2:
            raise _fail(path, "an authority Group must be anonymous with exactly two members (OAuth consumer and user)")
    else:
        raise _fail(f"{path}.objectType", f"must be 'Agent' or 'Group', not {object_type!r}")


# --- verb, activity, statement references --------------------------------------------------------------


def _verb(value: object, path: str) -> str:
    obj = _object(value, path)
    _check_keys(obj, _VERB_KEYS, path)
    if "id" not in obj:
        raise _fail(f"{path}.id", "is required")
    verb_id = _iri(obj["id"], f"{path}.id")
    if "display" in obj:
        validate_language_map(obj["display"], f"{path}.display")
    return verb_id


def _activity(obj: dict[str, Any], path: str) -> None:
    """An Activity (``objectType`` already absent or ``"Activity"``)."""
    _check_keys(obj, _ACTIVITY_KEYS, path)
    if "id" not in obj:
        raise _fail(f"{path}.id", "is required")
    _iri(obj["id"], f"{path}.id")
    if "definition" in obj:
        _definition(obj["definition"], f"{path}.definition")


def _definition(value: object, path: str) -> None:
    d = _object(value, path)
    _check_keys(d, _DEFINITION_KEYS, path)
    if "name" in d:
        validate_language_map(d["name"], f"{path}.name")
    if "description" in d:
        validate_language_map(d["description"], f"{path}.description")
    if "type" in d:
        _iri(d["type"], f"{path}.type")
    if "moreInfo" in d:
        _iri(d["moreInfo"], f"{path}.moreInfo")
    if "extensions" in d:
        validate_extensions(d["extensions"], f"{path}.extensions")
    interaction = d.get("interactionType")
    if interaction is None:
        if "interactionType" in d:
            raise _type_fail(f"{path}.interactionType", "a string", None)
        for key in ("correctResponsesPattern", *_COMPONENT_LISTS):
            if key in d:
                raise _fail(f"{path}.{key}", "is only allowed with an interactionType")
        return
    if type(interaction) is not str or interaction not in INTERACTION_TYPES:
        raise _fail(
            f"{path}.interactionType",
            f"must be one of {', '.join(sorted(INTERACTION_TYPES))}, not {interaction!r}",
        )
    if "correctResponsesPattern" in d:
        crp = _array(d["correctResponsesPattern"], f"{path}.correctResponsesPattern")
        for i, pattern in enumerate(crp):
            _string(pattern, f"{path}.correctResponsesPattern[{i}]")
    allowed = _COMPONENTS_OF.get(interaction, _NO_COMPONENTS)
    for key in _COMPONENT_LISTS:
        if key in d:
            if key not in allowed:
                raise _fail(f"{path}.{key}", f"is not allowed with interactionType {interaction!r}")
            _components(d[key], f"{path}.{key}")


def _components(value: object, path: str) -> None:
    items = _array(value, path)
    seen: set[str] = set()
    for i, item in enumerate(items):
        ipath = f"{path}[{i}]"
        c = _object(item, ipath)
        _check_keys(c, _COMPONENT_KEYS, ipath)
        if "id" not in c:
            raise _fail(f"{ipath}.id", "is required")
        cid = _string(c["id"], f"{ipath}.id")
        if not cid.strip():
            raise _fail(f"{ipath}.id", "must not be empty")
        if cid in seen:
            raise _fail(f"{ipath}.id", f"{cid[:100]!r} is used twice: interaction component ids are unique")
        seen.add(cid)
        if "description" in c:
            validate_language_map(c["description"], f"{ipath}.description")


def _statement_ref(obj: dict[str, Any], path: str) -> None:
    _check_keys(obj, _STATEMENT_REF_KEYS, path)
    _expect_object_type(obj, "StatementRef", path)
    if "id" not in obj:
        raise _fail(f"{path}.id", "is required")
    validate_uuid(obj["id"], f"{path}.id")


def _object_property(value: object, path: str, version: str, *, sub: bool) -> str:
    """The statement's ``object``; returns its objectType (``"Activity"`` when absent)."""
    obj = _object(value, path)
    object_type = obj.get("objectType", "Activity")
    if object_type == "Activity":
        _activity(obj, path)
    elif object_type == "Agent":
        _agent(obj, path)
    elif object_type == "Group":
        _group(obj, path)
    elif object_type == "StatementRef":
        _statement_ref(obj, path)
    elif object_type == "SubStatement":
        if sub:
            raise _fail(f"{path}.objectType", "a SubStatement cannot hold another SubStatement")
        _statement_body(obj, path, version, sub=True)
    else:
        raise _fail(
            f"{path}.objectType",
            f"must be 'Activity', 'Agent', 'Group', 'StatementRef' or 'SubStatement', not {object_type!r}",
        )
    return object_type  # type: ignore[no-any-return]


# --- result, context, attachments -----------------------------------------------------------------------


def _result(value: object, path: str) -> None:
    r = _object(value, path)
    _check_keys(r, _RESULT_KEYS, path)
    if "score" in r:
        _score(r["score"], f"{path}.score")
    if "success" in r:
        _boolean(r["success"], f"{path}.success")
    if "completion" in r:
        _boolean(r["completion"], f"{path}.completion")
    if "response" in r:
        _string(r["response"], f"{path}.response")
    if "duration" in r:
        validate_duration(r["duration"], f"{path}.duration")
    if "extensions" in r:
        validate_extensions(r["extensions"], f"{path}.extensions")


def _score(value: object, path: str) -> None:
    s = _object(value, path)
    _check_keys(s, _SCORE_KEYS, path)
    if "scaled" in s:
        scaled = _number(s["scaled"], f"{path}.scaled")
        if not -1.0 <= scaled <= 1.0:
            raise _fail(f"{path}.scaled", f"must be between -1 and 1, not {scaled}")
    low = _number(s["min"], f"{path}.min") if "min" in s else None
    high = _number(s["max"], f"{path}.max") if "max" in s else None
    if low is not None and high is not None and not low < high:
        raise _fail(path, f"min ({low}) must be less than max ({high})")
    if "raw" in s:
        raw = _number(s["raw"], f"{path}.raw")
        if low is not None and raw < low:
            raise _fail(f"{path}.raw", f"must not be below min ({raw} < {low})")
        if high is not None and raw > high:
            raise _fail(f"{path}.raw", f"must not be above max ({raw} > {high})")


def _context(value: object, path: str, version: str, object_type: str) -> None:
    c = _object(value, path)
    _check_keys(c, _CONTEXT_KEYS_200 if version == "2.0.0" else _CONTEXT_KEYS_103, path)
    if "registration" in c:
        validate_uuid(c["registration"], f"{path}.registration")
    if "instructor" in c:
        _actor(c["instructor"], f"{path}.instructor")
    if "team" in c:
        team = _object(c["team"], f"{path}.team")
        _expect_object_type(team, "Group", f"{path}.team")
        _group(team, f"{path}.team")
    if "contextActivities" in c:
        _context_activities(c["contextActivities"], f"{path}.contextActivities")
    for key in ("revision", "platform"):
        if key in c:
            _string(c[key], f"{path}.{key}")
            if object_type != "Activity":
                raise _fail(f"{path}.{key}", "is only allowed when the statement's object is an Activity")
    if "language" in c:
        validate_language_tag(c["language"], f"{path}.language")
    if "statement" in c:
        ref = _object(c["statement"], f"{path}.statement")
        _statement_ref(ref, f"{path}.statement")
    if "extensions" in c:
        validate_extensions(c["extensions"], f"{path}.extensions")
    if "contextAgents" in c:
        for i, item in enumerate(_array(c["contextAgents"], f"{path}.contextAgents")):
            ipath = f"{path}.contextAgents[{i}]"
            entry = _object(item, ipath)
            _check_keys(entry, _CONTEXT_AGENT_KEYS, ipath)
            _expect_object_type(entry, "contextAgent", ipath)
            if "agent" not in entry:
                raise _fail(f"{ipath}.agent", "is required")
            agent = _object(entry["agent"], f"{ipath}.agent")
            object_type_of_agent = agent.get("objectType", "Agent")
            if object_type_of_agent != "Agent":
                raise _fail(f"{ipath}.agent.objectType", f"must be 'Agent', not {object_type_of_agent!r}")
            _agent(agent, f"{ipath}.agent")
            if "relevantTypes" in entry:
                _relevant_types(entry["relevantTypes"], f"{ipath}.relevantTypes")
    if "contextGroups" in c:
        for i, item in enumerate(_array(c["contextGroups"], f"{path}.contextGroups")):
            ipath = f"{path}.contextGroups[{i}]"
            entry = _object(item, ipath)
            _check_keys(entry, _CONTEXT_GROUP_KEYS, ipath)
            _expect_object_type(entry, "contextGroup", ipath)
            if "group" not in entry:
                raise _fail(f"{ipath}.group", "is required")
            group = _object(entry["group"], f"{ipath}.group")
            _expect_object_type(group, "Group", f"{ipath}.group")
            _group(group, f"{ipath}.group")
            if "relevantTypes" in entry:
                _relevant_types(entry["relevantTypes"], f"{ipath}.relevantTypes")


def _relevant_types(value: object, path: str) -> None:
    for i, iri in enumerate(_array(value, path, non_empty=True)):
        _iri(iri, f"{path}[{i}]")


def _context_activities(value: object, path: str) -> None:
    ca = _object(value, path)
    if not ca:
        raise _fail(path, "needs at least one of parent, grouping, category, other")
    _check_keys(ca, _CONTEXT_ACTIVITIES_KEYS, path)
    for key, entry in ca.items():
        kpath = f"{path}.{key}"
        if type(entry) is dict:
            _context_activity(entry, kpath)
        elif type(entry) is list:
            _array(entry, kpath)
            for i, item in enumerate(entry):
                _context_activity(_object(item, f"{kpath}[{i}]"), f"{kpath}[{i}]")
        else:
            raise _type_fail(kpath, "an Activity or an array of Activities", entry)


def _context_activity(obj: dict[str, Any], path: str) -> None:
    object_type = obj.get("objectType", "Activity")
    if object_type != "Activity":
        raise _fail(f"{path}.objectType", f"context activities are Activities, not {object_type!r}")
    _activity(obj, path)


def _attachments(value: object, path: str) -> None:
    for i, item in enumerate(_array(value, path)):
        ipath = f"{path}[{i}]"
        a = _object(item, ipath)
        _check_keys(a, _ATTACHMENT_KEYS, ipath)
        for key in ("usageType", "display", "contentType", "length", "sha2"):
            if key not in a:
                raise _fail(f"{ipath}.{key}", "is required")
        _iri(a["usageType"], f"{ipath}.usageType")
        validate_language_map(a["display"], f"{ipath}.display")
        if "description" in a:
            validate_language_map(a["description"], f"{ipath}.description")
        content_type = _string(a["contentType"], f"{ipath}.contentType")
        if _MEDIA_TYPE_RE.fullmatch(content_type) is None:
            reason = f"must be an Internet Media Type such as text/plain, not {content_type[:100]!r}"
            raise _fail(f"{ipath}.contentType", reason)
        length = a["length"]
        if type(length) is not int:
            if type(length) is float and length.is_integer():
                pass
            else:
                raise _type_fail(f"{ipath}.length", "a whole number of octets", length)
        if length < 0:
            raise _fail(f"{ipath}.length", "must not be negative")
        sha2 = _string(a["sha2"], f"{ipath}.sha2")
        if _SHA2_RE.fullmatch(sha2) is None:
            raise _fail(f"{ipath}.sha2", "must be a hex SHA-2 hash (SHA-224, -256, -384 or -512)")
        if "fileUrl" in a:
            _iri(a["fileUrl"], f"{ipath}.fileUrl")


# --- statements -----------------------------------------------------------------------------------------


def _check_version(version: str) -> None:
    if version not in VERSIONS:
        raise ValueError(f"unsupported xAPI version {version!r}: one of {', '.join(VERSIONS)}")


def _statement_body(s: dict[str, Any], path: str, version: str, *, sub: bool) -> None:
    """What a Statement and a SubStatement share; ``path`` prefixes child paths (``""`` at the top)."""
    p = f"{path}." if path else ""
    _check_keys(s, _SUBSTATEMENT_KEYS if sub else _STATEMENT_KEYS, path)
    for key in ("actor", "verb", "object"):
        if key not in s:
            raise _fail(f"{p}{key}", "is required")
    _actor(s["actor"], f"{p}actor")
    verb_id = _verb(s["verb"], f"{p}verb")
    object_type = _object_property(s["object"], f"{p}object", version, sub=sub)
    if verb_id == VOIDED_VERB and not sub and object_type != "StatementRef":
        raise _fail(f"{p}object", "a voiding statement (verb voided) must have a StatementRef object")
    if "result" in s:
        _result(s["result"], f"{p}result")
    if "context" in s:
        _context(s["context"], f"{p}context", version, object_type)
    rfc3339 = version == "2.0.0"
    if "timestamp" in s:
        validate_timestamp(s["timestamp"], f"{p}timestamp", rfc3339=rfc3339)
    if "attachments" in s:
        _attachments(s["attachments"], f"{p}attachments")
    if sub:
        return
    if "id" in s:
        validate_uuid(s["id"], f"{p}id")
    if "stored" in s:
        validate_timestamp(s["stored"], f"{p}stored", rfc3339=rfc3339)
    if "authority" in s:
        _authority(s["authority"], f"{p}authority")
    if "version" in s:
        stated = s["version"]
        if type(stated) is not str:
            raise _type_fail(f"{p}version", "a string", stated)
        pattern = _VERSION_200_RE if version == "2.0.0" else _VERSION_103_RE
        if pattern.fullmatch(stated) is None:
            accepted = "1.0, 1.0.x, 2.0 or 2.0.x" if version == "2.0.0" else "1.0 or 1.0.x"
            raise _fail(f"{p}version", f"must be {accepted}, not {stated[:50]!r}")


def _validate_statement_at(statement: object, version: str, path: str) -> dict[str, Any]:
    s = _object(statement, path or "statement")
    _statement_body(s, path, version, sub=False)
    return s


def validate_statement(statement: object, version: str) -> None:
    """Check one statement against the Data part of xAPI ``version`` (``"1.0.3"`` or ``"2.0.0"``).

    Raises :class:`InvalidStatement` naming the path of the first offending value. ``ValueError`` for
    an unsupported ``version`` (a programming error: the API checks the header first).
    """
    _check_version(version)
    _validate_statement_at(statement, version, "")


def validate_statements(statements: object, version: str) -> list[dict[str, Any]]:
    """The body of ``POST /xapi/statements``: one statement or a non-empty array of them. Returns the list.

    Also refuses a batch in which two statements carry the same ``id`` (the spec lets the LRS reject such
    a batch; storing both is impossible). Paths in errors start with ``[i].`` for an array body.
    """
    _check_version(version)
    if type(statements) is dict:
        _validate_statement_at(statements, version, "")
        return [statements]
    if type(statements) is not list:
        raise _type_fail("statements", "a statement object or an array of statements", statements)
    if not statements:
        raise _fail("statements", "the array is empty")
    if len(statements) > MAX_BATCH_STATEMENTS:
        raise _fail("statements", f"holds {len(statements)} statements, at most {MAX_BATCH_STATEMENTS} are accepted")
    ids: set[str] = set()
    for i, statement in enumerate(statements):
        s = _validate_statement_at(statement, version, f"[{i}]")
        sid = s.get("id")
        if sid is not None:
            key = sid.lower()
            if key in ids:
                raise _fail(f"[{i}].id", f"{sid} appears twice in the batch")
            ids.add(key)
    return statements


def normalise(statement: dict[str, Any]) -> dict[str, Any]:
    """Bring a valid statement to the form the LRS stores, in place, and return it: every single-object
    ``contextActivities`` entry (in the statement's context and in a SubStatement object's context)
    becomes a one-item array. Nothing else changes. (In place because the intake completes the same dict
    right after; copying would only cost time on the hot path.)"""
    context = statement.get("context")
    if type(context) is dict:
        _normalise_context(context)
    obj = statement.get("object")
    if type(obj) is dict and obj.get("objectType") == "SubStatement":
        sub_context = obj.get("context")
        if type(sub_context) is dict:
            _normalise_context(sub_context)
    return statement


def _normalise_context(context: dict[str, Any]) -> None:
    ca = context.get("contextActivities")
    if type(ca) is dict:
        for key, value in ca.items():
            if type(value) is dict:
                ca[key] = [value]
