// Learnloop author's dashboard: plain JavaScript, no framework, no build step, no third-party code.
// Every piece of server or user data goes into the page through textContent or attributes, never innerHTML.
// Charts are hand-drawn SVG: each bar carries its label and value as text and its own fill pattern (readable
// without colour), and each chart has a visually hidden table with the same numbers.
"use strict";

(() => {
  const TOKEN_KEY = "learnloop.token"; // the same key as notify's inbox page
  const PAGE_SIZE = 20;
  const QUESTIONS_PAGE = 50;
  const REFRESH_DEBOUNCE_MS = 250; // a burst of `changed` events becomes one refetch
  const MAX_BACKOFF_MS = 30000;
  const IDLE_TIMEOUT_MS = 45000; // the server sends a keep-alive every 15 s
  const SVG_NS = "http://www.w3.org/2000/svg";
  const STAGES = [
    { key: "recipients", label: "Delivered" },
    { key: "opened", label: "Opened" },
    { key: "learned", label: "Learned" },
    { key: "applied", label: "Applied" },
    { key: "passed", label: "Passed check", short: "Passed" },
  ];
  const PATTERNS = ["solid", "diagonal", "dots", "cross", "vertical"];

  const $ = (id) => document.getElementById(id);
  const ui = {
    signIn: $("sign-in"), form: $("sign-in-form"), tokenInput: $("token-input"), signInError: $("sign-in-error"),
    who: $("who"), whoName: $("who-name"), signOut: $("sign-out"),
    listView: $("list-view"), listTitle: $("list-title"), shares: $("shares"), more: $("more"),
    listEmpty: $("list-empty"), listError: $("list-error"), listRefresh: $("list-refresh"),
    shareView: $("share-view"), shareTitle: $("share-title"), shareMeta: $("share-meta"), shareError: $("share-error"),
    live: $("live"), funnel: $("funnel"), remind: $("remind"), remindResult: $("remind-result"),
    ratings: $("ratings"), ratingsSummary: $("ratings-summary"),
    checksSection: $("checks-section"), checks: $("checks"), checksSummary: $("checks-summary"),
    questions: $("questions"), questionsCount: $("questions-count"), questionsEmpty: $("questions-empty"),
    questionsMore: $("questions-more"),
    answerResult: $("answer-result"),
    teamsSection: $("teams-section"), teams: $("teams"), teamsEmpty: $("teams-empty"), csv: $("csv"),
    announcer: $("announcer"),
  };

  const state = {
    token: null,
    sub: null,
    rows: new Map(), // share id -> row of GET /v1/me/shares
    nextCursor: null,
    shareId: null, // the share shown in the share view
    view: null, // AbortController of the share view (its stream and requests)
    refreshTimer: null,
    questionIds: null, // ids of the questions shown, once the share's questions were loaded
    recipients: 0, // of the share shown (from its feedback)
    lastRefresh: 0, // when its feedback was last asked for (ms)
    seq: 0, // a response never overwrites what a newer request showed
    remindTimer: null,
    retryMs: 2000,
    attempt: 0,
  };

  class AuthFailed extends Error {}

  // ---- small DOM helpers ----
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    return fill(node, attrs, children);
  }

  function svg(tag, attrs, ...children) {
    return fill(document.createElementNS(SVG_NS, tag), attrs, children);
  }

  function fill(node, attrs, children) {
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key === "class" && node.namespaceURI !== SVG_NS) node.className = value;
      else if (key === "text") node.textContent = value;
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children) {
      if (child === null || child === undefined || child === false) continue;
      node.append(typeof child === "string" ? document.createTextNode(child) : child);
    }
    return node;
  }

  function formatTime(iso) {
    const d = new Date(iso);
    return Number.isNaN(d.getTime()) ? String(iso) : d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
  }

  function percent(x) {
    return `${Math.round(Number(x) * 100)} %`;
  }

  function duration(seconds) {
    if (seconds === null || seconds === undefined || !Number.isFinite(Number(seconds))) return "—";
    const s = Math.round(Number(seconds));
    if (s < 60) return `${s} s`;
    if (s < 3600) return `${Math.round(s / 60)} min`;
    if (s < 86400) return `${Number((s / 3600).toFixed(1))} h`;
    return `${Number((s / 86400).toFixed(1))} d`;
  }

  const count = (x) => (Number.isFinite(Number(x)) ? Number(x) : 0);

  // ---- token handling (as on the inbox page) ----
  function jwtPayload(token) {
    const part = token.split(".")[1];
    if (!part) return null;
    try {
      const b64 = part.replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(part.length / 4) * 4, "=");
      const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const payload = JSON.parse(new TextDecoder().decode(bytes));
      return payload && typeof payload === "object" ? payload : null;
    } catch {
      return null;
    }
  }

  function checkToken(token) {
    const payload = jwtPayload(token);
    if (!payload || typeof payload.sub !== "string" || !payload.sub) return { error: "That does not look like a Learnloop token (no user in it)." };
    if (typeof payload.exp === "number" && payload.exp * 1000 < Date.now()) return { error: "That token has expired; create a new one." };
    return { sub: payload.sub };
  }

  /** A token in the fragment (`#token=…`, kept with `&share=…`) is taken and dropped from the address bar. */
  function tokenFromFragment() {
    const params = new URLSearchParams(location.hash.slice(1));
    const token = params.get("token");
    if (token === null) return null;
    params.delete("token");
    const rest = params.toString();
    history.replaceState(null, "", location.pathname + location.search + (rest ? `#${rest}` : ""));
    return token.trim() || null;
  }

  function signIn(token, fromUser) {
    const checked = checkToken(token);
    if (checked.error) {
      ui.signInError.textContent = checked.error;
      if (!fromUser && localStorage.getItem(TOKEN_KEY) === token) localStorage.removeItem(TOKEN_KEY);
      return false;
    }
    localStorage.setItem(TOKEN_KEY, token);
    state.token = token;
    state.sub = checked.sub;
    ui.signInError.textContent = "";
    ui.tokenInput.value = "";
    ui.whoName.textContent = checked.sub;
    ui.who.hidden = false;
    ui.signIn.hidden = true;
    state.rows.clear();
    route();
    return true;
  }

  function signOut(message) {
    closeShare();
    localStorage.removeItem(TOKEN_KEY);
    state.token = state.sub = null;
    state.rows.clear();
    ui.shares.replaceChildren();
    ui.who.hidden = true;
    ui.listView.hidden = true;
    ui.shareView.hidden = true;
    ui.signIn.hidden = false;
    ui.signInError.textContent = message || "";
    ui.tokenInput.focus();
  }

  // ---- HTTP (learn, same origin) ----
  async function api(path, { method = "GET", body, signal } = {}) {
    const headers = { Authorization: `Bearer ${state.token}` };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const r = await fetch(path, {
      method, headers, signal, cache: "no-store", credentials: "omit",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (r.status === 401) {
      signOut("Your token was rejected (expired or wrong secret). Sign in again.");
      throw new AuthFailed();
    }
    return r;
  }

  async function problemText(r) {
    try {
      const p = await r.json();
      return p && (p.detail || p.title) ? String(p.detail || p.title) : "";
    } catch {
      return "";
    }
  }

  function quiet(promise, where) {
    return promise.catch((e) => {
      if (e instanceof AuthFailed || (e && e.name === "AbortError")) return;
      (where || ui.listError).textContent = `Could not reach the learn service: ${e && e.message ? e.message : e}`;
    });
  }

  const sharePath = (id, rest) => `/v1/shares/${encodeURIComponent(id)}${rest}`;

  // ---- routing: #share=<id> shows one share, anything else the list ----
  function route() {
    if (!state.token) return;
    const id = new URLSearchParams(location.hash.slice(1)).get("share");
    if (id) openShare(id);
    else showList();
  }

  // ---- charts ----
  function patternDefs(prefix) {
    const defs = svg("defs");
    const make = (name, ...shapes) => defs.append(svg("pattern", { id: `${prefix}-${name}`, width: 6, height: 6, patternUnits: "userSpaceOnUse" },
      svg("rect", { width: 6, height: 6, class: name === "solid" ? "pat-solid" : "pat-bg" }), ...shapes));
    make("solid");
    make("diagonal", svg("path", { d: "M-1,1 l2,-2 M0,6 l6,-6 M5,7 l2,-2", class: "pat-line" }));
    make("dots", svg("circle", { cx: 3, cy: 3, r: 1.3, class: "pat-dot" }));
    make("cross", svg("path", { d: "M0,3 h6 M3,0 v6", class: "pat-line" }));
    make("vertical", svg("path", { d: "M2,0 v6", class: "pat-line" }));
    return defs;
  }

  let chartSeq = 0;

  /**
   * A horizontal bar chart: rows [{key, label, value, text, barText?}], bars scaled to `max`; `barText` (default
   * `text`) is written beside the bar, `text` in the table. Returns a figure with
   * the SVG (role img, its summary as aria-label) and a visually hidden table with the same numbers.
   */
  function barChart(name, caption, rows, max, compact) {
    const prefix = `c${++chartSeq}`;
    const rowH = compact ? 16 : 26;
    const labelW = compact ? 62 : 110;
    const width = compact ? 260 : 520;
    const barMax = width - labelW - (compact ? 40 : 90);
    const height = rows.length * rowH + 4;
    const summary = `${caption}: ${rows.map((r) => `${r.label} ${r.text}`).join(", ")}`;
    const chart = svg("svg", {
      viewBox: `0 0 ${width} ${height}`, width: compact ? width : undefined, height: compact ? height : undefined,
      class: `chart${compact ? " compact" : ""}`, role: "img", "aria-label": summary, focusable: "false",
    }, patternDefs(prefix));
    rows.forEach((r, i) => {
      const y = i * rowH + 2;
      const w = max > 0 ? Math.max(r.value > 0 ? 2 : 0, (r.value / max) * barMax) : 0;
      const pattern = PATTERNS[i % PATTERNS.length];
      const g = svg("g", { class: `bar bar-${i}`, "data-key": r.key });
      g.append(svg("text", { x: 0, y: y + rowH * 0.62, class: "bar-label", text: compact ? r.short || r.label : r.label }));
      g.append(
        svg("rect", { x: labelW, y: y + 2, width: barMax, height: rowH - 6, class: "track" }),
        svg("rect", { x: labelW, y: y + 2, width: w, height: rowH - 6, fill: `url(#${prefix}-${pattern})`, class: "fill" }),
        svg("text", { x: labelW + w + 4, y: y + rowH * 0.62, class: "bar-value", text: r.barText || r.text }),
      );
      chart.append(g);
    });
    const table = el("table", { class: "sr-only", "data-chart": name },
      el("caption", { text: caption }),
      el("tbody", null, ...rows.map((r) => el("tr", null,
        el("th", { scope: "row", text: r.label }),
        el("td", { "data-key": r.key, "data-value": r.value, text: r.text }))),
      ));
    return el("figure", { class: "figure", "data-chart": name }, chart, table);
  }

  function funnelRows(counts, hasChecks) {
    return STAGES.filter((s) => s.key !== "passed" || hasChecks)
      .map((s) => ({ key: s.key, label: s.label, short: s.short, value: count(counts[s.key]), text: String(count(counts[s.key])) }));
  }

  // ---- the list of the author's shares ----
  function showList() {
    closeShare();
    ui.shareView.hidden = true;
    ui.listView.hidden = false;
    document.title = "Learnloop dashboard";
    quiet(loadList());
  }

  async function loadList(cursor) {
    ui.listError.textContent = "";
    const r = await api(`/v1/me/shares?limit=${PAGE_SIZE}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
    if (!r.ok) {
      ui.listError.textContent = `Could not load your shares (HTTP ${r.status}).`;
      return;
    }
    const body = await r.json();
    const items = Array.isArray(body.items) ? body.items : [];
    if (!cursor) {
      state.rows.clear();
      ui.shares.replaceChildren();
    }
    for (const item of items) {
      state.rows.set(item.share_id, item);
      ui.shares.append(renderRow(item));
    }
    state.nextCursor = body.next_cursor || null;
    ui.more.hidden = !state.nextCursor;
    ui.listEmpty.hidden = state.rows.size > 0;
  }

  function renderRow(item) {
    const funnel = barChart("funnel", `Funnel of “${item.title}”`, funnelRows(item, item.has_checks), count(item.recipients), true);
    const facts = [`Published ${formatTime(item.published_at)}`];
    if (item.due_at) facts.push(`due ${formatTime(item.due_at)}`);
    facts.push(`${count(item.completed)} completed, ${count(item.pending)} pending, ${count(item.overdue)} overdue`);
    return el("li", { class: `share-row${item.status === "retracted" ? " retracted" : ""}`, "data-share-id": item.share_id },
      el("div", { class: "row-head" },
        el("a", { href: `#share=${encodeURIComponent(item.share_id)}`, class: "share-link", text: item.title }),
        item.status === "retracted" ? el("span", { class: "chip status-retracted", text: "Retracted" }) : null,
        item.has_checks ? el("span", { class: "chip", text: "Knowledge check" }) : null),
      el("p", { class: "muted facts", text: facts.join(" · ") }),
      funnel);
  }

  // ---- one share ----
  function closeShare() {
    if (state.view) state.view.abort();
    state.view = null;
    state.shareId = null;
    state.questionIds = null;
    state.recipients = 0;
    clearTimeout(state.refreshTimer);
    clearTimeout(state.remindTimer);
    setLive("offline", "Offline");
  }

  function openShare(id) {
    if (state.shareId === id && state.view) return;
    closeShare();
    state.shareId = id;
    state.view = new AbortController();
    ui.listView.hidden = true;
    ui.shareView.hidden = false;
    const row = state.rows.get(id);
    ui.shareTitle.textContent = row ? row.title : "Loading…";
    for (const node of [ui.shareMeta, ui.shareError, ui.remindResult, ui.answerResult]) node.textContent = "";
    ui.remind.disabled = false;
    ui.funnel.replaceChildren();
    ui.ratings.replaceChildren();
    ui.questions.replaceChildren();
    ui.checksSection.hidden = true;
    ui.teamsSection.hidden = true;
    delete ui.shareView.dataset.found;
    ui.shareTitle.focus();
    stream(state.view, id);
  }

  /** Each refetch counts the share's acknowledgements on the server: a large audience is refetched less often. */
  function refreshGapMs() {
    return state.recipients > 100000 ? 15000 : state.recipients > 10000 ? 5000 : 0;
  }

  function scheduleRefresh() {
    clearTimeout(state.refreshTimer);
    const wait = Math.max(REFRESH_DEBOUNCE_MS, state.lastRefresh + refreshGapMs() - Date.now());
    state.refreshTimer = setTimeout(() => refreshShare(), wait);
  }

  async function refreshShare() {
    const id = state.shareId;
    const view = state.view;
    if (!id || !view) return;
    const seq = ++state.seq;
    state.lastRefresh = Date.now();
    const opts = { signal: view.signal };
    const current = () => state.shareId === id && state.view === view && seq === state.seq;
    await Promise.all([
      quiet(loadFeedback(id, opts, current), ui.shareError),
      quiet(loadQuestions(id, opts, current), ui.shareError),
      quiet(loadReport(id, opts, current), ui.shareError),
    ]);
  }

  async function loadFeedback(id, opts, current) {
    const r = await api(sharePath(id, "/feedback"), opts);
    if (!current()) return;
    ui.shareView.dataset.found = String(r.status !== 404);
    if (r.status === 404) {
      ui.shareTitle.textContent = "Share not found";
      ui.shareError.textContent = "There is no share of yours with this id (or learn has not heard of it yet).";
      return;
    }
    if (!r.ok) {
      ui.shareError.textContent = `Could not load the feedback (HTTP ${r.status}).`;
      return;
    }
    const fb = await r.json();
    if (!current()) return;
    ui.shareError.textContent = "";
    const row = state.rows.get(id);
    const checks = fb.checks && typeof fb.checks === "object" ? fb.checks : null;
    const hasChecks = Boolean(checks || (row && row.has_checks));
    state.recipients = count(fb.recipients);
    const asked = count(fb.questions_total);
    ui.questionsCount.textContent = asked ? `(${asked})` : "";
    ui.shareTitle.textContent = fb.title;
    document.title = `${fb.title} · Learnloop dashboard`;
    const meta = [`Requires: ${fb.requires || "learned"}`];
    if (fb.due_at) meta.push(`due ${formatTime(fb.due_at)}`);
    if (fb.revision > 1) meta.push(`revision ${fb.revision}`);
    ui.shareMeta.textContent = meta.join(" · ");

    const counts = { ...fb, passed: checks ? count(checks.passed) : 0 };
    ui.funnel.replaceChildren(barChart("funnel", "Funnel", funnelRows(counts, hasChecks), count(fb.recipients), false));
    for (const k of ["completed", "pending", "overdue"]) {
      const dd = $(`count-${k}`);
      dd.textContent = String(count(fb[k]));
      dd.dataset.count = String(count(fb[k]));
    }
    showRatings(fb.ratings || {});
    showChecks(checks);
  }

  function showRatings(ratings) {
    const n = count(ratings.count);
    ui.ratingsSummary.textContent = n
      ? `${n} rating${n === 1 ? "" : "s"}, average ${Number(ratings.average).toFixed(2)} out of 5.`
      : "No ratings yet.";
    const dist = ratings.distribution && typeof ratings.distribution === "object" ? ratings.distribution : null;
    if (!dist) {
      ui.ratings.replaceChildren();
      return;
    }
    const rows = [5, 4, 3, 2, 1].map((s) => ({
      key: String(s), label: `${s} star${s === 1 ? "" : "s"}`, value: count(dist[String(s)]), text: String(count(dist[String(s)])),
    }));
    ui.ratings.replaceChildren(barChart("ratings", "Ratings distribution", rows, Math.max(1, ...rows.map((r) => r.value)), false));
  }

  function showChecks(checks) {
    ui.checksSection.hidden = !checks;
    if (!checks) return;
    const attempted = count(checks.attempted);
    const parts = [`${attempted} attempted`, `${count(checks.passed)} passed`];
    if (attempted) {
      parts.push(`pass rate ${percent(checks.pass_rate)}`);
      parts.push(`${Number(checks.average_attempts || 0).toFixed(1)} attempts on average`);
    }
    ui.checksSummary.textContent = parts.join(" · ");
    ui.checksSummary.dataset.attempted = String(attempted);
    ui.checksSummary.dataset.passed = String(count(checks.passed));
    const questions = Array.isArray(checks.questions) ? checks.questions : [];
    const rows = questions.map((q) => ({
      key: String(q.index), label: `Q${count(q.index) + 1}`, value: Number(q.correct_rate) || 0,
      text: attempted ? `${percent(q.correct_rate)} right` : "no attempts", barText: attempted ? percent(q.correct_rate) : "—",
    }));
    const list = el("ol", { class: "check-questions" }, ...questions.map((q) => el("li", { text: String(q.question) })));
    ui.checks.replaceChildren(barChart("checks", "Correct answers per question (latest attempt)", rows, 1, false), list);
  }

  // ---- questions and answers ----
  async function loadQuestions(id, opts, current) {
    const r = await api(sharePath(id, `/questions?limit=${QUESTIONS_PAGE}`), opts);
    if (!current()) return;
    if (!r.ok) return;
    const body = await r.json();
    if (!current()) return;
    const items = Array.isArray(body.items) ? body.items : [];
    // Questions that arrived while the page was open are announced (not those of the first load).
    const known = state.questionIds;
    const fresh = known ? items.filter((q) => !known.has(q.id)) : [];
    state.questionIds = new Set([...(known || []), ...items.map((q) => q.id)]);
    if (fresh.length) ui.announcer.textContent = fresh.length === 1 ? `New question from ${fresh[0].from}.` : `${fresh.length} new questions.`;
    ui.questionsMore.hidden = !body.next_cursor;
    ui.questionsEmpty.hidden = items.length > 0;
    // Keep what the author is typing: a reload replaces the threads, not the answer boxes being filled in.
    const typing = new Map([...ui.questions.querySelectorAll("li.question")].map((li) => [li.dataset.id, li.querySelector("input").value]));
    const focused = document.activeElement && document.activeElement.closest ? document.activeElement.closest("li.question") : null;
    const focusId = focused ? focused.dataset.id : null;
    ui.questions.replaceChildren(...items.map((q) => renderQuestion(id, q, typing.get(q.id) || "")));
    if (focusId) {
      const input = ui.questions.querySelector(`li.question[data-id="${CSS.escape(focusId)}"] input`);
      if (input) input.focus();
    }
  }

  function renderQuestion(shareId, q, typed) {
    const answers = Array.isArray(q.answers) ? q.answers : [];
    const input = el("input", { type: "text", maxlength: 5000, required: true, placeholder: "Your answer…", "aria-label": `Answer to: ${q.text}` });
    input.value = typed;
    const form = el("form", { class: "answer-form" }, input, el("button", { type: "submit", text: "Answer" }));
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      quiet(answer(shareId, q.id, input, form), ui.answerResult);
    });
    const more = count(q.answers_total) - answers.length;
    return el("li", { class: "question", "data-id": q.id, "data-public": q.public ? "true" : "false" },
      el("p", { class: "q-head" }, el("strong", { text: q.from }), " asked ",
        el("time", { datetime: q.at, text: formatTime(q.at) }), q.public ? el("span", { class: "chip public", text: "Public" }) : null),
      el("p", { class: "q-text", text: q.text }),
      el("ul", { class: "answers", "aria-label": "Answers" }, ...answers.map((a) => el("li", { class: "answer" },
        el("strong", { text: a.from }), ": ", a.text, " ", el("time", { datetime: a.at, text: formatTime(a.at) })))),
      more > 0 ? el("p", { class: "muted older", text: `${more} earlier answer${more === 1 ? "" : "s"} not shown` }) : null,
      form);
  }

  async function answer(shareId, questionId, input, form) {
    const text = input.value.trim();
    if (!text) return;
    const button = form.querySelector("button");
    button.disabled = true;
    ui.answerResult.dataset.state = "pending";
    ui.answerResult.textContent = "Sending your answer…";
    try {
      const r = await api(sharePath(shareId, `/questions/${encodeURIComponent(questionId)}/answers`), { method: "POST", body: { text } });
      if (r.status === 201) {
        input.value = "";
        ui.answerResult.dataset.state = "ok";
        ui.answerResult.textContent = "Answer sent.";
        scheduleRefresh();
      } else {
        ui.answerResult.dataset.state = "error";
        const detail = await problemText(r);
        ui.answerResult.textContent = `Answer not sent (HTTP ${r.status}${detail ? `: ${detail}` : ""}).`;
      }
    } finally {
      button.disabled = false;
    }
  }

  // ---- reminders ----
  async function remindNow() {
    const id = state.shareId;
    if (!id) return;
    ui.remind.disabled = true;
    ui.remindResult.dataset.state = "pending";
    ui.remindResult.textContent = "Sending reminders…";
    let r;
    try {
      r = await api(sharePath(id, "/reminders"), { method: "POST", signal: state.view && state.view.signal });
    } catch (e) {
      ui.remind.disabled = false;
      throw e;
    }
    ui.remindResult.dataset.status = String(r.status);
    if (r.status === 202) {
      const body = await r.json().catch(() => ({}));
      const n = count(body.pending);
      ui.remindResult.dataset.state = "ok";
      ui.remindResult.textContent = n === 1 ? "Reminding the 1 recipient who has not completed it."
        : n ? `Reminding ${n} recipients who have not completed it.` : "Everyone has completed it: nobody to remind.";
      ui.remind.disabled = false;
      return;
    }
    ui.remindResult.dataset.state = "error";
    if (r.status === 429) {
      const wait = Number.parseInt(r.headers.get("Retry-After") || "", 10);
      const seconds = Number.isFinite(wait) && wait > 0 ? wait : 60;
      const until = new Date(Date.now() + seconds * 1000);
      ui.remindResult.textContent = `Recipients were reminded recently. You can remind them again in ${duration(seconds)} (at ${until.toLocaleTimeString(undefined, { timeStyle: "short" })}).`;
      clearTimeout(state.remindTimer);
      state.remindTimer = setTimeout(() => { ui.remind.disabled = false; }, Math.min(seconds * 1000, 2 ** 31 - 1));
      return;
    }
    ui.remind.disabled = r.status === 410;
    const detail = await problemText(r);
    ui.remindResult.textContent = r.status === 410 ? "The share was retracted: no more reminders." : `Not sent (HTTP ${r.status}${detail ? `: ${detail}` : ""}).`;
  }

  // ---- per team (GET …/report; absent from a learn without reports: the section stays hidden) ----
  async function loadReport(id, opts, current) {
    const r = await api(sharePath(id, "/report"), opts);
    if (!current()) return;
    if (!r.ok) {
      ui.teamsSection.hidden = true;
      return;
    }
    const report = await r.json();
    if (!current()) return;
    const teams = Array.isArray(report.by_team) ? report.by_team : [];
    const withPassed = state.rows.get(id)?.has_checks || !ui.checksSection.hidden;
    const columns = [
      ["recipients", "Recipients"], ["opened", "Opened"], ["learned", "Learned"], ["applied", "Applied"],
      ...(withPassed ? [["passed", "Passed"]] : []), ["pending", "Pending"], ["overdue", "Overdue"],
    ];
    const head = el("tr", null, el("th", { scope: "col", text: "Team" }), ...columns.map(([, label]) => el("th", { scope: "col", text: label })),
      el("th", { scope: "col", text: "Median time to learn" }));
    ui.teams.tHead.replaceChildren(head);
    const rows = teams.map((t) => el("tr", { "data-team-id": t.team_id },
      el("th", { scope: "row", text: t.name || t.team_id }),
      ...columns.map(([key]) => el("td", { "data-key": key, text: String(count(t[key])) })),
      el("td", { "data-key": "median_time_to_learn_s", text: duration(t.median_time_to_learn_s) })));
    ui.teams.tBodies[0].replaceChildren(...rows);
    ui.teamsEmpty.hidden = teams.length > 0;
    ui.teams.hidden = teams.length === 0;
    ui.teamsSection.hidden = false;
  }

  async function downloadCsv() {
    const id = state.shareId;
    if (!id) return;
    const r = await api(sharePath(id, "/report.csv"));
    if (!r.ok) {
      ui.shareError.textContent = `Could not download the CSV (HTTP ${r.status}).`;
      return;
    }
    const url = URL.createObjectURL(await r.blob());
    const a = el("a", { href: url, download: `share-${id}.csv`, hidden: true });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  }

  // ---- live: the share's feedback stream (SSE over fetch(): EventSource cannot send Authorization) ----
  function setLive(s, text) {
    ui.live.dataset.state = s;
    ui.live.textContent = text;
  }

  function sseParser(onEvent) {
    let buffer = "";
    let type = "";
    let data = [];
    const line = (l) => {
      if (l === "") {
        if (data.length) onEvent({ type: type || "message", data: data.join("\n") });
        type = "";
        data = [];
        return;
      }
      if (l.startsWith(":")) return; // comment (keep-alive)
      const colon = l.indexOf(":");
      const field = colon < 0 ? l : l.slice(0, colon);
      let value = colon < 0 ? "" : l.slice(colon + 1);
      if (value.startsWith(" ")) value = value.slice(1);
      if (field === "event") type = value;
      else if (field === "data") data.push(value);
      else if (field === "retry" && /^\d+$/.test(value)) state.retryMs = Number(value);
    };
    return (chunk) => {
      buffer += chunk;
      const keep = buffer.endsWith("\r") ? 1 : 0; // maybe the first half of CRLF
      const text = buffer.slice(0, buffer.length - keep);
      const lines = text.split(/\r\n|\r|\n/);
      buffer = lines.pop() + buffer.slice(buffer.length - keep);
      lines.forEach(line);
    };
  }

  async function streamOnce(view, id) {
    const conn = new AbortController();
    const abort = () => conn.abort();
    view.signal.addEventListener("abort", abort);
    let idle = null;
    const touch = () => {
      clearTimeout(idle);
      idle = setTimeout(() => conn.abort(), IDLE_TIMEOUT_MS);
    };
    try {
      touch();
      const r = await fetch(sharePath(id, "/feedback/stream"), {
        headers: { Authorization: `Bearer ${state.token}`, Accept: "text/event-stream" },
        signal: conn.signal, cache: "no-store", credentials: "omit",
      });
      if (r.status === 401) throw new AuthFailed();
      if (r.status === 404) {
        setLive("offline", "Not live");
        await refreshShare(); // says what is wrong (not the caller's share, or not known yet)
        return false;
      }
      if (!r.ok || !r.body) throw new Error(`HTTP ${r.status}`);
      state.attempt = 0;
      setLive("live", "Live");
      // The server watches from now on: whatever was stored before is in what we load now.
      await refreshShare();
      const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
      const feed = sseParser((ev) => {
        if (ev.type === "changed") scheduleRefresh();
      });
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        touch();
        feed(value);
      }
      return true;
    } finally {
      clearTimeout(idle);
      view.signal.removeEventListener("abort", abort);
    }
  }

  async function stream(view, id) {
    setLive("connecting", "Connecting…");
    while (!view.signal.aborted) {
      try {
        if ((await streamOnce(view, id)) === false) return;
      } catch (e) {
        if (e instanceof AuthFailed) {
          signOut("Your token was rejected (expired or wrong secret). Sign in again.");
          return;
        }
      }
      if (view.signal.aborted) return;
      const delay = Math.min(MAX_BACKOFF_MS, state.retryMs * 2 ** state.attempt) * (0.75 + Math.random() * 0.5);
      state.attempt = Math.min(state.attempt + 1, 10);
      setLive("reconnecting", `Reconnecting in ${Math.round(delay / 1000)} s…`);
      await new Promise((resolve) => {
        const t = setTimeout(resolve, delay);
        view.signal.addEventListener("abort", () => { clearTimeout(t); resolve(); }, { once: true });
      });
    }
  }

  // ---- wiring ----
  ui.form.addEventListener("submit", (e) => {
    e.preventDefault();
    signIn(ui.tokenInput.value.trim(), true);
  });
  ui.signOut.addEventListener("click", () => signOut(""));
  ui.more.addEventListener("click", () => quiet(loadList(state.nextCursor)));
  ui.listRefresh.addEventListener("click", () => quiet(loadList()));
  ui.remind.addEventListener("click", () => quiet(remindNow(), ui.remindResult));
  ui.csv.addEventListener("click", () => quiet(downloadCsv(), ui.shareError));
  window.addEventListener("hashchange", () => {
    if (location.hash.includes("token=")) {
      const token = tokenFromFragment();
      if (token) signIn(token, true);
      return;
    }
    route();
  });
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState !== "visible" || !state.token) return;
    if (state.shareId) scheduleRefresh();
    else if (!ui.listView.hidden) quiet(loadList());
  });
  window.addEventListener("storage", (e) => {
    if (e.key !== TOKEN_KEY) return;
    if (e.newValue) signIn(e.newValue, false);
    else signOut("");
  });

  const fromFragment = tokenFromFragment();
  const saved = fromFragment || localStorage.getItem(TOKEN_KEY);
  if (!saved || !signIn(saved, false)) ui.tokenInput.focus();
})();
