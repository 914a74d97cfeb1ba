// Learnloop inbox page: plain JavaScript, no framework, no build step.
// Every piece of server or user data goes into the page through textContent or attributes, never innerHTML.
"use strict";

(() => {
  const cfg = JSON.parse(document.getElementById("learnloop-config").textContent || "{}");
  const TOKEN_KEY = "learnloop.token";
  const PAGE_SIZE = 50;
  const MAX_BACKOFF_MS = 30000;
  const IDLE_TIMEOUT_MS = 45000; // the server sends a keep-alive every 15 s
  const ACK_LABELS = { opened: "Opened", learned: "Learned", applied: "Applied", rated: "Rating", question: "Question" };
  // How each notification kind is labelled. `recipient` kinds are about a share the user received: they get the
  // acknowledge buttons and the ask form. Kinds not listed here (a newer notify) still show, labelled by their kind.
  const KINDS = {
    "share.delivered": { label: "Share", cls: "kind-share", recipient: true },
    reminder: { label: "Reminder", cls: "kind-reminder", recipient: true },
    "share.revised": { label: "Revised", cls: "kind-revised", recipient: true },
    answer: { label: "Answer", cls: "kind-answer", recipient: false },
    overdue: { label: "Overdue", cls: "kind-overdue", recipient: false },
    built_on: { label: "Built on", cls: "kind-built-on", recipient: false },
    feedback: { label: "Feedback", cls: "kind-feedback", recipient: false },
  };
  const kindInfo = (kind) => KINDS[kind] || { label: String(kind), cls: "kind-other", recipient: false };
  const REQUIRES_VERB = { opened: "open it", learned: "learn it", applied: "apply it" };
  const STATE_BATCH = 100; // GET /v1/me/learning/state takes 1-100 share ids
  const STATE_DEBOUNCE_MS = 150; // a burst of live notifications becomes one state request
  const STATE_RETRIES_MS = [1000, 2000, 4000, 8000]; // learn hears of a delivery over Kafka, maybe after notify
  const QUESTIONS_PAGE = 50;

  const $ = (id) => document.getElementById(id);
  const ui = {
    signIn: $("sign-in"), form: $("sign-in-form"), tokenInput: $("token-input"), signInError: $("sign-in-error"),
    who: $("who"), whoName: $("who-name"), signOut: $("sign-out"),
    section: $("inbox-section"), list: $("inbox"), empty: $("empty"), more: $("more"), error: $("inbox-error"),
    unread: $("unread"), live: $("live"), readAll: $("read-all"), announcer: $("announcer"),
  };

  const state = {
    token: null,
    sub: null,
    entries: new Map(), // notification id -> { note, li }
    nextCursor: null,
    lastEventId: null,
    listLoaded: false,
    retryMs: 2000,
    attempt: 0,
    session: null, // AbortController for everything tied to the signed-in session
    reconnectTimer: null,
  };

  // The recipient's own state per share, from learn's GET /v1/me/learning/state.
  const learning = {
    supported: true, // false once learn answered 404 (a learn without that endpoint): the page works as before
    byShare: new Map(), // share id -> state item, or null when learn has none for the caller
    seq: 0, // request counter: a response never overwrites a newer one or a newer local action
    applied: new Map(), // share id -> seq of what is shown
    wanted: new Set(), // share ids waiting for the debounced request
    retries: new Map(), // share id -> how many times an absent state was asked again
    timer: null,
    dueTimer: null,
  };

  class AuthFailed extends Error {}

  // ---- small DOM helper: el("p", {class: "x"}, "text", child) ----
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children) {
      if (child === null || child === undefined || child === false) continue;
      node.append(typeof child === "string" ? document.createTextNode(child) : child);
    }
    return node;
  }

  // ---- token handling ----
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

  function tokenFromFragment() {
    if (!location.hash.includes("token=")) return null;
    const token = new URLSearchParams(location.hash.slice(1)).get("token");
    // Drop the token from the address bar and history.
    history.replaceState(null, "", location.pathname + location.search);
    return token ? token.trim() : null;
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
    ui.section.hidden = false;
    start();
    return true;
  }

  function forgetLearning() {
    clearTimeout(learning.timer);
    clearTimeout(learning.dueTimer);
    learning.supported = true;
    delete ui.section.dataset.learnState;
    learning.byShare.clear();
    learning.applied.clear();
    learning.wanted.clear();
    learning.retries.clear();
  }

  function signOut(message) {
    stop();
    forgetLearning();
    localStorage.removeItem(TOKEN_KEY);
    state.token = state.sub = null;
    clearList();
    ui.who.hidden = true;
    ui.section.hidden = true;
    ui.signIn.hidden = false;
    ui.signInError.textContent = message || "";
    setUnread(0);
    ui.tokenInput.focus();
  }

  // ---- HTTP ----
  async function call(base, path, { method = "GET", body, signal } = {}) {
    const headers = { Authorization: `Bearer ${state.token}` };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    return fetch(base + path, {
      method, headers, signal, cache: "no-store", credentials: "omit",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  }

  async function notify(path, options = {}) {
    const r = await call("", path, { ...options, signal: state.session && state.session.signal });
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

  function showError(message) {
    ui.error.textContent = message || "";
  }

  function quiet(promise) {
    return promise.catch((e) => {
      if (e instanceof AuthFailed || (e && e.name === "AbortError")) return;
      showError(`Could not reach the inbox: ${e && e.message ? e.message : e}`);
    });
  }

  // ---- unread counter ----
  function setUnread(n) {
    ui.unread.dataset.count = String(n);
    ui.unread.textContent = `${n} unread`;
    ui.unread.classList.toggle("zero", n === 0);
    ui.readAll.disabled = n === 0;
    document.title = n > 0 ? `(${n}) Learnloop inbox` : "Learnloop inbox";
  }

  async function refreshUnread() {
    const r = await notify("/v1/notifications/unread-count");
    if (r.ok) setUnread((await r.json()).unread);
  }

  // ---- the list ----
  function clearList() {
    state.entries.clear();
    state.nextCursor = null;
    ui.list.replaceChildren();
    ui.more.hidden = true;
    ui.empty.hidden = true;
  }

  function formatTime(iso) {
    const d = new Date(iso);
    return Number.isNaN(d.getTime()) ? iso : d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
  }

  function safeUrl(url) {
    if (typeof url !== "string" || !url) return null;
    try {
      const u = new URL(url);
      return u.protocol === "http:" || u.protocol === "https:" ? u.href : null;
    } catch {
      return null;
    }
  }

  function render(note) {
    const info = kindInfo(note.kind);
    const li = el("li", {
      class: `item ${info.cls}`,
      "data-id": note.id, "data-kind": note.kind, "data-share-id": note.share_id,
    });
    const titleId = `t-${cssId(note.id)}`;
    const head = el("div", { class: "item-head" },
      el("span", { class: "tag", text: info.label }),
      el("h3", { class: "title", id: titleId, text: note.title }),
      el("time", { datetime: note.created_at, text: formatTime(note.created_at) }),
      el("button", { type: "button", class: "link mark-read", text: "Mark read" }),
    );
    li.append(
      el("span", { class: "sr-only unread-label", text: "Unread: " }),
      head,
      el("p", { class: "text", text: note.text }),
      el("p", { class: "retracted-note", text: "The author retracted this share.", hidden: !note.retracted_at }),
      el("div", { class: "state", role: "group", "aria-label": "What you did with this share", hidden: true }),
    );
    if (info.recipient) li.append(actions(note, titleId), checkPanel(note));
    li.append(questionsPanel(note));
    li.addEventListener("click", () => {
      const entry = state.entries.get(note.id);
      if (entry && !entry.note.read_at) quiet(markRead(entry));
    });
    return li;
  }

  function cssId(id) {
    return String(id).replace(/[^A-Za-z0-9_-]/g, "_");
  }

  function currentNote(note) {
    const entry = state.entries.get(note.id);
    return entry ? entry.note : note;
  }

  function actions(note, titleId) {
    const out = el("output", { class: "result", role: "status", "aria-live": "polite" });
    const group = el("div", { class: "actions", role: "group", "aria-labelledby": titleId });
    const url = safeUrl(note.url);
    const open = el("a", { class: "button open", href: url || undefined, target: "_blank", rel: "noopener noreferrer", text: "Open", hidden: !url });
    const recordOpen = () => acknowledge(currentNote(note), { kind: "opened" }, out, open);
    open.addEventListener("click", recordOpen);
    open.addEventListener("auxclick", (e) => { if (e.button === 1) recordOpen(); });
    group.append(open);
    for (const kind of ["learned", "applied"]) {
      const b = el("button", { type: "button", "data-ack": kind, text: ACK_LABELS[kind] });
      b.addEventListener("click", () => {
        // A share with a knowledge check is learned by passing it: the button leads there instead.
        if (kind === "learned" && mustPassCheck(currentNote(note))) {
          out.dataset.state = "info";
          out.dataset.kind = kind;
          delete out.dataset.status;
          out.textContent = "Learned: pass the knowledge check first.";
          quiet(openCheck(b.closest("li.item"), { focus: true }));
          return;
        }
        acknowledge(currentNote(note), { kind }, out, b);
      });
      group.append(b);
    }
    const rating = el("span", { class: "rating", role: "group", "aria-label": "Rate from 1 to 5" },
      el("span", { class: "muted", "aria-hidden": "true", text: "Rate" }));
    for (let n = 1; n <= 5; n++) {
      const b = el("button", { type: "button", class: "star", "data-ack": "rated", "data-rating": n, "aria-label": `Rate ${n} out of 5`, text: String(n) });
      b.addEventListener("click", () => acknowledge(currentNote(note), { kind: "rated", rating: n }, out, b, rating));
      rating.append(b);
    }
    group.append(rating);
    const question = el("input", { type: "text", name: "question", maxlength: 5000, required: true, placeholder: "Ask the author…", "aria-label": "Your question for the author" });
    const publicBox = el("input", { type: "checkbox", name: "public", class: "public" });
    const publicLabel = el("label", { class: "public-label", title: "A public question and its answers can be read by every recipient of the share; a private one only by you and the author." },
      publicBox, " Public question (every recipient can read it)");
    const ask = el("form", { class: "ask" }, question, publicLabel, el("button", { type: "submit", "data-ack": "question", text: "Ask" }));
    ask.addEventListener("submit", async (e) => {
      e.preventDefault();
      const text = question.value.trim();
      if (!text) return;
      // `public` is sent only when ticked: false is learn's default, and a learn that predates public questions
      // (its body model forbids unknown fields) still takes private ones.
      const body = publicBox.checked ? { kind: "question", text, public: true } : { kind: "question", text };
      const ok = await acknowledge(currentNote(note), body, out, ask.querySelector("button[type=submit]"));
      if (ok) {
        question.value = "";
        publicBox.checked = false;
        reloadThreads(note.share_id);
      }
    });
    group.append(ask, out);
    return group;
  }

  function ackLabel(body) {
    if (body.kind === "rated") return `${ACK_LABELS.rated} ${body.rating}/5`;
    if (body.kind === "question" && body.public) return "Public question";
    return ACK_LABELS[body.kind];
  }

  function whyNot(status) {
    if (status === 401) return "your token was rejected";
    if (status === 404) return "this share is not visible to you";
    if (status === 410) return "the author retracted this share";
    return `HTTP ${status}`;
  }

  async function acknowledge(note, body, out, button, exclusiveGroup) {
    const label = ackLabel(body);
    out.dataset.state = "pending";
    out.dataset.kind = body.kind;
    delete out.dataset.status;
    out.textContent = `${label}: sending…`;
    const path = `/v1/shares/${encodeURIComponent(note.share_id)}/acknowledgements`;
    let r;
    // learn hears of a delivery over Kafka on its own; right after the notification it may not know it yet.
    for (const wait of [500, 1000, 2000, 0]) {
      try {
        r = await call(cfg.learnUrl, path, { method: "POST", body });
      } catch {
        out.dataset.state = "error";
        out.textContent = `${label}: could not reach the learn service.`;
        return false;
      }
      if (r.status !== 404 || !wait) break;
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
    out.dataset.status = String(r.status);
    if (r.status === 201 || r.status === 200) {
      const ack = await r.json().catch(() => ({}));
      out.dataset.state = "ok";
      out.textContent = r.status === 201 ? `${label}: recorded.`
        : ack.outcome === "replaced" ? `${label}: updated.` : `${label}: already recorded.`;
      if (exclusiveGroup) {
        for (const b of exclusiveGroup.querySelectorAll("[aria-pressed]")) {
          b.removeAttribute("aria-pressed");
          b.classList.remove("done");
        }
      }
      if (button && body.kind !== "question") {
        if (button.tagName === "BUTTON") button.setAttribute("aria-pressed", "true"); // not on a link
        button.classList.add("done");
      }
      localChange(note.share_id);
      return true;
    }
    out.dataset.state = "error";
    const detail = await problemText(r);
    if (r.status === 409) {
      // learn refuses `learned` until the knowledge check is passed: say why and open the check.
      out.textContent = `${label}: not recorded (${detail || "not allowed now"}).`;
      if (body.kind === "learned" && button) quiet(openCheck(button.closest("li.item"), { focus: true }));
      return false;
    }
    out.textContent = `${label}: not recorded (${whyNot(r.status)}${detail && r.status !== 404 ? `: ${detail}` : ""}).`;
    if (r.status === 410) localChange(note.share_id);
    return false;
  }

  // ---- the recipient's state per share (learn's GET /v1/me/learning/state) ----
  function entriesOf(shareId) {
    return [...state.entries.values()].filter((e) => e.note.share_id === shareId);
  }

  /** The user just changed something at learn: drop answers to requests sent before, and ask again. */
  function localChange(shareId) {
    learning.applied.set(shareId, ++learning.seq);
    wantState([shareId]);
  }

  function wantState(shareIds, delay = STATE_DEBOUNCE_MS) {
    if (!learning.supported || !state.token) return;
    for (const id of shareIds) if (id) learning.wanted.add(id);
    if (!learning.wanted.size) return;
    clearTimeout(learning.timer);
    learning.timer = setTimeout(() => quiet(flushState()), delay);
  }

  function wantAllStates() {
    wantState(new Set([...state.entries.values()].map((e) => e.note.share_id)));
  }

  async function flushState() {
    const ids = [...learning.wanted];
    learning.wanted.clear();
    for (let i = 0; i < ids.length && learning.supported; i += STATE_BATCH) await fetchState(ids.slice(i, i + STATE_BATCH));
  }

  async function fetchState(ids) {
    const seq = ++learning.seq;
    const query = ids.map((id) => `share_id=${encodeURIComponent(id)}`).join("&");
    let r;
    try {
      r = await call(cfg.learnUrl, `/v1/me/learning/state?${query}`, { signal: state.session && state.session.signal });
    } catch (e) {
      if (e && e.name === "AbortError") return;
      return; // learn unreachable: keep what is shown; the next notification or action asks again
    }
    if (r.status === 404) {
      // A learn without this endpoint: show no state rather than a wrong one; everything else works as before.
      learning.supported = false;
      ui.section.dataset.learnState = "unsupported";
      for (const id of learning.byShare.keys()) for (const entry of entriesOf(id)) showState(entry, null);
      learning.byShare.clear();
      return;
    }
    if (!r.ok) return;
    const body = await r.json().catch(() => null);
    if (!body || !Array.isArray(body.items)) return;
    const got = new Map(body.items.filter((i) => i && typeof i.share_id === "string").map((i) => [i.share_id, i]));
    const again = [];
    for (const id of ids) {
      if ((learning.applied.get(id) || 0) > seq) continue; // a newer answer or a local action is shown
      learning.applied.set(id, seq);
      const item = got.get(id) || null;
      learning.byShare.set(id, item);
      for (const entry of entriesOf(id)) showState(entry, item);
      if (item) {
        learning.retries.delete(id);
      } else if (entriesOf(id).some((e) => kindInfo(e.note.kind).recipient)) {
        // Notified of a share learn does not list for us (yet): its delivery may still be on its way to learn.
        const n = learning.retries.get(id) || 0;
        if (n < STATE_RETRIES_MS.length) {
          learning.retries.set(id, n + 1);
          again.push([id, STATE_RETRIES_MS[n]]);
        }
      }
    }
    for (const [id, wait] of again) setTimeout(() => wantState([id]), wait);
    scheduleDueRefresh();
  }

  /** When a pending share's due date passes, learn calls it overdue: ask again just after that moment. */
  function scheduleDueRefresh() {
    clearTimeout(learning.dueTimer);
    const now = Date.now();
    let next = Infinity;
    for (const item of learning.byShare.values()) {
      if (!item || item.status !== "pending" || !item.due_at) continue;
      const t = Date.parse(item.due_at);
      if (t > now && t < next) next = t;
    }
    if (next === Infinity) return;
    learning.dueTimer = setTimeout(wantAllStates, Math.min(next - now + 500, 2 ** 31 - 1));
  }

  function chip(fact, text, extra) {
    return el("span", { class: `chip ${extra || ""}`.trim(), "data-fact": fact, text });
  }

  function statusText(item) {
    const verb = REQUIRES_VERB[item.requires] || "complete it";
    if (item.status === "completed") return item.completed_at ? `Completed ${formatTime(item.completed_at)}` : "Completed";
    if (item.status === "retracted") return "Retracted by the author";
    if (item.status === "overdue") return `Overdue: ${verb}`;
    return `Pending: ${verb}`;
  }

  /** Shows learn's state for the share on one list item, and presses the buttons for what was done. */
  function showState(entry, item) {
    const box = entry.li.querySelector(".state");
    const group = entry.li.querySelector(".actions");
    if (!item) {
      box.hidden = true;
      box.replaceChildren();
      for (const k of ["status", "acknowledged", "rating", "check"]) delete box.dataset[k];
      return;
    }
    const acknowledged = Array.isArray(item.acknowledged) ? item.acknowledged : [];
    const rating = Number.isInteger(item.rating) ? item.rating : null;
    const asked = Number.isInteger(item.questions_asked) ? item.questions_asked : 0;
    const earlier = [...new Set(Array.isArray(item.completed_revisions) ? item.completed_revisions : [])]
      .filter((rev) => item.status !== "completed" || rev !== item.revision);
    box.dataset.status = String(item.status);
    box.dataset.acknowledged = acknowledged.join(" ");
    box.dataset.rating = rating === null ? "" : String(rating);
    const parts = [chip("status", statusText(item), `status-${cssId(item.status)}`)];
    for (const kind of ["opened", "learned", "applied"]) {
      if (acknowledged.includes(kind)) parts.push(chip(kind, `${ACK_LABELS[kind]} ✓`));
    }
    if (rating !== null) parts.push(chip("rating", `Rated ${rating}/5`));
    if (item.due_at) parts.push(chip("due", `${item.status === "overdue" ? "Was due" : "Due"} ${formatTime(item.due_at)}`));
    if (asked) parts.push(chip("questions", `${asked} question${asked === 1 ? "" : "s"} asked`));
    const checks = item.checks && typeof item.checks === "object" ? item.checks : null;
    box.dataset.check = checks ? (checks.passed ? "passed" : "open") : "";
    if (checks) parts.push(chip("check", checkStateText(checks), checks.passed ? "check-passed" : ""));
    if (earlier.length) {
      const which = `revision${earlier.length === 1 ? "" : "s"} ${earlier.join(", ")}`;
      parts.push(chip("earlier", item.status === "completed" ? `Also completed ${which}` : `Completed ${which}`));
    }
    box.replaceChildren(...parts);
    box.hidden = false;
    entry.li.classList.toggle("retracted", item.status === "retracted");
    const checkBox = entry.li.querySelector("section.check");
    if (checkBox && (checks || entry.note.has_checks)) checkBox.hidden = false;
    // Passed elsewhere (another item of the share, another tab): an open form of this item is out of date.
    if (checkBox && checks && checks.passed && checkBox.dataset.passed === "false"
      && checkBox.querySelector("button.take-check").getAttribute("aria-expanded") === "true") {
      quiet(openCheck(entry.li));
    }
    if (!group) return;
    const open = group.querySelector("a.open");
    if (open) open.classList.toggle("done", acknowledged.includes("opened"));
    for (const b of group.querySelectorAll("button[data-ack]")) {
      const kind = b.dataset.ack;
      const done = kind === "rated" ? rating !== null && Number(b.dataset.rating) === rating
        : kind !== "question" && acknowledged.includes(kind);
      if (kind !== "question") {
        if (done) b.setAttribute("aria-pressed", "true");
        else b.removeAttribute("aria-pressed");
        b.classList.toggle("done", done);
      }
      b.disabled = item.status === "retracted";
    }
  }

  // ---- knowledge checks (learn's /v1/shares/{id}/checks): questions without answers, attempts graded by learn ----
  function checkStateText(checks) {
    if (checks.passed) return "Check passed ✓";
    const used = Number.isInteger(checks.attempts_used) ? checks.attempts_used : 0;
    const max = Number.isInteger(checks.max_attempts) ? checks.max_attempts : 0;
    if (max && used >= max) return "Check not passed: no attempts left";
    return `Check: ${used} of ${max} attempt${max === 1 ? "" : "s"} used`;
  }

  /** Whether the share has a check the user has not passed: from learn's state, else from the notification. */
  function mustPassCheck(note) {
    const item = learning.byShare.get(note.share_id);
    if (item && item.checks && typeof item.checks === "object") return !item.checks.passed;
    return Boolean(note.has_checks);
  }

  const checks = new WeakMap(); // check panel -> the check as loaded, kept current by attempts

  function percent(x) {
    return `${Math.round(Number(x) * 100)}%`;
  }

  function checkPanel(note) {
    const bodyId = `c-${cssId(note.id)}`;
    const box = el("section", { class: "check", "aria-label": "Knowledge check", hidden: !note.has_checks });
    const toggle = el("button", { type: "button", class: "take-check", "aria-expanded": "false", "aria-controls": bodyId, text: "Take the check" });
    const body = el("div", { class: "check-body", id: bodyId, hidden: true, "aria-busy": "false" });
    const out = el("output", { class: "check-result", role: "status", "aria-live": "polite" });
    toggle.addEventListener("click", () => {
      if (toggle.getAttribute("aria-expanded") === "true") {
        toggle.setAttribute("aria-expanded", "false");
        body.hidden = true;
      } else {
        quiet(openCheck(box.closest("li.item")));
      }
    });
    box.append(toggle, body, out);
    return box;
  }

  function shareOfItem(li) {
    const entry = li && state.entries.get(li.dataset.id);
    return entry ? entry.note.share_id : null;
  }

  /** Opens the item's check panel and loads the check (again); with ``focus`` the first choice gets focus. */
  async function openCheck(li, { focus = false } = {}) {
    const box = li && li.querySelector("section.check");
    const shareId = shareOfItem(li);
    if (!box || !shareId) return;
    const toggle = box.querySelector("button.take-check");
    const body = box.querySelector(".check-body");
    box.hidden = false;
    toggle.setAttribute("aria-expanded", "true");
    body.hidden = false;
    body.setAttribute("aria-busy", "true");
    const path = `/v1/shares/${encodeURIComponent(shareId)}/checks`;
    let r;
    // As for acknowledgements: right after the notification learn may not know the share yet.
    for (const wait of [500, 1000, 2000, 0]) {
      try {
        r = await call(cfg.learnUrl, path, { signal: state.session && state.session.signal });
      } catch (e) {
        body.setAttribute("aria-busy", "false");
        if (e && e.name === "AbortError") return;
        body.replaceChildren(el("p", { class: "error", text: "Could not reach the learn service." }));
        return;
      }
      if (r.status !== 404 || !wait) break;
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
    body.setAttribute("aria-busy", "false");
    if (!r.ok) {
      const detail = await problemText(r);
      const text = r.status === 404 && detail ? detail : `The check cannot be shown (${whyNot(r.status)}).`;
      body.replaceChildren(el("p", { class: "muted", "data-status": r.status, text }));
      return;
    }
    const check = await r.json().catch(() => null);
    if (!check || !Array.isArray(check.items)) {
      body.replaceChildren(el("p", { class: "error", text: "learn sent a check this page cannot read." }));
      return;
    }
    renderCheck(shareId, box, check);
    if (focus) {
      const first = body.querySelector("input[type=radio]:not(:disabled)") || toggle;
      first.focus();
    }
  }

  function checkSummary(check) {
    const n = check.items.length;
    const used = check.attempts_used;
    const max = check.max_attempts;
    const mark = `pass mark ${percent(check.pass_mark)}`;
    return `${n} question${n === 1 ? "" : "s"}, ${mark}, ${used} of ${max} attempt${max === 1 ? "" : "s"} used.`;
  }

  function renderCheck(shareId, box, loaded) {
    const body = box.querySelector(".check-body");
    const out = box.querySelector("output.check-result");
    const used = Number.isInteger(loaded.attempts_used) ? loaded.attempts_used : 0;
    const max = Number.isInteger(loaded.max_attempts) ? loaded.max_attempts : 0;
    const check = { items: loaded.items, pass_mark: loaded.pass_mark, attempts_used: used, max_attempts: max, passed: Boolean(loaded.passed) };
    checks.set(box, check);
    delete out.dataset.state;
    delete out.dataset.status;
    out.textContent = "";
    box.dataset.passed = check.passed ? "true" : "false";
    box.dataset.attemptsLeft = String(Math.max(0, max - used));
    const info = el("p", { class: "check-info", text: checkSummary(check) });
    const form = el("form", { class: "check-form", novalidate: true });
    const key = Math.random().toString(36).slice(2, 8);
    check.items.forEach((q, i) => {
      const index = Number.isInteger(q.index) ? q.index : i;
      const fs = el("fieldset", { class: "check-question", "data-index": index });
      fs.append(el("legend", { text: `${i + 1}. ${q.question}` }));
      const name = `chk-${cssId(shareId)}-${key}-${index}`;
      (Array.isArray(q.choices) ? q.choices : []).forEach((choice, c) => {
        fs.append(el("label", { class: "choice" }, el("input", { type: "radio", name, value: c }), ` ${choice}`));
      });
      fs.append(el("p", { class: "verdict", hidden: true }));
      form.append(fs);
    });
    const submit = el("button", { type: "submit", text: "Submit answers" });
    form.append(submit);
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      quiet(submitCheck(shareId, box, form));
    });
    const closed = check.passed ? "You passed this knowledge check." : max && used >= max ? "No attempts left: you did not pass this knowledge check." : "";
    if (closed) {
      for (const input of form.querySelectorAll("input, button")) input.disabled = true;
      out.dataset.state = check.passed ? "ok" : "error";
      out.textContent = closed;
    }
    body.replaceChildren(info, form);
  }

  async function submitCheck(shareId, box, form) {
    const out = box.querySelector("output.check-result");
    const questions = [...form.querySelectorAll("fieldset.check-question")];
    const answers = questions.map((fs) => {
      const picked = fs.querySelector("input[type=radio]:checked");
      return picked ? Number(picked.value) : null;
    });
    const missing = answers.findIndex((a) => a === null);
    delete out.dataset.status;
    if (missing >= 0) {
      out.dataset.state = "error";
      out.textContent = `Answer every question first (question ${missing + 1} has no answer).`;
      questions[missing].querySelector("input[type=radio]").focus();
      return;
    }
    out.dataset.state = "pending";
    out.textContent = "Check: sending your answers…";
    const submit = form.querySelector("button[type=submit]");
    submit.disabled = true;
    const path = `/v1/shares/${encodeURIComponent(shareId)}/checks/attempts`;
    let r;
    try {
      r = await call(cfg.learnUrl, path, { method: "POST", body: { answers } });
    } catch {
      submit.disabled = false;
      out.dataset.state = "error";
      out.textContent = "Check: could not reach the learn service.";
      return;
    }
    out.dataset.status = String(r.status);
    if (r.status !== 201 && r.status !== 200) {
      submit.disabled = false;
      out.dataset.state = "error";
      const detail = await problemText(r);
      out.textContent = r.status === 409 || r.status === 422
        ? `Check: not graded (${detail || `HTTP ${r.status}`}).`
        : `Check: not graded (${whyNot(r.status)}).`;
      if (r.status === 409) localChange(shareId); // passed or out of attempts (maybe in another tab)
      return;
    }
    const result = await r.json().catch(() => ({}));
    const correct = Array.isArray(result.correct) ? result.correct : [];
    questions.forEach((fs, i) => {
      const verdict = fs.querySelector(".verdict");
      const right = correct[i] === true;
      fs.dataset.result = right ? "right" : "wrong";
      verdict.textContent = right ? "✓ Right" : "✗ Wrong";
      verdict.hidden = false;
    });
    const check = checks.get(box);
    const used = Number.isInteger(result.attempt) ? result.attempt : check.attempts_used + 1;
    check.attempts_used = used;
    check.passed = Boolean(result.passed);
    const left = Math.max(0, check.max_attempts - used);
    box.querySelector(".check-info").textContent = checkSummary(check);
    box.dataset.passed = result.passed ? "true" : "false";
    box.dataset.attemptsLeft = String(left);
    box.dataset.score = String(result.score);
    const right = correct.filter((c) => c === true).length;
    const score = `Score ${percent(result.score)} (${right} of ${questions.length} right)`;
    if (result.passed) {
      for (const input of form.querySelectorAll("input, button")) input.disabled = true;
      out.dataset.state = "ok";
      out.textContent = `${score}: passed. Learned is recorded.`;
      // The item's "Learned" said to pass the check first: that is done now.
      const said = box.closest("li.item").querySelector(".actions output.result");
      if (said && said.dataset.kind === "learned" && said.dataset.state === "info") {
        said.dataset.state = "ok";
        said.textContent = "Learned: recorded by passing the check.";
      }
    } else {
      out.dataset.state = "error";
      out.textContent = left > 0
        ? `${score}: not passed. ${left} attempt${left === 1 ? "" : "s"} left.`
        : `${score}: not passed. No attempts left.`;
      submit.disabled = left === 0;
      if (left === 0) for (const input of form.querySelectorAll("input")) input.disabled = true;
    }
    localChange(shareId);
  }

  // ---- questions and answers (learn's /v1/shares/{id}/questions) ----
  function questionsPanel(note) {
    const details = el("details", { class: "questions" });
    // The thread is re-rendered on every reload, so it is not a live region itself (it would be read out in
    // full each time); what happens is said by the panel's status output and the page's announcer.
    const thread = el("div", { class: "thread", "aria-busy": "false" });
    const out = el("output", { class: "thread-result", role: "status", "aria-live": "polite" });
    details.append(el("summary", { text: "Questions and answers" }), thread, out);
    details.addEventListener("toggle", () => {
      if (details.open) quiet(loadThread(note.share_id, details));
    });
    return details;
  }

  function reloadThreads(shareId) {
    for (const entry of entriesOf(shareId)) {
      const details = entry.li.querySelector("details.questions");
      if (details && details.open) quiet(loadThread(shareId, details));
    }
  }

  async function loadThread(shareId, details, cursor) {
    const thread = details.querySelector(".thread");
    const out = details.querySelector("output.thread-result");
    thread.setAttribute("aria-busy", "true");
    const path = `/v1/shares/${encodeURIComponent(shareId)}/questions?limit=${QUESTIONS_PAGE}`
      + (cursor ? `&cursor=${encodeURIComponent(cursor)}` : "");
    let r;
    try {
      r = await call(cfg.learnUrl, path, { signal: state.session && state.session.signal });
    } catch (e) {
      thread.setAttribute("aria-busy", "false");
      if (e && e.name === "AbortError") return;
      thread.replaceChildren(el("p", { class: "error", text: "Could not reach the learn service." }));
      return;
    }
    thread.setAttribute("aria-busy", "false");
    if (!r.ok) {
      const text = r.status === 404 ? "No questions to show: learn does not list questions for this share to you."
        : `Could not load the questions (${whyNot(r.status)}).`;
      thread.replaceChildren(el("p", { class: "muted", "data-status": r.status, text }));
      return;
    }
    const page = await r.json().catch(() => ({ items: [] }));
    const items = Array.isArray(page.items) ? page.items : [];
    if (!cursor) {
      thread.replaceChildren();
      thread.dataset.loaded = "true";
      if (!items.length) thread.append(el("p", { class: "muted empty-thread", text: "No questions yet." }));
      thread.append(el("ol", { class: "question-list" }));
    }
    const list = thread.querySelector(".question-list");
    for (const q of items) list.append(renderQuestion(shareId, q, out));
    const oldMore = thread.querySelector("button.more-questions");
    if (oldMore) oldMore.remove();
    if (page.next_cursor) {
      const more = el("button", { type: "button", class: "more-questions", text: "More questions" });
      more.addEventListener("click", () => quiet(loadThread(shareId, details, page.next_cursor)));
      thread.append(more);
    }
  }

  function renderQuestion(shareId, q, out) {
    const headId = `q-${cssId(shareId)}-${cssId(q.id)}-${Math.random().toString(36).slice(2, 8)}`;
    const li = el("li", { class: "question", "data-question-id": q.id, "data-public": q.public ? "true" : "false", "aria-labelledby": headId });
    li.append(
      el("p", { class: "q-head", id: headId },
        el("span", { class: `chip ${q.public ? "public" : "private"}`, text: q.public ? "Public" : "Private" }), " ",
        el("strong", { class: "from", text: q.from }), " asked ",
        el("time", { datetime: q.at, text: formatTime(q.at) })),
      el("p", { class: "q-text", text: q.text }),
    );
    const answers = el("ul", { class: "answers", "aria-label": `Answers to ${q.from}'s question` });
    for (const a of Array.isArray(q.answers) ? q.answers : []) {
      answers.append(el("li", { class: "answer", "data-answer-id": a.id },
        el("strong", { class: "from", text: a.from }), " ",
        el("time", { datetime: a.at, text: formatTime(a.at) }), ": ",
        el("span", { class: "a-text", text: a.text })));
    }
    if (!answers.children.length) answers.append(el("li", { class: "muted no-answers", text: "No answers yet." }));
    li.append(answers);
    // learn lists the latest answers of a question (oldest first) and counts them all in answers_total.
    if (Number.isInteger(q.answers_total) && q.answers_total > answers.querySelectorAll(".answer").length) {
      li.append(el("p", { class: "muted older-answers", text: `Showing the latest ${answers.querySelectorAll(".answer").length} of ${q.answers_total} answers.` }));
    }
    li.append(answerForm(shareId, q, out));
    return li;
  }

  function answerForm(shareId, q, out) {
    const inputId = `a-${cssId(shareId)}-${cssId(q.id)}-${Math.random().toString(36).slice(2, 8)}`;
    const input = el("input", { id: inputId, type: "text", name: "answer", maxlength: 5000, required: true });
    const form = el("form", { class: "answer-form" },
      el("label", { for: inputId, text: "Your answer" }), input,
      el("button", { type: "submit", text: "Answer" }));
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const text = input.value.trim();
      if (!text) return;
      out.dataset.state = "pending";
      delete out.dataset.status;
      out.textContent = "Answer: sending…";
      const path = `/v1/shares/${encodeURIComponent(shareId)}/questions/${encodeURIComponent(q.id)}/answers`;
      let r;
      try {
        r = await call(cfg.learnUrl, path, { method: "POST", body: { text } });
      } catch {
        out.dataset.state = "error";
        out.textContent = "Answer: could not reach the learn service.";
        return;
      }
      out.dataset.status = String(r.status);
      if (r.status === 201 || r.status === 200) {
        input.value = "";
        out.dataset.state = "ok";
        out.textContent = "Answer: sent.";
        reloadThreads(shareId);
        localChange(shareId);
        return;
      }
      out.dataset.state = "error";
      const detail = await problemText(r);
      const why = r.status === 404 ? "you cannot answer this question" : whyNot(r.status);
      out.textContent = `Answer: not sent (${why}${detail && r.status !== 404 ? `: ${detail}` : ""}).`;
    });
    return form;
  }

  function applyRead(entry) {
    const unread = !entry.note.read_at;
    entry.li.classList.toggle("unread", unread);
    entry.li.querySelector(".unread-label").textContent = unread ? "Unread: " : "";
  }

  /** A notification arriving live carries the share's current title and url: show them on its other items too. */
  function refreshShareTexts(note) {
    for (const entry of entriesOf(note.share_id)) {
      if (entry.note.id === note.id) continue;
      if (typeof note.title === "string" && note.title !== entry.note.title) {
        entry.note.title = note.title;
        entry.li.querySelector(".title").textContent = note.title;
      }
      if (note.url !== undefined && note.url !== entry.note.url) {
        entry.note.url = note.url;
        const open = entry.li.querySelector("a.open");
        const url = safeUrl(note.url);
        if (open) {
          if (url) open.setAttribute("href", url);
          else open.removeAttribute("href");
          open.hidden = !url;
        }
      }
    }
  }

  function announce(note) {
    const info = kindInfo(note.kind);
    if (note.kind === "share.delivered") return `New share: ${note.title}`;
    if (note.kind === "feedback") return `New feedback: ${note.text}`;
    return `${info.label}: ${note.text}`;
  }

  function upsert(note, { live = false, append = false } = {}) {
    const known = state.entries.get(note.id);
    if (known) {
      known.note = { ...known.note, ...note };
      known.li.querySelector(".title").textContent = known.note.title;
      known.li.querySelector(".retracted-note").hidden = !known.note.retracted_at;
      applyRead(known);
      return false;
    }
    const li = render(note);
    const entry = { note, li, live };
    state.entries.set(note.id, entry);
    applyRead(entry);
    if (learning.byShare.has(note.share_id)) showState(entry, learning.byShare.get(note.share_id));
    if (append) {
      ui.list.append(li);
    } else {
      // Keep newest first, even if a live event overtakes a slightly newer one.
      const t = Date.parse(note.created_at);
      let before = null;
      for (const other of ui.list.children) {
        const o = state.entries.get(other.dataset.id);
        if (o && Date.parse(o.note.created_at) <= t) { before = other; break; }
      }
      ui.list.insertBefore(li, before);
    }
    if (live) {
      li.classList.add("fresh");
      setTimeout(() => li.classList.remove("fresh"), 4000);
      ui.announcer.textContent = announce(note);
      refreshShareTexts(note);
    }
    ui.empty.hidden = true;
    return true;
  }

  async function loadInbox() {
    const r = await notify(`/v1/notifications?limit=${PAGE_SIZE}`);
    if (!r.ok) {
      showError(`Could not load the inbox (HTTP ${r.status}).`);
      return;
    }
    const page = await r.json();
    const arrived = [...state.entries.values()].filter((e) => e.live).map((e) => e.note);
    clearList();
    showError("");
    for (const note of page.items) upsert(note, { append: true });
    for (const note of arrived) if (!state.entries.has(note.id)) upsert(note); // streamed in while loading
    state.nextCursor = page.next_cursor;
    state.listLoaded = true;
    ui.more.hidden = !page.next_cursor;
    ui.empty.hidden = page.items.length > 0;
    learning.supported = true; // learn may have been upgraded since it last answered 404
    delete ui.section.dataset.learnState;
    wantAllStates();
    await refreshUnread();
  }

  async function loadMore() {
    if (!state.nextCursor) return;
    const r = await notify(`/v1/notifications?limit=${PAGE_SIZE}&cursor=${encodeURIComponent(state.nextCursor)}`);
    if (!r.ok) return showError(`Could not load older notifications (HTTP ${r.status}).`);
    const page = await r.json();
    for (const note of page.items) upsert(note, { append: true });
    state.nextCursor = page.next_cursor;
    ui.more.hidden = !page.next_cursor;
    wantState(page.items.map((n) => n.share_id));
  }

  async function markRead(entry) {
    entry.note.read_at = new Date().toISOString();
    applyRead(entry);
    const r = await notify(`/v1/notifications/${encodeURIComponent(entry.note.id)}/read`, { method: "POST" });
    if (r.ok) upsert(await r.json());
    await refreshUnread();
  }

  async function readAll() {
    const r = await notify("/v1/notifications/read-all", { method: "POST" });
    if (!r.ok) return showError(`Could not mark all read (HTTP ${r.status}).`);
    const now = new Date().toISOString();
    for (const entry of state.entries.values()) {
      if (!entry.note.read_at) {
        entry.note.read_at = now;
        applyRead(entry);
      }
    }
    await refreshUnread();
  }

  // ---- live updates: Server-Sent Events over fetch() (EventSource cannot send Authorization) ----
  function setLive(s, text) {
    ui.live.dataset.state = s;
    ui.live.textContent = text;
  }

  function sseParser(onEvent) {
    let buffer = "";
    let type = "";
    let data = [];
    let id = null;
    const line = (l) => {
      if (l === "") {
        if (data.length) onEvent({ type: type || "message", data: data.join("\n"), id });
        type = "";
        data = [];
        id = null;
        return;
      }
      if (l.startsWith(":")) return; // comment (keep-alive)
      const colon = l.indexOf(":");
      const field = colon < 0 ? l : l.slice(0, colon);
      let value = colon < 0 ? "" : l.slice(colon + 1);
      if (value.startsWith(" ")) value = value.slice(1);
      if (field === "event") type = value;
      else if (field === "data") data.push(value);
      else if (field === "id" && !value.includes("\0")) id = value;
      else if (field === "retry" && /^\d+$/.test(value)) state.retryMs = Number(value);
    };
    return (chunk) => {
      buffer += chunk;
      // A trailing CR may be the first half of CRLF: keep it for the next chunk.
      const keep = buffer.endsWith("\r") ? 1 : 0;
      const text = buffer.slice(0, buffer.length - keep);
      const lines = text.split(/\r\n|\r|\n/);
      buffer = lines.pop() + buffer.slice(buffer.length - keep);
      lines.forEach(line);
    };
  }

  function onEvent(ev) {
    if (ev.type === "notification") {
      let note;
      try {
        note = JSON.parse(ev.data);
      } catch {
        return;
      }
      if (ev.id) state.lastEventId = ev.id;
      if (upsert(note, { live: true })) quiet(refreshUnread());
      // Whatever arrived (a reminder, a revision, an answer, …), what learn knows may have changed: ask again.
      wantAllStates();
      if (note.kind === "answer") reloadThreads(note.share_id);
    } else if (ev.type === "reset") {
      // The server could not resume after our last event: reload the list; the next event gives a new id.
      state.lastEventId = ev.id || null;
      quiet(loadInbox());
    }
  }

  async function streamOnce(session) {
    const conn = new AbortController();
    const abort = () => conn.abort();
    session.signal.addEventListener("abort", abort);
    let idle = null;
    const touch = () => {
      clearTimeout(idle);
      idle = setTimeout(() => conn.abort(), IDLE_TIMEOUT_MS);
    };
    try {
      const headers = { Authorization: `Bearer ${state.token}`, Accept: "text/event-stream" };
      if (state.lastEventId) headers["Last-Event-ID"] = state.lastEventId;
      touch();
      const r = await fetch("/v1/notifications/stream", { headers, signal: conn.signal, cache: "no-store", credentials: "omit" });
      if (r.status === 401) throw new AuthFailed();
      if (r.status === 422) state.lastEventId = null; // a resume point the server cannot read: start afresh
      if (!r.ok || !r.body) throw new Error(`HTTP ${r.status}`);
      state.attempt = 0;
      // The server is watching from now on: anything stored before is in the list we load now.
      if (!state.lastEventId) await quiet(loadInbox());
      setLive("live", "Live");
      showError("");
      const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
      const feed = sseParser(onEvent);
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        touch();
        feed(value);
      }
    } finally {
      clearTimeout(idle);
      session.signal.removeEventListener("abort", abort);
    }
  }

  async function stream(session) {
    while (!session.signal.aborted) {
      try {
        await streamOnce(session);
      } catch (e) {
        if (e instanceof AuthFailed) {
          signOut("Your token was rejected (expired or wrong secret). Sign in again.");
          return;
        }
        if (!state.listLoaded && !session.signal.aborted) quiet(loadInbox()); // show it even without live updates
      }
      if (session.signal.aborted) return;
      const delay = Math.min(MAX_BACKOFF_MS, state.retryMs * 2 ** state.attempt) * (0.75 + Math.random() * 0.5);
      state.attempt = Math.min(state.attempt + 1, 10);
      setLive("reconnecting", `Reconnecting in ${Math.round(delay / 1000)} s…`);
      await new Promise((resolve) => {
        state.reconnectTimer = setTimeout(resolve, delay);
        session.signal.addEventListener("abort", resolve, { once: true });
      });
    }
  }

  function start() {
    stop();
    forgetLearning();
    state.session = new AbortController();
    state.lastEventId = null;
    state.listLoaded = false;
    state.attempt = 0;
    setLive("connecting", "Connecting…");
    stream(state.session);
  }

  function stop() {
    if (state.session) state.session.abort();
    state.session = null;
    clearTimeout(state.reconnectTimer);
    setLive("offline", "Offline");
  }

  // ---- wiring ----
  ui.form.addEventListener("submit", (e) => {
    e.preventDefault();
    signIn(ui.tokenInput.value.trim(), true);
  });
  ui.signOut.addEventListener("click", () => signOut(""));
  ui.readAll.addEventListener("click", () => quiet(readAll()));
  ui.more.addEventListener("click", () => quiet(loadMore()));
  // Back to a tab left in the background: what was done elsewhere (another tab, the API) shows again.
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible" && state.token) wantAllStates();
  });
  window.addEventListener("storage", (e) => {
    if (e.key !== TOKEN_KEY) return;
    if (e.newValue) signIn(e.newValue, false);
    else signOut("");
  });

  setUnread(0);
  const fromFragment = tokenFromFragment();
  const saved = fromFragment || localStorage.getItem(TOKEN_KEY);
  if (!saved || !signIn(saved, false)) ui.tokenInput.focus();
})();
