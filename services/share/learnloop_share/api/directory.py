"""Directory endpoints: users, teams and topic subscriptions.

Every ``PUT`` of a user or team publishes its directory event (``usecases/directory.py``); subscriptions
are not part of the directory other services copy, so they publish none.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, status
from learnloop_shared.http.problems import Problem, forbidden, not_found
from learnloop_shared.http.security import CurrentPrincipal
from learnloop_shared.ids import IdPath

from ..deps import Deps
from ..domain import rules
from ..domain.directory import Republished, Team, TeamIn, User, UserIn, UsersSync, UsersSynced
from ..domain.teams import find_cycle
from ..domain.topics import MAX_TOPIC_LENGTH, normalize_topic

router = APIRouter(prefix="/v1", tags=["directory"])
TopicPath = Annotated[str, Path(min_length=1, max_length=MAX_TOPIC_LENGTH)]


@router.put("/users/{user_id}", response_model=User)
async def put_user(user_id: IdPath, body: UserIn, me: CurrentPrincipal, deps: Deps) -> User:
    if not rules.can_write_directory(me):
        raise forbidden(f"scope {rules.DIRECTORY_WRITE} is required")
    return await deps.directory_writes.put_user(user_id, body)


@router.put("/users", response_model=UsersSynced)
async def put_users(body: UsersSync, me: CurrentPrincipal, deps: Deps) -> UsersSynced:
    """Create or replace up to 1,000 users (and their subscriptions) in one transaction: a directory sync."""
    if not rules.can_write_directory(me):
        raise forbidden(f"scope {rules.DIRECTORY_WRITE} is required")
    created, updated = await deps.directory_writes.put_users([(u.id, u) for u in body.users])
    return UsersSynced(created=created, updated=updated)


@router.get("/users/{user_id}", response_model=User)
async def get_user(user_id: IdPath, me: CurrentPrincipal, deps: Deps) -> User:
    user = await deps.directory.get_user(user_id)
    if user is None:
        raise not_found("user")
    return user


def _topic(topic: str) -> str:
    try:
        return normalize_topic(topic)
    except ValueError as exc:
        raise Problem(422, str(exc)) from exc


@router.put("/users/{user_id}/subscriptions/{topic}", response_model=User)
async def subscribe(user_id: IdPath, topic: TopicPath, me: CurrentPrincipal, deps: Deps) -> User:
    if not rules.can_manage_subscriptions(me, user_id):
        raise forbidden("only the user themself may change their subscriptions")
    user = await deps.directory.subscribe(user_id, _topic(topic))
    if user is None:
        raise not_found("user")
    return user


@router.delete("/users/{user_id}/subscriptions/{topic}", response_model=User)
async def unsubscribe(user_id: IdPath, topic: TopicPath, me: CurrentPrincipal, deps: Deps) -> User:
    if not rules.can_manage_subscriptions(me, user_id):
        raise forbidden("only the user themself may change their subscriptions")
    user = await deps.directory.unsubscribe(user_id, _topic(topic))
    if user is None:
        raise not_found("user")
    return user


@router.put("/teams/{team_id}", response_model=Team)
async def put_team(team_id: IdPath, body: TeamIn, me: CurrentPrincipal, deps: Deps) -> Team:
    if not rules.can_write_directory(me):
        raise forbidden(f"scope {rules.DIRECTORY_WRITE} is required")
    if body.teams:
        cycle = find_cycle(team_id, body.teams, await deps.directory.team_graph())
        if cycle:
            raise Problem(422, "nested teams would form a cycle: " + " → ".join(cycle), cycle=cycle)
    return await deps.directory_writes.put_team(team_id, body)


@router.get("/teams/{team_id}", response_model=Team)
async def get_team(team_id: IdPath, me: CurrentPrincipal, deps: Deps) -> Team:
    team = await deps.directory.get_team(team_id)
    if team is None:
        raise not_found("team")
    return team


@router.post("/directory/republish", status_code=status.HTTP_202_ACCEPTED, response_model=Republished)
async def republish(me: CurrentPrincipal, deps: Deps) -> Republished:
    """Send every user and team again on ``learnloop.directory`` (to rebuild a copy), in the background.

    Answers the directory's counts now. A request while an earlier one still waits joins it; a request
    while one runs is a new republish (everything is sent again, from the start)."""
    if not rules.can_write_directory(me):
        raise forbidden(f"scope {rules.DIRECTORY_WRITE} is required")
    requested = await deps.republishing.request()
    return Republished(users=requested.users, teams=requested.teams)
