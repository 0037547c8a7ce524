// The assistant pane (Slack's AI-app split view) as HTML: the thread's title, its replies, the suggested prompts as
// chips until the person writes, and the status line ("Baton is checking the catalog…"). No I/O, no events.

import { escapeHtml } from "./mrkdwn.js";
import { listHtml } from "./view.js";

// What the person sees of the status: the last one the app set, until the app posts in the thread after it (the
// rule Slack follows, and sandbox.fake_assistant's status_shown).
export function statusShown(pane, replies, botUserId) {
  if (!pane?.status) return "";
  const answered = replies.some((m) => (m.bot_id || m.user === botUserId) && Number(m.ts) > Number(pane.status_ts));
  return answered ? "" : pane.status;
}

function promptsHtml(pane) {
  if (!pane?.prompts?.length) return "";
  return `<div class="assistant-prompts">
    ${pane.prompts_title ? `<div class="assistant-prompts-title">${escapeHtml(pane.prompts_title)}</div>` : ""}
    <div class="assistant-chips">${pane.prompts.map((p) => `<button type="button" class="prompt-chip" data-prompt="${
      escapeHtml(p.message)}" title="${escapeHtml(p.message)}">${escapeHtml(p.title)}</button>`).join("")}</div>
  </div>`;
}

// `rows`: the thread's replies and this viewer's ephemerals in it, oldest first (the root, "New chat", is not shown).
export function assistantBodyHtml(state, pane, rows) {
  const botName = state.bot.name || "Baton";
  const wrote = rows.some((m) => m.user === state.viewer && !m.kind);
  const intro = `<div class="assistant-intro"><span class="avatar" style="background:#4a154b">${
    escapeHtml(botName.slice(0, 1))}</span><h2>${escapeHtml(botName)}</h2>
    <p>Your assistant for Baton's agents. Ask in your own words; only you see this thread.</p></div>`;
  return intro + listHtml(state, rows, { inThread: true }) + (wrote ? "" : promptsHtml(pane));
}

export function statusHtml(state, status) {
  const botName = state.bot.name || "Baton";
  // The icon's letter is drawn by CSS (data-initial): the line's text is what the person reads, status and all.
  return `<span class="avatar tiny" style="background:#4a154b" data-initial="${escapeHtml(botName.slice(0, 1))}"
    aria-hidden="true"></span><b>${
    escapeHtml(botName)}</b> <span class="assistant-status-text">${escapeHtml(status)}</span><span class="dots"
    aria-hidden="true"><i></i><i></i><i></i></span>`;
}
