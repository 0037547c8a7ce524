// The sandbox page: state from the server's snapshot + live changes (WebSocket), what a person does sent to the
// sandbox's API (which delivers it to the bot as Slack would). No framework, no build step, nothing from the internet.

import { assistantBodyHtml, statusHtml, statusShown } from "./assistant.js";
import { readInputs, renderBlocks } from "./blockkit.js";
import { escapeHtml } from "./mrkdwn.js";
import { colorOf, confirmHtml, context, dmIntroHtml, introHtml, listHtml, modalHtml, roleOf } from "./view.js";

const params = new URLSearchParams(location.search);
const $ = (sel) => document.querySelector(sel);

const state = {
  viewer: params.get("user") || localStorage.getItem("baton.sandbox.user") || "U01ALICE",
  channel: params.get("channel") || localStorage.getItem("baton.sandbox.channel") || "C01GENERAL",
  thread: null,
  app: ["home", "messages"].includes(params.get("app")) ? params.get("app") : null,  // the bot's pane: which tab
  dm: null,                // this viewer's D… conversation with the bot
  home: null,              // the Home view the bot last published for this viewer
  bot: {},
  users: {},
  userOrder: [],
  groups: {},
  channels: [],
  channelNames: {},
  messages: new Map(),     // "channel/ts" -> message
  ephemerals: new Map(),   // ts -> ephemeral (this viewer's only: the server filters)
  views: new Map(),        // id -> modal view (this viewer's only)
  assistant: { thread: null, opening: false, panes: new Map() },  // the AI-app pane: its thread, each thread's pane
  streaming: new Set(),    // "channel/ts" of the messages the app is streaming into now (a typing caret)
  streamed: new Set(),     // ... and of those it ever streamed into: their growing text does not flash
  rated: new Map(),        // "channel/ts" -> the thumb this viewer pressed on that message's feedback buttons
  notices: new Map(),      // viewer -> [Slackbot notices], local like Slack's
  dismissed: new Set(),
  flash: new Set(),
  modalKey: null,
  socket: null,
  retry: 0,
};

// --- state -----------------------------------------------------------------------------------------------------
function load(snap) {
  state.viewer = snap.viewer;
  state.bot = snap.bot;
  state.users = Object.fromEntries(snap.users.map((u) => [u.id, u]));
  state.userOrder = snap.users.filter((u) => !u.is_bot).map((u) => u.id);
  state.groups = Object.fromEntries(snap.usergroups.map((g) => [g.id, g]));
  state.channels = snap.channels;
  state.channelNames = Object.fromEntries(snap.channels.map((c) => [c.id, c.name]));
  state.messages = new Map(snap.messages.map((m) => [`${m.channel}/${m.ts}`, m]));
  state.streaming = new Set(snap.messages.filter((m) => m.streaming).map((m) => `${m.channel}/${m.ts}`));
  state.ephemerals = new Map(snap.ephemerals.map((e) => [e.ts, { ...e, kind: "ephemeral" }]));
  state.views = new Map(snap.views.map((v) => [v.id, v]));
  state.dm = snap.dm_channel;
  state.home = snap.home;
  state.assistant.panes = new Map((snap.assistant || []).map((p) => [p.thread_ts, p]));
  if (state.app) state.channel = state.dm;
  else if (!state.channelNames[state.channel]) state.channel = snap.channels[0]?.id;
  renderAll();
}

function flash(ts) {
  state.flash.add(ts);
  setTimeout(() => { state.flash.delete(ts); }, 1600);
}

function apply(event) {
  if (event.type === "message") {
    const key = `${event.channel}/${event.ts}`;
    if (event.kind === "message_deleted") state.messages.delete(key);
    else {
      if (state.messages.has(key) && !state.streamed.has(key)) flash(event.ts);  // a stream's growth does not flash
      state.messages.set(key, { ...event.message, channel: event.channel });
    }
  } else if (event.type === "ephemeral") {
    const e = event.ephemeral;
    if (event.kind === "ephemeral_deleted") state.ephemerals.delete(e.ts);
    else {
      if (state.ephemerals.has(e.ts)) flash(e.ts);
      state.ephemerals.set(e.ts, { ...e, kind: "ephemeral" });
    }
  } else if (event.type === "stream") {
    const key = `${event.channel}/${event.ts}`;
    state.streamed.add(key);
    if (event.streaming) state.streaming.add(key);
    else state.streaming.delete(key);
  } else if (event.type === "assistant") {
    state.assistant.panes.set(event.pane.thread_ts, event.pane);
  } else if (event.type === "home") {
    state.home = event.view;
  } else if (event.type === "view") {
    if (event.kind === "view_closed") state.views.delete(event.view.id);
    else state.views.set(event.view.id, event.view);
  }
  renderAll();
}

function notices() {
  if (!state.notices.has(state.viewer)) state.notices.set(state.viewer, []);
  return state.notices.get(state.viewer);
}

function notice(text, channel = state.channel, threadTs = null) {
  const ts = (Date.now() / 1000).toFixed(6);
  notices().push({ kind: "notice", ts, channel, thread_ts: threadTs, text });
  renderAll();
}

// --- rendering ---------------------------------------------------------------------------------------------------
function renderAll() {
  document.body.dataset.viewer = state.viewer;
  renderUsers();
  renderSidebar();
  renderChannel();
  renderThread();
  renderAssistant();
  renderModal();
}

function renderUsers() {
  $("#users").innerHTML = state.userOrder.map((id) => {
    const u = state.users[id];
    const active = id === state.viewer;
    return `<button type="button" class="user-chip${active ? " active" : ""}" data-user="${escapeHtml(id)}"
        aria-pressed="${active}"><span class="avatar small" style="background:${colorOf(id)}">${
      escapeHtml((u.real_name || u.name).slice(0, 1))}</span><span class="chip-name">${
      escapeHtml((u.real_name || u.name).split(" ")[0])}</span><span class="chip-role">${escapeHtml(roleOf(u))}</span></button>`;
  }).join("");
}

function renderSidebar() {
  $(".app-link").classList.toggle("active", Boolean(state.app));
  $("#channels").innerHTML = state.channels.map((c) => `<button type="button" class="channel-link${
    c.id === state.channel && !state.app ? " active" : ""}" data-channel="${escapeHtml(c.id)}"><span class="hash">#</span>${
    escapeHtml(c.name)}</button>`).join("");
  const me = state.users[state.viewer];
  $("#me").innerHTML = me ? `<span class="avatar small" style="background:${colorOf(me.id)}">${
    escapeHtml((me.real_name || me.name).slice(0, 1))}</span><span>${escapeHtml(me.real_name || me.name)}</span>` : "";
}

function inChannel(m) {
  return m.channel === state.channel;
}

function replyCounts() {
  const counts = new Map();
  for (const m of state.messages.values()) {
    if (inChannel(m) && m.thread_ts && m.thread_ts !== m.ts) counts.set(m.thread_ts, (counts.get(m.thread_ts) || 0) + 1);
  }
  return counts;
}

function visibleExtras() {
  return [...state.ephemerals.values(), ...notices()].filter((e) => inChannel(e) && !state.dismissed.has(e.ts));
}

const byTs = (a, b) => Number(a.ts) - Number(b.ts);

function keepBottom(el, draw) {
  const atBottom = el.scrollHeight - el.scrollTop - el.clientHeight < 40;
  draw();
  if (atBottom) el.scrollTop = el.scrollHeight;
}

function renderHeader() {
  const botName = state.bot.name || "Baton";
  const icon = $("#pane-icon");
  icon.className = state.app ? "pane-icon-app" : "hash";
  icon.innerHTML = state.app ? `<span class="avatar small" style="background:#4a154b">${escapeHtml(botName.slice(0, 1))}</span>` : "#";
  $("#channel-name").textContent = state.app ? botName : state.channelNames[state.channel] || "";
  $("#app-tabs").hidden = !state.app;
  for (const tab of document.querySelectorAll(".app-tab")) {
    const active = tab.dataset.appTab === state.app;
    tab.classList.toggle("active", active);
    tab.setAttribute("aria-selected", String(active));
  }
  const home = state.app === "home";
  $("#home").hidden = !home;
  $("#messages").hidden = home;
  $("#composer").hidden = home;
}

// The bot's Home tab: whatever view it published for this viewer (views.publish), redrawn live when it publishes.
function renderHome() {
  if (state.app !== "home") return;
  const view = state.home;
  $("#home").innerHTML = view
    ? `<div class="home-view" data-view-id="${escapeHtml(view.id)}">${renderBlocks(view.blocks, context(state))}</div>`
    : `<div class="home-empty">Opening Baton's Home…</div>`;
}

function renderChannel() {
  renderHeader();
  renderHome();
  if (state.app === "home") return;
  const name = state.app ? state.bot.name || "Baton" : state.channelNames[state.channel] || "";
  $("#composer-input").placeholder = state.app ? `Message ${name}` : `Message #${name}`;
  const roots = [...state.messages.values()].filter((m) => inChannel(m) && (!m.thread_ts || m.thread_ts === m.ts));
  const extras = visibleExtras().filter((e) => !e.thread_ts);
  const rows = [...roots, ...extras].sort(byTs);
  const list = $("#messages");
  keepBottom(list, () => {
    list.innerHTML = (state.app ? dmIntroHtml(name) : introHtml(name)) + listHtml(state, rows, { replyCounts: replyCounts() });
  });
}

function renderThread() {
  const pane = $("#thread");
  const parent = !state.assistant.thread && state.thread && state.messages.get(`${state.channel}/${state.thread}`);
  pane.hidden = !parent;
  document.body.classList.toggle("with-thread", Boolean(parent));
  if (!parent) return;
  $("#thread-channel").textContent = state.app ? state.bot.name || "Baton" : `#${state.channelNames[state.channel] || ""}`;
  const replies = [...state.messages.values()].filter((m) => inChannel(m) && m.thread_ts === parent.ts && m.ts !== parent.ts);
  const extras = visibleExtras().filter((e) => e.thread_ts === parent.ts);
  const rows = [...replies, ...extras].sort(byTs);
  const list = $("#thread-messages");
  keepBottom(list, () => {
    list.innerHTML = listHtml(state, [parent], { inThread: true })
      + `<div class="reply-divider"><span>${replies.length} ${replies.length === 1 ? "reply" : "replies"}</span></div>`
      + listHtml(state, rows, { inThread: true });
  });
}

// The assistant pane: the viewer's assistant thread in their DM, beside whatever channel they look at.
function renderAssistant() {
  const thread = state.assistant.thread;
  const pane = $("#assistant");
  const open = Boolean(thread || state.assistant.opening);
  pane.hidden = !open;
  document.body.classList.toggle("with-assistant", open);
  $(".assistant-entry").classList.toggle("active", open);
  if (!open) return;
  const info = thread ? state.assistant.panes.get(thread) : null;
  $("#assistant-title").textContent = info?.title || "New chat";
  const replies = [...state.messages.values()].filter((m) => m.channel === state.dm && m.thread_ts === thread
    && m.ts !== thread);
  const extras = [...state.ephemerals.values(), ...notices()].filter((e) => e.channel === state.dm
    && e.thread_ts === thread && !state.dismissed.has(e.ts));
  const rows = [...replies, ...extras].sort(byTs);
  const list = $("#assistant-messages");
  keepBottom(list, () => {
    list.innerHTML = thread ? assistantBodyHtml(state, info, rows) : `<div class="home-empty">Opening a new chat…</div>`;
  });
  const status = statusShown(info, replies, state.bot.user_id);
  const line = $("#assistant-status");
  line.hidden = !status;
  line.innerHTML = status ? statusHtml(state, status) : "";
}

function topView() {
  const open = [...state.views.values()].filter((v) => v.is_open !== false);
  return open[open.length - 1] || null;
}

function renderModal(errors = null) {
  const view = topView();
  const key = view ? `${view.id}/${view.hash}` : null;
  if (key === state.modalKey && !errors) return;  // keep what the person typed
  state.modalKey = key;
  $("#modal-root").innerHTML = view ? modalHtml(state, view, errors) : "";
  const first = $("#modal-root .bk-input");
  if (first) first.focus();
}

// --- talking to the sandbox ----------------------------------------------------------------------------------------
async function post(path, body) {
  const response = await fetch(path, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ user: state.viewer, ...body }),
  });
  let answer = {};
  try { answer = await response.json(); } catch { answer = { ok: false, error: `HTTP ${response.status}` }; }
  if (!response.ok || answer.ok === false) throw new Error(answer.error || `HTTP ${response.status}`);
  return answer;
}

function connect() {
  if (state.socket) { state.socket.onclose = null; state.socket.close(); }
  document.body.dataset.connected = "false";
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${location.host}/sandbox/ws?user=${encodeURIComponent(state.viewer)}`);
  state.socket = socket;
  socket.onmessage = (msg) => {
    const event = JSON.parse(msg.data);
    if (event.type === "snapshot") {
      load(event);
      if (state.app === "home") openHome();  // a fresh viewer (user switch, reload) opens their own Home
      state.retry = 0;
      document.body.dataset.snapshots = String(Number(document.body.dataset.snapshots || 0) + 1);
      document.body.dataset.connected = "true";
      $("#conn").className = "conn live";
      $("#conn").textContent = "live";
    } else {
      apply(event);
    }
  };
  socket.onclose = () => {
    document.body.dataset.connected = "false";
    $("#conn").className = "conn down";
    $("#conn").textContent = "reconnecting…";
    const delay = Math.min(5000, 250 * 2 ** state.retry++);
    setTimeout(connect, delay);  // the snapshot on reconnect catches up on anything missed
  };
}

async function send(text, threadTs, channel = state.channel) {
  try {
    const answer = await post("/sandbox/api/compose", { channel, text, thread_ts: threadTs || undefined });
    if (answer.notice) notice(answer.notice, channel, threadTs);
  } catch (err) {
    notice(`Could not send: ${err.message}`, channel, threadTs);
  }
}

async function click(button) {
  const message = button.closest(".message");
  const modal = button.closest(".modal, .home-view");  // a view: a modal or the Home tab
  const where = modal
    ? { view_id: modal.dataset.viewId }
    : { channel: message.dataset.channel, message_ts: message.dataset.ts };
  const rating = button.dataset.rating;  // a feedback thumb: Slack sends which one was pressed
  button.disabled = true;
  button.classList.add("loading");
  try {
    const answer = await post("/sandbox/api/action", {
      ...where, action_id: button.dataset.actionId, block_id: button.dataset.blockId, rating,
    });
    if (rating && !answer.notice) {
      state.rated.set(`${where.channel}/${where.message_ts}`, rating);
      renderAll();
    }
    if (answer.notice) notice(answer.notice, where.channel || state.channel, message ? threadOf(message) : null);
  } catch (err) {
    notice(`The click did not reach the app: ${err.message}`);
  } finally {
    button.disabled = false;
    button.classList.remove("loading");
  }
}

function threadOf(messageEl) {
  const ts = messageEl.dataset.ts;
  const m = state.messages.get(`${messageEl.dataset.channel}/${ts}`) || state.ephemerals.get(ts);
  return m && m.thread_ts && m.thread_ts !== ts ? m.thread_ts : null;
}

function confirmThen(confirm, action) {
  const root = $("#confirm-root");
  root.innerHTML = confirmHtml(confirm);
  root.querySelector(".confirm-ok").onclick = () => { root.innerHTML = ""; action(); };
  root.querySelector(".confirm-deny").onclick = () => { root.innerHTML = ""; };
}

async function submitModal() {
  const modal = $("#modal-root .modal");
  if (!modal) return;
  const button = modal.querySelector(".modal-submit");
  button.disabled = true;
  try {
    const answer = await post("/sandbox/api/submit", { view_id: modal.dataset.viewId, values: readInputs(modal) });
    if (answer.errors && Object.keys(answer.errors).length) renderModal(answer.errors);
    else if (answer.notice) notice(answer.notice);
  } catch (err) {
    notice(`The submission did not reach the app: ${err.message}`);
  } finally {
    const again = $("#modal-root .modal-submit");
    if (again) again.disabled = false;
  }
}

async function closeModal() {
  const modal = $("#modal-root .modal");
  if (!modal) return;
  try { await post("/sandbox/api/close", { view_id: modal.dataset.viewId }); } catch (err) { notice(err.message); }
}

function switchUser(id) {
  if (id === state.viewer) return;
  state.viewer = id;
  state.assistant.thread = null;  // each person's assistant threads are their own
  state.rated = new Map();
  state.modalKey = "switching";  // forces the modal layer to redraw for the new viewer
  localStorage.setItem("baton.sandbox.user", id);
  const url = new URL(location.href);
  url.searchParams.set("user", id);
  history.replaceState(null, "", url);
  connect();
}

// The AI app's entry opens its pane on a new thread: Slack creates the thread and sends assistant_thread_started
// with the channel the person is looking at (none from the app's own DM).
async function openAssistant() {
  state.assistant.opening = true;
  state.assistant.thread = null;
  state.thread = null;
  renderAll();
  try {
    const answer = await post("/sandbox/api/assistant", { context_channel: state.app ? undefined : state.channel });
    state.assistant.thread = answer.thread_ts;
    if (answer.notice) notice(answer.notice, state.dm, answer.thread_ts);
  } catch (err) {
    notice(`Could not open Baton's assistant: ${err.message}`);
  } finally {
    state.assistant.opening = false;
    renderAll();
    $("#assistant-input").focus();
  }
}

function closeAssistant() {
  state.assistant.thread = null;
  renderAll();
}

// Pane open, the person moves to a channel: Slack tells the app (assistant_thread_context_changed).
async function assistantContext(channel) {
  if (!state.assistant.thread) return;
  try {
    const answer = await post("/sandbox/api/assistant/context", { thread_ts: state.assistant.thread, context_channel: channel });
    if (answer.notice) notice(answer.notice, state.dm, state.assistant.thread);
  } catch (err) {
    notice(`Could not tell Baton's assistant about #${state.channelNames[channel] || channel}: ${err.message}`);
  }
}

function switchChannel(id) {
  if (id !== state.channel) assistantContext(id);
  state.channel = id;
  state.app = null;
  state.thread = null;
  localStorage.setItem("baton.sandbox.channel", id);
  const url = new URL(location.href);
  url.searchParams.set("channel", id);
  url.searchParams.delete("app");
  history.replaceState(null, "", url);
  renderAll();
}

// Slack sends `app_home_opened` every time the person opens the Home tab; the bot answers with views.publish.
async function openHome() {
  try {
    const answer = await post("/sandbox/api/home", {});
    if (answer.notice) notice(answer.notice);
  } catch (err) {
    notice(`Could not open Baton's Home: ${err.message}`);
  }
}

function switchApp(tab) {
  if (tab !== state.app) state.thread = null;
  state.app = tab;
  state.channel = state.dm;
  const url = new URL(location.href);
  url.searchParams.set("app", tab);
  history.replaceState(null, "", url);
  renderAll();
  if (tab === "home") openHome();
  else $("#composer-input").focus();
}

// --- wiring ----------------------------------------------------------------------------------------------------------
function composer(form, input, threadTs, channel = () => state.channel) {
  const submit = () => {
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    send(text, threadTs(), channel());
  };
  form.addEventListener("submit", (e) => { e.preventDefault(); submit(); });
  input.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); submit(); }
  });
  input.addEventListener("input", () => {
    form.classList.toggle("command-mode", input.value.startsWith("/"));
  });
}

document.addEventListener("click", (e) => {
  const target = e.target.closest("button, a");
  if (!target) return;
  if (target.matches(".bk-feedback")) {
    click(target);
  } else if (target.matches(".assistant-entry, .assistant-new")) {
    openAssistant();
  } else if (target.matches(".assistant-close")) {
    closeAssistant();
  } else if (target.dataset.prompt) {
    send(target.dataset.prompt, state.assistant.thread, state.dm);  // a suggested prompt is the person's message
  } else if (target.matches(".bk-button")) {
    if (target.dataset.url) window.open(target.dataset.url, "_blank", "noopener");
    if (target.dataset.confirm) confirmThen(JSON.parse(target.dataset.confirm), () => click(target));
    else click(target);
  } else if (target.dataset.user) {
    switchUser(target.dataset.user);
  } else if (target.dataset.app) {
    switchApp(target.dataset.app);
  } else if (target.dataset.appTab) {
    switchApp(target.dataset.appTab);
  } else if (target.matches(".channel-link")) {
    switchChannel(target.dataset.channel);
  } else if (target.dataset.openThread) {
    state.thread = target.dataset.openThread;
    state.assistant.thread = null;
    renderAll();
    $("#thread-input").focus();
  } else if (target.matches(".thread-close")) {
    state.thread = null;
    renderAll();
  } else if (target.dataset.dismiss) {
    state.dismissed.add(target.dataset.dismiss);
    renderAll();
  } else if (target.dataset.try) {
    $("#composer-input").value = target.dataset.try;
    $("#composer").classList.toggle("command-mode", target.dataset.try.startsWith("/"));
    $("#composer-input").focus();
  } else if (target.matches(".modal-submit")) {
    submitModal();
  } else if (target.matches(".modal-close, .modal-x")) {
    closeModal();
  }
});

document.addEventListener("keydown", (e) => {
  if (e.key === "Escape" && $("#confirm-root").innerHTML) $("#confirm-root").innerHTML = "";
  else if (e.key === "Escape" && topView()) closeModal();
});

composer($("#composer"), $("#composer-input"), () => null);
composer($("#thread-composer"), $("#thread-input"), () => state.thread);
composer($("#assistant-composer"), $("#assistant-input"), () => state.assistant.thread, () => state.dm);
connect();
