"""Knowledge checks: grading an attempt, who may take one, and what each reader sees. Pure, no I/O.

Learn's share document holds the check as ``share.published`` carried it: ``checks: [{question, choices,
answer}]`` (``answer`` is the index of the right choice: the answer key), ``pass_mark`` (the share of
questions to get right, 0 < x ≤ 1) and ``max_attempts``; ``has_checks`` is also set from a delivery, which
never carries the questions. A share has a check iff ``has_checks`` is true or ``checks`` is non-empty.

Invariant: the answer key leaves learn only in the author's view (:func:`author_items`). Every other
view is built by :func:`public_items`, which never reads ``answer``.

A recipient's check state lives on their ``progress`` document: ``check_attempts`` (attempts used),
``check_best`` (best score), ``check_passed``, ``check_passed_at`` and ``check_correct`` (per question, of
the latest attempt). A recipient who never attempted has none of these fields.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

MAX_QUESTIONS = 10  # as the share service accepts (``CheckItem``, ``MAX_CHECKS``)
DEFAULT_PASS_MARK = 1.0
DEFAULT_MAX_ATTEMPTS = 3
CHECK_FIELDS = ("checks", "pass_mark", "max_attempts", "has_checks")
"""The fields of learn's share document that describe its check (set by ``share.published``)."""
# Scores are fractions of at most 10 questions: a mark reached "exactly" (7/10 against 0.7) must pass
# whatever the float rounding of either side.
_EPSILON = 1e-9


def has_checks(share: Mapping[str, Any]) -> bool:
    """A share has a knowledge check iff learn was told so (``has_checks``) or holds its questions."""
    return bool(share.get("has_checks")) or bool(share.get("checks"))


def check_fields(checks: Sequence[Mapping[str, Any]], pass_mark: float, max_attempts: int) -> dict[str, Any]:
    """The share document's check fields (:data:`CHECK_FIELDS`) from a ``share.published`` event."""
    items = [{"question": c["question"], "choices": list(c["choices"]), "answer": int(c["answer"])} for c in checks]
    return {
        "checks": items,
        "pass_mark": float(pass_mark),
        "max_attempts": int(max_attempts),
        "has_checks": bool(items),
    }


def pass_mark_of(share: Mapping[str, Any]) -> float:
    return float(share.get("pass_mark") or DEFAULT_PASS_MARK)


def max_attempts_of(share: Mapping[str, Any]) -> int:
    return int(share.get("max_attempts") or DEFAULT_MAX_ATTEMPTS)


# --- grading -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Grade:
    score: float  # the fraction of questions answered right, 0-1
    passed: bool  # score ≥ pass mark
    correct: tuple[bool, ...]  # per question


def grade(answers: Sequence[int], checks: Sequence[Mapping[str, Any]], pass_mark: float) -> Grade:
    """Grade answers that :func:`answer_errors` accepted (one choice index per question)."""
    correct = tuple(int(a) == int(c["answer"]) for a, c in zip(answers, checks, strict=True))
    right = sum(correct)
    return Grade(score=right / len(checks), passed=right + _EPSILON >= pass_mark * len(checks), correct=correct)


def answer_errors(answers: Sequence[int], checks: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """What is wrong with the answers, in the shape of the API's 422 ``errors`` (empty: nothing)."""
    if len(answers) != len(checks):
        msg = f"give one answer per question: the check has {len(checks)}, the body {len(answers)}"
        return [{"loc": ["body", "answers"], "msg": msg, "type": "answers_count"}]
    return [
        {
            "loc": ["body", "answers", str(i)],
            "msg": f"question {i} has {len(c['choices'])} choices: the answer must be 0 to {len(c['choices']) - 1}",
            "type": "answer_not_a_choice",
        }
        for i, (a, c) in enumerate(zip(answers, checks, strict=True))
        if not 0 <= a < len(c["choices"])
    ]


def refusal(progress: Mapping[str, Any] | None, max_attempts: int) -> str | None:
    """Why a recipient may not make another attempt (None: they may): passed already, or out of attempts."""
    p = progress or {}
    if p.get("check_passed"):
        return "you passed this knowledge check already"
    if int(p.get("check_attempts") or 0) >= max_attempts:
        return f"no attempts left: this knowledge check allows {max_attempts}"
    return None


def attempt_id(share_id: str, user_id: str, attempt: int) -> str:
    """One attempt document per (share, recipient, attempt number): a number is never used twice."""
    return f"{share_id}|{user_id}|a{attempt}"


# --- views -------------------------------------------------------------------------------------------


class CheckQuestion(BaseModel):
    """One question of a check. ``answer`` is in the author's view only."""

    model_config = ConfigDict(frozen=True)

    index: int
    question: str
    choices: list[str]
    answer: int | None = Field(None, description="The index of the right choice: in the author's view only")


class CheckView(BaseModel):
    """``GET /v1/shares/{id}/checks``: the check and the caller's own attempts at it."""

    items: list[CheckQuestion]
    pass_mark: float
    max_attempts: int
    attempts_used: int
    passed: bool


def public_items(checks: Sequence[Mapping[str, Any]]) -> list[CheckQuestion]:
    """The questions as a recipient sees them: never the answer key."""
    return [CheckQuestion(index=i, question=c["question"], choices=list(c["choices"])) for i, c in enumerate(checks)]


def author_items(checks: Sequence[Mapping[str, Any]]) -> list[CheckQuestion]:
    return [
        CheckQuestion(index=i, question=c["question"], choices=list(c["choices"]), answer=int(c["answer"]))
        for i, c in enumerate(checks)
    ]


def view(share: Mapping[str, Any], progress: Mapping[str, Any] | None, author: bool) -> CheckView:
    checks = share.get("checks") or []
    p = progress or {}
    return CheckView(
        items=author_items(checks) if author else public_items(checks),
        pass_mark=pass_mark_of(share),
        max_attempts=max_attempts_of(share),
        attempts_used=int(p.get("check_attempts") or 0),
        passed=bool(p.get("check_passed")),
    )


class AttemptIn(BaseModel):
    """Body of ``POST /v1/shares/{id}/checks/attempts``: the index of the chosen choice per question."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    answers: list[int] = Field(min_length=1, max_length=MAX_QUESTIONS)


class AttemptResult(BaseModel):
    attempt: int = Field(ge=1, description="This attempt's number (1 for the first)")
    score: float = Field(ge=0, le=1, description="The fraction of questions answered right")
    passed: bool
    correct: list[bool] = Field(description="Per question: whether this attempt got it right")


class StateChecks(BaseModel):
    """A recipient's check of one share in ``GET /v1/me/learning/state`` (never the answer key)."""

    questions: int
    max_attempts: int
    attempts_used: int
    passed: bool
    best_score: float | None = Field(None, description="The best score so far (0-1); null before any attempt")


def state_checks(share: Mapping[str, Any], progress: Mapping[str, Any] | None) -> StateChecks | None:
    if not has_checks(share):
        return None
    p = progress or {}
    best = p.get("check_best")
    return StateChecks(
        questions=len(share.get("checks") or []),
        max_attempts=max_attempts_of(share),
        attempts_used=int(p.get("check_attempts") or 0),
        passed=bool(p.get("check_passed")),
        best_score=None if best is None else float(best),
    )


# --- feedback for the author --------------------------------------------------------------------------


class QuestionFeedback(BaseModel):
    index: int
    question: str
    correct_rate: float | None = Field(
        None, description="The fraction of recipients who attempted whose latest attempt got it right"
    )


class ChecksFeedback(BaseModel):
    attempted: int = Field(description="Recipients who made at least one attempt")
    passed: int = Field(description="Recipients who passed")
    pass_rate: float | None = Field(None, description="passed / attempted; null before any attempt")
    average_attempts: float | None = Field(None, description="Attempts per recipient who attempted")
    questions: list[QuestionFeedback]


@dataclass(frozen=True)
class CheckTotals:
    """Sums over the progress documents of a share's recipients who attempted its check."""

    attempted: int = 0
    passed: int = 0
    attempts: int = 0
    correct: tuple[int, ...] = ()  # per question: recipients whose latest attempt got it right


def checks_feedback(share: Mapping[str, Any], totals: CheckTotals) -> ChecksFeedback | None:
    if not has_checks(share):
        return None
    n = totals.attempted

    def rate(x: int) -> float | None:
        return round(x / n, 4) if n else None

    checks = share.get("checks") or []
    return ChecksFeedback(
        attempted=n,
        passed=totals.passed,
        pass_rate=rate(totals.passed),
        average_attempts=round(totals.attempts / n, 2) if n else None,
        questions=[
            QuestionFeedback(
                index=i,
                question=c["question"],
                correct_rate=rate(totals.correct[i] if i < len(totals.correct) else 0),
            )
            for i, c in enumerate(checks)
        ],
    )


def learned_needs_pass(share: Mapping[str, Any], progress: Mapping[str, Any] | None) -> bool:
    """``learned`` on a share with a check is recorded by passing it: asked for directly, it waits for a pass
    (``applied``, ``opened``, ``rated`` and questions do not)."""
    return has_checks(share) and not (progress or {}).get("check_passed")
