"""The loop through xAPI, both ways: pure rules, no I/O.

Out: each learning event learn records (``learning.acknowledged``, ``learning.checked``,
``learning.answered``) becomes one statement about the share's activity
(``<learn public url>/xapi/activities/shares/<share id>``), with an id derived from the event's own id
(:func:`statement_id`) so that a replayed event is the same statement again. An acknowledgement that came
in from a statement (its event carries ``statement_id``) makes no second statement: the statement it came
from is already in the LRS.

In: a statement another tool stored is a :class:`Candidate` when its verb maps to ``opened``, ``learned``
or ``applied`` (:data:`DEFAULT_VERB_MAP`, a setting), its object is an Activity and its actor an Agent.
Whether it names a share (its activity id, or a share's ``url``) and a recipient (a Learnloop account, or
an ``mbox`` matching a user's email) needs the stores: ``usecases.xapi.loop_in`` decides.

The verb table, both ways, is in the README ("xAPI verbs").
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from learnloop_shared.events import LearningAcknowledged, LearningAnswered, LearningChecked

from .agents import ifi_key
from .statements import iso

ADL = "http://adlnet.gov/expapi/verbs/"
EXPERIENCED = ADL + "experienced"
COMPLETED = ADL + "completed"
PASSED = ADL + "passed"
FAILED = ADL + "failed"
MASTERED = ADL + "mastered"
ASKED = ADL + "asked"
ANSWERED = ADL + "answered"
USED = "http://activitystrea.ms/schema/1.0/use"
RATED = "http://id.tincanapi.com/verb/rated"
VIEWED = "http://id.tincanapi.com/verb/viewed"

LINK = "http://adlnet.gov/expapi/activities/link"
QUESTION = "http://adlnet.gov/expapi/activities/question"
EXTENSIONS = "https://learnloop.io/xapi/extensions/"
EXT_SHARE = EXTENSIONS + "share-id"
EXT_REVISION = EXTENSIONS + "revision"
EXT_ACKNOWLEDGEMENT = EXTENSIONS + "acknowledgement-id"
EXT_QUESTION = EXTENSIONS + "question-id"
EXT_PUBLIC = EXTENSIONS + "public"
EXT_ATTEMPT = EXTENSIONS + "attempt"
EXT_ATTEMPT_ID = EXTENSIONS + "attempt-id"
EXT_ANSWER = EXTENSIONS + "answer-id"
PLATFORM = "Learnloop"

# Out: the verb of each acknowledgement kind, and how it is displayed.
OUT_VERBS: dict[str, tuple[str, str]] = {
    "opened": (EXPERIENCED, "experienced"),
    "learned": (COMPLETED, "completed"),
    "applied": (USED, "used"),
    "rated": (RATED, "rated"),
    "question": (ASKED, "asked"),
}

IN_KINDS = ("opened", "learned", "applied")
# In: verb IRI -> the acknowledgement it records (``LEARNLOOP_XAPI_VERB_MAP`` replaces it as a whole).
DEFAULT_VERB_MAP: dict[str, str] = {
    EXPERIENCED: "opened",
    VIEWED: "opened",
    COMPLETED: "learned",
    PASSED: "learned",
    MASTERED: "learned",
    USED: "applied",
}
MAX_VERB_MAP = 100
MAX_IRI = 2048
_IRI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:\S+$")
_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://learnloop.io/xapi/statements")
_HTTP_URL = re.compile(r"^https?://\S+$", re.IGNORECASE)


def check_verb_map(value: Mapping[str, str]) -> dict[str, str]:
    """The verb map as a setting: at most :data:`MAX_VERB_MAP` IRIs, each to one of :data:`IN_KINDS`.
    Raises ValueError saying what is wrong."""
    if len(value) > MAX_VERB_MAP:
        raise ValueError(f"at most {MAX_VERB_MAP} verbs")
    for verb, kind in value.items():
        if len(verb) > MAX_IRI or not _IRI.match(verb):
            raise ValueError(f"{verb!r} is not a verb IRI")
        if kind not in IN_KINDS:
            raise ValueError(f"{verb!r} maps to {kind!r}: must be one of {', '.join(IN_KINDS)}")
    return dict(value)


def statement_id(name: str) -> str:
    """A statement id that is the same for the same name: a replayed event is the same statement."""
    return str(uuid.uuid5(_NAMESPACE, name))


def share_activity_id(public_url: str, share_id: str) -> str:
    return f"{public_url}/xapi/activities/shares/{share_id}"


def question_activity_id(public_url: str, share_id: str, question_id: str) -> str:
    return f"{share_activity_id(public_url, share_id)}/questions/{question_id}"


def learnloop_authority(public_url: str) -> dict[str, Any]:
    """The authority of the statements Learnloop writes itself. Its account's homePage is neither a user's
    (``xapi_home_page``) nor a credential's (``…/xapi/credentials``): nobody else can be it."""
    return {"objectType": "Agent", "name": PLATFORM, "account": {"homePage": f"{public_url}/xapi", "name": "learnloop"}}


def learnloop_authority_key(public_url: str) -> str:
    key = ifi_key(learnloop_authority(public_url))
    assert key is not None  # an account always has a key
    return key


@dataclass(frozen=True)
class Out:
    """What every outgoing statement needs: the LRS's public URL and the homePage of user accounts."""

    public_url: str
    home_page: str

    def actor(self, user_id: str) -> dict[str, Any]:
        return {"objectType": "Agent", "account": {"homePage": self.home_page, "name": user_id}}

    def share(self, share_id: str, title: str, url: str | None) -> dict[str, Any]:
        definition: dict[str, Any] = {"name": {"en": title}, "type": LINK}
        if url and _HTTP_URL.match(url) and len(url) <= MAX_IRI:  # moreInfo must be an IRL
            definition["moreInfo"] = url
        return {"objectType": "Activity", "id": share_activity_id(self.public_url, share_id), "definition": definition}

    def _statement(
        self,
        sid: str,
        user_id: str,
        verb: tuple[str, str],
        obj: dict[str, Any],
        at: datetime,
        extensions: dict[str, Any],
    ) -> dict[str, Any]:
        return {
            "id": sid,
            "actor": self.actor(user_id),
            "verb": {"id": verb[0], "display": {"en-US": verb[1]}},
            "object": obj,
            "timestamp": iso(at),
            "context": {"platform": PLATFORM, "extensions": extensions},
        }

    def acknowledged(self, ev: LearningAcknowledged, event_id: str, url: str | None) -> dict[str, Any] | None:
        """The statement of an acknowledgement, or None for one that came from a statement.

        A rating may change (the same acknowledgement id, a new event each time): its statement id follows
        the event's id, so each rating given is a statement. The others follow the acknowledgement id."""
        if ev.statement_id is not None:
            return None
        key = f"rated:{event_id}" if ev.kind == "rated" else f"ack:{ev.acknowledgement_id}"
        extensions: dict[str, Any] = {
            EXT_SHARE: ev.share_id,
            EXT_REVISION: ev.revision,
            EXT_ACKNOWLEDGEMENT: ev.acknowledgement_id,
        }
        s = self._statement(
            statement_id(key),
            ev.recipient_id,
            OUT_VERBS[ev.kind],
            self.share(ev.share_id, ev.title, url),
            ev.acknowledged_at,
            extensions,
        )
        if ev.kind == "learned":
            s["result"] = {"completion": True}
        elif ev.kind == "rated" and ev.rating is not None:
            s["result"] = {"score": {"raw": ev.rating, "min": 1, "max": 5, "scaled": ev.rating / 5}}
        elif ev.kind == "question":
            s["result"] = {"response": ev.text or ""}
            extensions[EXT_QUESTION] = ev.acknowledgement_id
            extensions[EXT_PUBLIC] = ev.public
        return s

    def checked(self, ev: LearningChecked, url: str | None) -> dict[str, Any]:
        """A knowledge-check attempt: passed or failed, with its score (``raw`` = questions right)."""
        score: dict[str, Any] = {"scaled": ev.score}
        if ev.correct:
            score.update(raw=sum(ev.correct), min=0, max=len(ev.correct))
        s = self._statement(
            statement_id(f"check:{ev.attempt_id}"),
            ev.recipient_id,
            (PASSED, "passed") if ev.passed else (FAILED, "failed"),
            self.share(ev.share_id, ev.title, url),
            ev.checked_at,
            {EXT_SHARE: ev.share_id, EXT_REVISION: ev.revision, EXT_ATTEMPT: ev.attempt, EXT_ATTEMPT_ID: ev.attempt_id},
        )
        s["result"] = {"score": score, "success": ev.passed, "completion": True}
        return s

    def answered(self, ev: LearningAnswered, url: str | None) -> dict[str, Any]:
        """An answer to a question about a share: the object is the share, the question's thread its parent
        context activity, and ``context.statement`` the question's own statement (``asked``)."""
        s = self._statement(
            statement_id(f"answer:{ev.answer_id}"),
            ev.answered_by,
            (ANSWERED, "answered"),
            self.share(ev.share_id, ev.title, url),
            ev.answered_at,
            {EXT_SHARE: ev.share_id, EXT_QUESTION: ev.question_id, EXT_ANSWER: ev.answer_id},
        )
        s["result"] = {"response": ev.text}
        s["context"]["contextActivities"] = {
            "parent": [
                {
                    "objectType": "Activity",
                    "id": question_activity_id(self.public_url, ev.share_id, ev.question_id),
                    "definition": {"type": QUESTION},
                }
            ]
        }
        s["context"]["statement"] = {"objectType": "StatementRef", "id": statement_id(f"ack:{ev.question_id}")}
        return s


@dataclass(frozen=True)
class Candidate:
    """A stored statement that may record an acknowledgement. Exactly one of ``share_id`` (the object is a
    share's activity id) and ``url`` (any other activity id: a share's ``url`` may equal it) is set, and
    exactly one of ``user_id`` (a Learnloop account) and ``email`` (an ``mbox``, lower-cased)."""

    kind: str
    share_id: str | None
    url: str | None
    user_id: str | None
    email: str | None


def may_take_in(
    doc: Mapping[str, Any], verb_map: Mapping[str, str], learnloop_key: str, public_url: str, home_page: str
) -> bool:
    """Worth a look by the loop in: not written by Learnloop itself, and a :func:`candidate`."""
    if doc.get("authority_key") == learnloop_key or doc.get("verb") not in verb_map:
        return False
    return candidate(doc["statement"], verb_map, public_url, home_page) is not None


def candidate(
    statement: Mapping[str, Any], verb_map: Mapping[str, str], public_url: str, home_page: str
) -> Candidate | None:
    """What a statement would acknowledge, or None when it cannot acknowledge anything."""
    kind = verb_map.get(str((statement.get("verb") or {}).get("id")))
    obj = statement.get("object") or {}
    actor = statement.get("actor") or {}
    if kind is None or obj.get("objectType", "Activity") != "Activity" or actor.get("objectType", "Agent") != "Agent":
        return None
    activity = str(obj.get("id", ""))
    prefix = share_activity_id(public_url, "")
    share_id: str | None = None
    url: str | None = None
    if activity.startswith(prefix):
        rest = activity[len(prefix) :]
        if not rest or "/" in rest or "?" in rest or "#" in rest:
            return None  # a question thread or something else under a share: not the share itself
        share_id = rest
    else:
        url = activity
    account = actor.get("account")
    if isinstance(account, Mapping):
        if str(account.get("homePage", "")).rstrip("/") != home_page or not account.get("name"):
            return None
        return Candidate(kind, share_id, url, str(account["name"]), None)
    mbox = actor.get("mbox")
    if isinstance(mbox, str) and mbox.lower().startswith("mailto:") and len(mbox) > len("mailto:"):
        return Candidate(kind, share_id, url, None, mbox[len("mailto:") :].lower())
    return None
