"""The author's dashboard served by learn, in a real headless Chromium against all three services.

The author publishes a share with a knowledge check (HTTP); the page lists it with its funnel, and the share's
page follows it live while recipients open it, take the check and ask a question over HTTP; the author answers
in the page and reminds the pending recipients (then sees the 429 said nicely).

Knowledge checks (``/checks``, ``feedback.checks``) and team reports (``/report``) come from other parts of
issue 13: where the running learn does not serve them yet, the page hides those sections and this test
checks that instead.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.async_api import expect

from ..e2e.test_loop import directory
from ..helpers import eventually
from .conftest import needs_chromium
from .test_inbox_page import learn_knows, token

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

LIVE = "#live[data-state='live']"
CHECKS = [
    {"question": "Which offset does a consumer commit?", "choices": ["the last read", "the next to read"], "answer": 1},
    {"question": "What orders messages?", "choices": ["the topic", "the partition", "the broker"], "answer": 1},
]
OPTIONAL = ("/checks", "/report")  # 404 from a learn without knowledge checks or team reports


async def open_dashboard(browser: Any, learn_url: str, user_token: str, errors: list[str], fragment: str = "") -> Any:
    """A fresh browser context (own localStorage) with the dashboard open for the token's user.

    Console and page errors are collected in ``errors``; Chromium logs every 4xx answer as a console error,
    so the 404s of sections a learn may not serve yet, and the 429 the test provokes, are left out.
    """
    context = await browser.new_context(viewport={"width": 1100, "height": 1000})
    page = await context.new_page()

    def console(msg: Any) -> None:
        if msg.type != "error":
            return
        where = str((msg.location or {}).get("url", ""))
        if "status of 404" in msg.text and any(p in where for p in OPTIONAL):
            return
        if "status of 429" in msg.text and where.endswith("/reminders"):
            return
        errors.append(f"console: {msg.text} ({where})")

    page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
    page.on("console", console)
    await page.goto(f"{learn_url}/dashboard#token={user_token}{fragment}")
    return page


def funnel_value(scope: Any, stage: str) -> Any:
    """The funnel's text equivalent (a visually hidden table): the cell of one stage."""
    return scope.locator(f"table[data-chart='funnel'] td[data-key='{stage}']")


async def test_page_is_served_with_a_strict_policy(api, stack):
    r = await api.learn.get("/dashboard")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "connect-src 'self';" in csp and "default-src 'none'" in csp
    js = await api.learn.get("/dashboard/dashboard.js")
    assert js.status_code == 200 and js.headers["content-type"].startswith("text/javascript")
    assert ".innerHTML" not in js.text and "http://" not in js.text.replace("http://www.w3.org/2000/svg", "")
    assert (await api.learn.get("/dashboard/dashboard.css")).headers["content-type"].startswith("text/css")
    assert (await api.learn.get("/dashboard/app.py")).status_code == 404
    assert "/dashboard" not in (await api.learn.get("/openapi.json")).json()["paths"]


@needs_chromium
async def test_dashboard_follows_a_share_live(api, stack, browser, unique, screenshots):
    ids = await directory(api, unique)
    alice, bob, carol = ids["alice"], ids["bob"], ids["carol"]
    learn_url = stack.url("learn")
    errors: list[str] = []

    # Published over HTTP with a knowledge check (a share service without checks: without one).
    title = f"<b>Consumer offsets</b> & <img src=x onerror=alert(1)> {unique}"
    body: dict[str, Any] = {"title": title, "audience": {"users": [bob, carol]}}
    older = await api.share.post("/v1/shares", json={**body, "title": f"Older {unique}"}, headers=api.auth(alice))
    await learn_knows(api, bob, older.json()["id"])
    with_checks = {**body, "checks": CHECKS, "pass_mark": 1.0, "max_attempts": 3}
    r = await api.share.post("/v1/shares", json=with_checks, headers=api.auth(alice))
    if r.status_code == 422:
        r = await api.share.post("/v1/shares", json=body, headers=api.auth(alice))
    assert r.status_code == 202, r.text
    sid = str(r.json()["id"])
    for user in (bob, carol):
        await learn_knows(api, user, sid)
    checks = await api.learn.get(f"/v1/shares/{sid}/checks", headers=api.auth(bob))
    has_checks = checks.status_code == 200
    report = await api.learn.get(f"/v1/shares/{sid}/report", headers=api.auth(alice))

    # The list: the author's shares newest first, each with a small funnel; the title is text, not markup.
    page = await open_dashboard(browser, learn_url, token(api, alice), errors)
    assert await page.text_content("#who-name") == alice
    assert "token" not in page.url
    row = page.locator(f"li.share-row[data-share-id='{sid}']")
    await row.wait_for(timeout=15_000)
    assert await page.locator("li.share-row").first.get_attribute("data-share-id") == sid
    assert await page.locator("li.share-row").nth(1).get_attribute("data-share-id") == older.json()["id"]
    link = row.locator("a.share-link")
    assert await link.text_content() == title and await row.locator("a b, a img").count() == 0
    await expect(funnel_value(row, "recipients")).to_have_text("2")
    assert await row.locator("svg[role='img']").get_attribute("aria-label") == (
        f"Funnel of “{title}”: Delivered 2, Opened 0, Learned 0, Applied 0" + (", Passed check 0" if has_checks else "")
    )

    # The share's page, by keyboard: live, with the funnel and the follow-through counts.
    await link.focus()
    await page.keyboard.press("Enter")
    await page.wait_for_selector(LIVE, timeout=15_000)
    assert page.url.endswith(f"#share={sid}")
    await expect(page.locator("#share-title")).to_have_text(title)
    view = page.locator("#share-view")
    await expect(funnel_value(view, "recipients")).to_have_text("2")
    await expect(page.locator("#count-pending")).to_have_attribute("data-count", "2")
    await page.evaluate("window.notReloaded = true")

    # Recipients act over HTTP; the counts move in the page without a reload.
    r = await api.learn.post(f"/v1/shares/{sid}/acknowledgements", json={"kind": "opened"}, headers=api.auth(bob))
    assert r.status_code == 201, r.text
    await expect(funnel_value(view, "opened")).to_have_text("1", timeout=15_000)
    if has_checks:
        await expect(page.locator("#checks-section")).to_be_visible()
        await expect(funnel_value(view, "passed")).to_have_text("0")
        attempt = f"/v1/shares/{sid}/checks/attempts"
        r = await api.learn.post(attempt, json={"answers": [0, 1]}, headers=api.auth(bob))
        assert r.status_code == 201 and r.json()["passed"] is False, r.text
        await expect(page.locator("#checks-summary")).to_have_attribute("data-attempted", "1", timeout=15_000)
        await expect(page.locator("table[data-chart='checks'] td[data-key='0']")).to_have_text("0 % right")
        r = await api.learn.post(attempt, json={"answers": [1, 1]}, headers=api.auth(bob))
        assert r.status_code == 201 and r.json()["passed"] is True, r.text
        await expect(funnel_value(view, "passed")).to_have_text("1", timeout=15_000)
        await expect(page.locator("#checks-summary")).to_have_attribute("data-passed", "1")
        await expect(page.locator("table[data-chart='checks'] td[data-key='0']")).to_have_text("100 % right")
        await expect(page.locator("table[data-chart='checks'] td[data-key='1']")).to_have_text("100 % right")
    else:
        await expect(page.locator("#checks-section")).to_be_hidden()
        r = await api.learn.post(f"/v1/shares/{sid}/acknowledgements", json={"kind": "learned"}, headers=api.auth(bob))
        assert r.status_code == 201, r.text
    await expect(funnel_value(view, "learned")).to_have_text("1", timeout=15_000)  # passing records `learned`
    await expect(page.locator("#count-completed")).to_have_attribute("data-count", "1")
    await expect(page.locator("#count-pending")).to_have_attribute("data-count", "1")
    r = await api.learn.post(
        f"/v1/shares/{sid}/acknowledgements", json={"kind": "rated", "rating": 4}, headers=api.auth(bob)
    )
    assert r.status_code == 201, r.text
    await expect(page.locator("#ratings-summary")).to_have_text("1 rating, average 4.00 out of 5.", timeout=15_000)

    # A question arrives live; the author answers it in the page.
    question = f"Does <script>x</script> auto-commit lose messages? {unique}"
    r = await api.learn.post(
        f"/v1/shares/{sid}/acknowledgements", json={"kind": "question", "text": question}, headers=api.auth(carol)
    )
    assert r.status_code == 201, r.text
    qid = r.json()["id"]
    asked = page.locator(f"li.question[data-id='{qid}']")
    await asked.wait_for(timeout=15_000)
    assert await asked.locator(".q-text").text_content() == question
    await expect(page.locator("#announcer")).to_have_text(f"New question from {carol}.")
    await expect(page.locator("#questions-count")).to_have_text("(1)")
    await asked.get_by_label(f"Answer to: {question}").fill("Only if you commit before processing.")
    await asked.get_by_role("button", name="Answer").click()
    await expect(page.locator("#answer-result")).to_have_text("Answer sent.")
    await expect(asked.locator("li.answer")).to_have_count(1, timeout=15_000)
    assert "Only if you commit before processing." in (await asked.locator("li.answer").text_content() or "")

    async def answered() -> bool:
        r = await api.learn.get(f"/v1/shares/{sid}/questions", headers=api.auth(carol))
        return any(a["from"] == alice for q in r.json()["items"] for a in q["answers"])

    await eventually(answered)

    # "Remind now" reminds the one pending recipient; asking again at once is refused with a wait time.
    await page.get_by_role("button", name="Remind now").click()
    await expect(page.locator("#remind-result")).to_have_text("Reminding the 1 recipient who has not completed it.")
    await page.get_by_role("button", name="Remind now").click()
    await expect(page.locator("#remind-result")).to_have_attribute("data-status", "429")
    await expect(page.locator("#remind-result")).to_have_text(re.compile(r"^Recipients were reminded recently\. "))
    await expect(page.get_by_role("button", name="Remind now")).to_be_disabled()

    # Per team, when learn serves reports (bob and carol are in one team).
    if report.status_code == 200:
        team_row = page.locator(f"#teams tr[data-team-id='{ids['team']}']")
        await expect(team_row.locator("td[data-key='recipients']")).to_have_text("2")
        await expect(team_row.locator("td[data-key='learned']")).to_have_text("1")
        async with page.expect_download() as download:
            await page.get_by_role("button", name="Download CSV").click()
        csv = await download.value
        assert csv.suggested_filename == f"share-{sid}.csv"
        lines = (await csv.path()).read_text(encoding="utf-8").splitlines()
        assert lines[0].startswith("user_id,name,teams,") and len(lines) == 3
    else:
        await expect(page.locator("#teams-section")).to_be_hidden()

    assert await page.evaluate("window.notReloaded === true")
    await page.screenshot(path=str(screenshots / "dashboard-share.png"), full_page=True)

    # Back to the list: the row's funnel shows what happened.
    await page.get_by_role("link", name="← All your shares").click()
    await expect(funnel_value(row, "learned")).to_have_text("1", timeout=15_000)
    await expect(page.locator("#live")).to_have_attribute("data-state", "offline")
    await page.screenshot(path=str(screenshots / "dashboard-list.png"), full_page=True)
    await page.context.close()
    assert errors == []


@needs_chromium
async def test_someone_elses_share_is_not_found(api, stack, browser, unique):
    ids = await directory(api, unique)
    r = await api.share.post(
        "/v1/shares",
        json={"title": f"Not yours {unique}", "audience": {"users": [ids["bob"]]}},
        headers=api.auth(ids["alice"]),
    )
    sid = r.json()["id"]
    await learn_knows(api, ids["bob"], sid)
    errors: list[str] = []
    page = await open_dashboard(browser, stack.url("learn"), token(api, ids["bob"]), errors, f"&share={sid}")
    await expect(page.locator("#share-title")).to_have_text("Share not found", timeout=15_000)
    await expect(page.locator("#live")).to_have_attribute("data-state", "offline")
    assert await page.locator("li.share-row").count() == 0
    await expect(page.locator("#questions-section")).to_be_hidden()
    await page.context.close()
    assert all("status of 404" in e for e in errors)  # the stream and the feedback: 404, as for anyone else's
