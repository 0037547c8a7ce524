// HTML for the page's parts (messages, lists, the modal) from the page state; no I/O, no event handling.

import { renderBlocks } from "./blockkit.js";
import { escapeHtml, formatTime, mrkdwn, textObject } from "./mrkdwn.js";

const PALETTE = ["#e8912d", "#2bac76", "#1d9bd1", "#e01e5a", "#8e44ad", "#36c5f0", "#b6521f", "#4a154b"];

export function colorOf(id) {
  let h = 0;
  for (const c of id || "") h = (h * 31 + c.charCodeAt(0)) >>> 0;
  return PALETTE[h % PALETTE.length];
}

export function context(state) {
  return { users: state.users, channels: state.channelNames, groups: state.groups, viewer: state.viewer };
}

export function roleOf(user) {
  if (!user) return "";
  const approver = (user.groups || []).includes("approvers");
  if (user.is_admin) return approver ? "admin · approver" : "admin";
  return approver ? "approver" : "member";
}

function author(state, m) {
  if (m.kind === "notice") return { name: "Slackbot", avatar: "✱", color: "#4a154b", app: false };
  if (m.bot_id || m.user === state.bot.user_id || m.kind === "ephemeral") {
    return { name: state.bot.name || "Baton", avatar: "B", color: "#4a154b", app: true };
  }
  const u = state.users[m.user];
  const name = u ? u.real_name || u.name : m.user;
  return { name, avatar: (name || "?").slice(0, 1).toUpperCase(), color: colorOf(m.user), app: false };
}

function files(m) {
  return (m.files || []).map((f) => `<a class="file" href="${escapeHtml(f.url_private)}" target="_blank" rel="noopener">
      <span class="file-icon">${escapeHtml((f.filetype || "txt").toUpperCase().slice(0, 4))}</span>
      <span class="file-meta"><span class="file-name">${escapeHtml(f.title || f.name)}</span>
      <span class="file-size">${escapeHtml(f.pretty_type || f.filetype || "")} · ${Number(f.size || 0).toLocaleString()} bytes</span></span>
    </a>`).join("");
}

function attachments(m, ctx) {
  return (m.attachments || []).map((a) => `<div class="attachment" style="border-left-color:${
    escapeHtml(/^#?[0-9a-f]{3,6}$/i.test(a.color || "") ? (a.color.startsWith("#") ? a.color : "#" + a.color) : "#ddd")}">
      ${a.title ? `<div class="attachment-title">${escapeHtml(a.title)}</div>` : ""}
      ${a.text ? `<div>${mrkdwn(a.text, ctx)}</div>` : ""}
      ${a.blocks ? renderBlocks(a.blocks, ctx) : ""}
    </div>`).join("");
}

// One message row. `opts`: compact (same author as the row above), replies (count), inThread.
// A message the app is still streaming (chat.startStream until stopStream) ends in a typing caret.
export function messageHtml(state, m, opts = {}) {
  const ctx = { ...context(state), rated: state.rated?.get(`${m.channel}/${m.ts}`) };
  const who = author(state, m);
  const ephemeral = m.kind === "ephemeral" || m.kind === "notice";
  const streaming = !m.kind && state.streaming?.has(`${m.channel}/${m.ts}`);
  const caret = streaming ? `<span class="stream-caret" aria-hidden="true"></span>` : "";
  const body = m.blocks?.length && !m.blocks.every((b) => b.type === "rich_text" && m.text)
    ? renderBlocks(m.blocks, ctx) + caret
    : `<div class="text">${mrkdwn(m.text || "", ctx)}${caret}</div>`;
  const time = formatTime(new Date(Number(m.ts) * 1000));
  // A streamed answer grows by edits, but Slack does not mark it edited.
  const edited = m.edited && !state.streamed?.has(`${m.channel}/${m.ts}`) ? `<span class="edited">(edited)</span>` : "";
  const replies = opts.replies
    ? `<button type="button" class="replies" data-open-thread="${escapeHtml(m.ts)}">${opts.replies} ${
      opts.replies === 1 ? "reply" : "replies"}<span class="replies-hint">View thread</span></button>`
    : "";
  const onlyYou = ephemeral
    ? `<div class="only-you"><span class="eye">👁</span> Only visible to you<button type="button" class="dismiss" data-dismiss="${
      escapeHtml(m.ts)}">Dismiss</button></div>`
    : "";
  const classes = ["message", ephemeral ? "ephemeral" : "", opts.compact ? "compact" : "", streaming ? "streaming" : "",
    state.flash.has(m.ts) ? "flash" : "", m.ts === state.thread && !opts.inThread ? "selected" : ""].filter(Boolean);
  return `<div class="${classes.join(" ")}" data-channel="${escapeHtml(m.channel)}" data-ts="${escapeHtml(m.ts)}"${
    ephemeral ? ` data-ephemeral="true"` : ""}${streaming ? ` aria-busy="true"` : ""}>
    <div class="gutter">${opts.compact
      ? `<span class="hover-time">${escapeHtml(time.replace(/ [AP]M$/, ""))}</span>`
      : `<div class="avatar" style="background:${who.color}">${escapeHtml(who.avatar)}</div>`}</div>
    <div class="body">
      ${opts.compact ? "" : `<div class="meta"><span class="name">${escapeHtml(who.name)}</span>${
        who.app ? `<span class="app-badge">APP</span>` : ""}<span class="time">${escapeHtml(time)}</span>${edited}</div>`}
      ${onlyYou}
      <div class="content">${body}${opts.compact ? edited : ""}</div>
      ${attachments(m, ctx)}${files(m)}
      ${replies}
    </div>
  </div>`;
}

// Rows of a list, folding consecutive messages of one author within five minutes like Slack does.
export function listHtml(state, rows, opts = {}) {
  let previous = null;
  return rows.map((m) => {
    const sameAuthor = previous && !previous.kind && !m.kind && previous.user === m.user
      && Number(m.ts) - Number(previous.ts) < 300 && !(opts.replyCounts?.get(previous.ts));
    previous = m;
    return messageHtml(state, m, { compact: sameAuthor, replies: opts.replyCounts?.get(m.ts), inThread: opts.inThread });
  }).join("");
}

export function introHtml(channelName) {
  const tries = [
    "/baton run ops_audit check the web fleet",
    "/baton run sales_report revenue by region for Q3",
    "/baton agents",
    "/baton help",
  ];
  return `<div class="intro">
    <h2>#${escapeHtml(channelName)}</h2>
    <p>This is a local Slack sandbox: everything you do here reaches Baton's bot through its real Slack endpoint,
       signed like Slack. Switch between Alice, Bob and Carol at the top to try the approval rules.</p>
    <div class="tries">${tries.map((t) => `<button type="button" class="try" data-try="${escapeHtml(t)}"><code>${
      escapeHtml(t)}</code></button>`).join("")}</div>
  </div>`;
}

export function dmIntroHtml(botName) {
  const tries = ["please audit the web fleet", "how are my tasks going?", "/baton list", "/baton help"];
  return `<div class="intro">
    <h2>${escapeHtml(botName)}</h2>
    <p>This is your direct message conversation with ${escapeHtml(botName)}. Ask in plain words: it starts the
       right agent and answers in a thread. Only you see this conversation.</p>
    <div class="tries">${tries.map((t) => `<button type="button" class="try" data-try="${escapeHtml(t)}"><code>${
      escapeHtml(t)}</code></button>`).join("")}</div>
  </div>`;
}

export function modalHtml(state, view, errors) {
  const ctx = context(state);
  const submit = view.submit ? `<button type="button" class="modal-submit">${textObject(view.submit)}</button>` : "";
  const close = textObject(view.close || { type: "plain_text", text: "Cancel" });
  return `<div class="modal-backdrop">
    <div class="modal" role="dialog" aria-modal="true" data-view-id="${escapeHtml(view.id)}" data-callback-id="${
      escapeHtml(view.callback_id)}">
      <div class="modal-head"><h2>${textObject(view.title)}</h2>
        <button type="button" class="modal-x" aria-label="Close">×</button></div>
      <div class="modal-body">${renderBlocks(view.blocks, ctx, errors)}</div>
      <div class="modal-foot"><button type="button" class="modal-close">${close}</button>${submit}</div>
    </div>
  </div>`;
}

export function confirmHtml(confirm) {
  return `<div class="modal-backdrop confirm-backdrop">
    <div class="modal confirm" role="alertdialog" aria-modal="true">
      <div class="modal-head"><h2>${textObject(confirm.title || { type: "plain_text", text: "Are you sure?" })}</h2></div>
      <div class="modal-body">${textObject(confirm.text)}</div>
      <div class="modal-foot"><button type="button" class="confirm-deny">${
        textObject(confirm.deny || { type: "plain_text", text: "Cancel" })}</button><button type="button" class="confirm-ok${
        confirm.style === "danger" ? " bk-danger" : ""}">${textObject(confirm.confirm || { type: "plain_text", text: "Yes" })}</button></div>
    </div>
  </div>`;
}
