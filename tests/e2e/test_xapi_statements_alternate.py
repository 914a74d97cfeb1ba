"""xAPI 1.0.3 Alternate Request Syntax (Communication 1.3) on the Statement resource, over the real stack."""

from __future__ import annotations

import json
import uuid
from typing import Any
from urllib.parse import urlencode

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def _statement(tag: str) -> dict[str, Any]:
    return {
        "actor": {"mbox": f"mailto:alt-{tag}@example.com"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/experienced"},
        "object": {"id": f"http://example.com/{tag}/alt"},
    }


def _auth(api: Any) -> dict[str, str]:
    return api.auth(f"alt-{uuid.uuid4().hex[:8]}", "xapi:read", "xapi:write")


async def test_a_post_holding_a_get_answers_a_statement_result(api: Any) -> None:
    headers = {**_auth(api), "X-Experience-API-Version": "1.0.3", **FORM}
    r = await api.learn.post("/xapi/statements?method=GET", content=urlencode({"limit": 1}), headers=headers)
    assert r.status_code == 200, r.text
    assert set(r.json()) == {"statements", "more"}


async def test_a_put_issued_as_a_post_with_headers_in_the_form_is_stored(api: Any) -> None:
    tag = uuid.uuid4().hex[:8]
    sid = str(uuid.uuid4())
    auth = _auth(api)
    form = {
        "statementId": sid,
        "content": json.dumps(_statement(tag)),
        "X-Experience-API-Version": "1.0.3",
        "Authorization": auth["Authorization"],
    }
    r = await api.learn.post("/xapi/statements?method=PUT", content=urlencode(form), headers=FORM)
    assert r.status_code == 204, r.text
    r = await api.learn.get(
        "/xapi/statements", params={"statementId": sid}, headers={**auth, "X-Experience-API-Version": "1.0.3"}
    )
    assert r.status_code == 200 and r.json()["object"]["id"] == f"http://example.com/{tag}/alt"


async def test_the_alternate_syntax_with_parameters_outside_the_form_is_400(api: Any) -> None:
    headers = {**_auth(api), "X-Experience-API-Version": "1.0.3", **FORM}
    sid = str(uuid.uuid4())
    form = urlencode({"statementId": sid, "content": json.dumps(_statement("x"))})
    r = await api.learn.post(f"/xapi/statements?method=PUT&statementId={sid}", content=form, headers=headers)
    assert r.status_code == 400, r.text


async def test_the_alternate_syntax_with_a_body_that_is_not_form_encoded_is_400(api: Any) -> None:
    headers = {**_auth(api), "X-Experience-API-Version": "1.0.3", **FORM}
    body = json.dumps({"statementId": str(uuid.uuid4()), "content": json.dumps(_statement("y"))})
    r = await api.learn.post("/xapi/statements?method=PUT", content=body, headers=headers)
    assert r.status_code == 400, r.text


async def test_the_alternate_syntax_not_issued_as_a_post_is_400(api: Any) -> None:
    headers = {**_auth(api), "X-Experience-API-Version": "1.0.3"}
    r = await api.learn.get("/xapi/statements", params={"method": "POST"}, headers=headers)
    assert r.status_code == 400, r.text


async def test_xapi_2_has_no_alternate_syntax(api: Any) -> None:
    headers = {**_auth(api), "X-Experience-API-Version": "2.0.0", **FORM}
    r = await api.learn.post("/xapi/statements?method=GET", content=urlencode({"limit": 1}), headers=headers)
    assert r.status_code == 400, r.text
