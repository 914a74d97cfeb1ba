"""Questions about a share and their answers."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from learnloop_shared.documents import Doc
from learnloop_shared.http.pagination import Cursor, Page, page_from, position
from learnloop_shared.http.problems import Problem, not_found
from learnloop_shared.http.security import CurrentPrincipal
from learnloop_shared.ids import IdPath

from ..deps import Deps, LearnDeps
from ..domain.questions import Answer, AnswerIn, QuestionItem, may_answer
from ..usecases.answering import TooManyAnswers

router = APIRouter(prefix="/v1", tags=["questions"])


async def _visible_share(deps: LearnDeps, share_id: str, user_id: str) -> tuple[Doc, bool]:
    """The share and whether the user received it; 404 unless they are its author or a recipient."""
    share = await deps.store.share(share_id)
    if share is None:
        raise not_found("share")
    recipient = user_id != share["author_id"] and await deps.store.is_recipient(share, user_id)
    if user_id != share["author_id"] and not recipient:
        raise not_found("share")
    return share, recipient


@router.get("/shares/{share_id}/questions", response_model=Page[QuestionItem], response_model_by_alias=True)
async def questions(
    share_id: IdPath,
    me: CurrentPrincipal,
    deps: Deps,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Cursor = None,
) -> Page[QuestionItem]:
    """Questions about the share, newest first, each with its latest answers (oldest first). The author
    sees every question; a recipient the public ones and their own; anyone else gets 404."""
    share, _ = await _visible_share(deps, share_id, me.sub)
    reader = None if me.sub == share["author_id"] else me.sub
    docs = await deps.questions.page(share_id, reader, position(cursor), limit + 1)
    answers = await deps.questions.latest_answers(docs[:limit])

    def item(d: dict[str, Any]) -> QuestionItem:
        return QuestionItem(
            id=d["_id"],
            text=d["text"],
            from_=d["user_id"],
            at=d["at"],
            public=bool(d.get("public")),
            answers=[
                Answer(id=a["_id"], text=a["text"], from_=a["user_id"], at=a["at"]) for a in answers.get(d["_id"], [])
            ],
            answers_total=int(d.get("answer_count") or 0),
        )

    return page_from(docs, limit, item, "at")


@router.post(
    "/shares/{share_id}/questions/{question_id}/answers",
    response_model=Answer,
    response_model_by_alias=True,
    status_code=201,
)
async def answer(share_id: IdPath, question_id: IdPath, body: AnswerIn, me: CurrentPrincipal, deps: Deps) -> Answer:
    """Answer a question: the share's author, the asker (a follow-up), or any recipient of the share when
    the question is public. Anyone else gets 404; a retracted share 410; a question with 1,000 answers 409."""
    share, recipient = await _visible_share(deps, share_id, me.sub)
    question = await deps.questions.question(question_id)
    if question is None or question["share_id"] != share_id:
        raise not_found("question")
    if not may_answer(me.sub, share["author_id"], question["user_id"], bool(question.get("public")), recipient):
        raise not_found("question")
    if share.get("status") == "retracted":
        raise Problem(410, "the share was retracted: it takes no more answers")
    try:
        return await deps.answering.answer(share, question, me.sub, body)
    except TooManyAnswers:
        raise Problem(409, "the question has 1000 answers, the most it may have") from None
