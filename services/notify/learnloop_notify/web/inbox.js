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

  function signOut(message) {
    stop();
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
    const isFeedback = note.kind === "feedback";
    const li = el("li", {
      class: `item ${isFeedback ? "kind-feedback" : "kind-share"}`,
      "data-id": note.id, "data-kind": note.kind, "data-share-id": note.share_id,
    });
    const titleId = `t-${cssId(note.id)}`;
    const head = el("div", { class: "item-head" },
      el("span", { class: "tag", text: isFeedback ? "Feedback" : "Share" }),
      el("h3", { class: "title", id: titleId, text: note.title }),
      el("time", { datetime: note.created_at, text: formatTime(note.created_at) }),
      el("button", { type: "button", class: "link mark-read", text: "Mark read" }),
    );
    li.append(
      el("span", { class: "sr-only unread-label", text: "Unread: " }),
      head,
      el("p", { class: "text", text: note.text }),
    );
    if (!isFeedback) li.append(actions(note, titleId));
    li.addEventListener("click", () => {
      const entry = state.entries.get(note.id);
      if (entry && !entry.note.read_at) quiet(markRead(entry));
    });
    return li;
  }

  function cssId(id) {
    return String(id).replace(/[^A-Za-z0-9_-]/g, "_");
  }

  function actions(note, titleId) {
    const out = el("output", { class: "result", role: "status", "aria-live": "polite" });
    const group = el("div", { class: "actions", role: "group", "aria-labelledby": titleId });
    const url = safeUrl(note.url);
    if (url) {
      const open = el("a", { class: "button open", href: url, target: "_blank", rel: "noopener noreferrer", text: "Open" });
      const recordOpen = () => acknowledge(note, { kind: "opened" }, out, open);
      open.addEventListener("click", recordOpen);
      open.addEventListener("auxclick", (e) => { if (e.button === 1) recordOpen(); });
      group.append(open);
    }
    for (const kind of ["learned", "applied"]) {
      const b = el("button", { type: "button", "data-ack": kind, text: ACK_LABELS[kind] });
      b.addEventListener("click", () => acknowledge(note, { kind }, out, b));
      group.append(b);
    }
    const rating = el("span", { class: "rating", role: "group", "aria-label": "Rate from 1 to 5" },
      el("span", { class: "muted", "aria-hidden": "true", text: "Rate" }));
    for (let n = 1; n <= 5; n++) {
      const b = el("button", { type: "button", class: "star", "data-ack": "rated", "data-rating": n, "aria-label": `Rate ${n} out of 5`, text: String(n) });
      b.addEventListener("click", () => acknowledge(note, { kind: "rated", rating: n }, out, b, rating));
      rating.append(b);
    }
    group.append(rating);
    const question = el("input", { type: "text", name: "question", maxlength: 5000, required: true, placeholder: "Ask the author…", "aria-label": "Your question for the author" });
    const ask = el("form", { class: "ask" }, question, el("button", { type: "submit", "data-ack": "question", text: "Ask" }));
    ask.addEventListener("submit", async (e) => {
      e.preventDefault();
      const text = question.value.trim();
      if (!text) return;
      const ok = await acknowledge(note, { kind: "question", text }, out, ask.querySelector("button"));
      if (ok) question.value = "";
    });
    group.append(ask, out);
    return group;
  }

  async function acknowledge(note, body, out, button, exclusiveGroup) {
    const label = ACK_LABELS[body.kind] + (body.kind === "rated" ? ` ${body.rating}/5` : "");
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
        button.setAttribute("aria-pressed", "true");
        button.classList.add("done");
      }
      return true;
    }
    out.dataset.state = "error";
    const detail = await problemText(r);
    const why = r.status === 401 ? "your token was rejected" : r.status === 404 ? "this share is not visible to you" : `HTTP ${r.status}`;
    out.textContent = `${label}: not recorded (${why}${detail && r.status !== 404 ? `: ${detail}` : ""}).`;
    return false;
  }

  function applyRead(entry) {
    const unread = !entry.note.read_at;
    entry.li.classList.toggle("unread", unread);
    entry.li.querySelector(".unread-label").textContent = unread ? "Unread: " : "";
  }

  function upsert(note, { live = false, append = false } = {}) {
    const known = state.entries.get(note.id);
    if (known) {
      known.note = { ...known.note, ...note };
      applyRead(known);
      return false;
    }
    const li = render(note);
    const entry = { note, li, live };
    state.entries.set(note.id, entry);
    applyRead(entry);
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
      ui.announcer.textContent = note.kind === "feedback" ? `New feedback: ${note.text}` : `New share: ${note.title}`;
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
