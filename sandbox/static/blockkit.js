// Block Kit -> HTML, close enough to Slack's rendering to use: header, section (text, fields, accessory), context,
// divider, image, actions (buttons primary/danger, with confirm dialogs), rich_text, plan and task cards,
// context_actions (feedback thumbs, icon buttons), and the input blocks of modals.
// Interactive elements carry data-action-id / data-block-id; app.js sends the click as Slack would.

import { escapeHtml, mrkdwn, textObject } from "./mrkdwn.js";

function attr(value) {
  return escapeHtml(value ?? "");
}

function button(el, blockId) {
  const style = el.style === "primary" || el.style === "danger" ? ` bk-${el.style}` : "";
  const confirm = el.confirm ? ` data-confirm="${attr(JSON.stringify(el.confirm))}"` : "";
  const url = el.url ? ` data-url="${attr(el.url)}"` : "";
  return `<button type="button" class="bk-button${style}" data-action-id="${attr(el.action_id)}" data-block-id="${
    attr(blockId)}"${confirm}${url}>${textObject(el.text)}</button>`;
}

function element(el, blockId, ctx) {
  switch (el?.type) {
    case "button":
      return button(el, blockId);
    case "image":
      return `<img class="bk-accessory-image" src="${attr(el.image_url)}" alt="${attr(el.alt_text)}">`;
    case "static_select":
    case "overflow":
    case "users_select":
    case "conversations_select":
    case "channels_select":
    case "datepicker": {
      const options = (el.options || []).map((o) => `<option>${escapeHtml(o.text?.text)}</option>`).join("");
      const placeholder = el.placeholder ? `<option>${escapeHtml(el.placeholder.text)}</option>` : "";
      return `<select class="bk-select" disabled title="not supported in the sandbox">${placeholder}${options}</select>`;
    }
    default:
      return `<span class="bk-unsupported">[${escapeHtml(el?.type || "element")}]</span>`;
  }
}

function richText(block, ctx) {
  const run = (e) => {
    switch (e.type) {
      case "text": {
        let html = escapeHtml(e.text).replace(/\n/g, "<br>");
        if (e.style?.code) html = `<code>${html}</code>`;
        if (e.style?.bold) html = `<b>${html}</b>`;
        if (e.style?.italic) html = `<i>${html}</i>`;
        if (e.style?.strike) html = `<s>${html}</s>`;
        return html;
      }
      case "link":
        return `<a href="${attr(e.url)}" target="_blank" rel="noopener noreferrer">${escapeHtml(e.text || e.url)}</a>`;
      case "user":
        return mrkdwn(`<@${e.user_id}>`, ctx);
      case "emoji":
        return mrkdwn(`:${e.name}:`, ctx);
      default:
        return "";
    }
  };
  const section = (s) => {
    const inner = (s.elements || []).map(run).join("");
    if (s.type === "rich_text_preformatted") return `<pre class="code">${inner}</pre>`;
    if (s.type === "rich_text_quote") return `<blockquote>${inner}</blockquote>`;
    if (s.type === "rich_text_list") return `<ul>${(s.elements || []).map((i) => `<li>${section(i)}</li>`).join("")}</ul>`;
    return `<div>${inner}</div>`;
  };
  return `<div class="bk-rich">${(block.elements || []).map(section).join("")}</div>`;
}

function input(block, ctx, errors) {
  const el = block.element || {};
  const id = `in-${block.block_id}-${el.action_id}`;
  const common = `id="${attr(id)}" class="bk-input" data-block-id="${attr(block.block_id)}" data-action-id="${
    attr(el.action_id)}"${el.max_length ? ` maxlength="${Number(el.max_length)}"` : ""}${
    el.placeholder ? ` placeholder="${attr(el.placeholder.text)}"` : ""}`;
  let control;
  if (el.type === "plain_text_input" && el.multiline) {
    control = `<textarea ${common} rows="5">${escapeHtml(el.initial_value)}</textarea>`;
  } else if (el.type === "plain_text_input" || el.type === "email_text_input" || el.type === "url_text_input"
             || el.type === "number_input") {
    control = `<input type="text" ${common} value="${attr(el.initial_value)}">`;
  } else if (el.type === "static_select") {
    const options = (el.options || []).map((o) => `<option value="${attr(o.value)}"${
      el.initial_option?.value === o.value ? " selected" : ""}>${escapeHtml(o.text?.text)}</option>`).join("");
    control = `<select ${common} data-kind="static_select">${options}</select>`;
  } else {
    control = element(el, block.block_id, ctx);
  }
  const optional = block.optional ? ` <span class="bk-optional">(optional)</span>` : "";
  const error = errors?.[block.block_id];
  return `<div class="bk-input-block${error ? " has-error" : ""}" data-block-id="${attr(block.block_id)}">
    <label for="${attr(id)}" class="bk-label">${textObject(block.label)}${optional}</label>
    ${control}
    ${block.hint ? `<div class="bk-hint">${textObject(block.hint)}</div>` : ""}
    ${error ? `<div class="bk-error" role="alert">${escapeHtml(error)}</div>` : ""}
  </div>`;
}

// Slack's context_actions block: a feedback_buttons element is a thumbs up and a thumbs down (a click carries which,
// data-rating); an icon_button is a small labelled button. `ctx.rated` is the thumb this viewer pressed here.
function feedbackButton(el, side, blockId, ctx) {
  const b = el[`${side}_button`] || {};
  const pressed = ctx.rated === side;
  return `<button type="button" class="bk-feedback${pressed ? " pressed" : ""}" data-action-id="${attr(el.action_id)}"
    data-block-id="${attr(blockId)}" data-rating="${side}" aria-pressed="${pressed}" aria-label="${
    attr(b.accessibility_label || side)}" title="${attr(b.accessibility_label || "")}">${textObject(b.text)}</button>`;
}

function contextAction(el, blockId, ctx) {
  if (el?.type === "feedback_buttons") {
    return `<span class="bk-feedback-buttons">${feedbackButton(el, "positive", blockId, ctx)}${
      feedbackButton(el, "negative", blockId, ctx)}</span>`;
  }
  if (el?.type === "icon_button") {
    return `<button type="button" class="bk-button bk-icon-button" data-action-id="${attr(el.action_id)}" data-block-id="${
      attr(blockId)}" aria-label="${attr(el.accessibility_label || el.text?.text || "")}">${textObject(el.text)}</button>`;
  }
  return element(el, blockId, ctx);
}

// A plan's step as Slack draws it: a status mark, the plain-text title, details and output as rich text.
const TASK_MARKS = { pending: "○", in_progress: "◐", complete: "✓", error: "✗" };

function taskCard(task, ctx) {
  const state = TASK_MARKS[task.status] ? task.status : "pending";
  const more = [task.details, task.output].filter(Boolean).map((r) => richText(r, ctx)).join("");
  return `<div class="bk-task bk-task-${state}" data-task-id="${attr(task.task_id || "")}"><span class="bk-task-mark">${
    TASK_MARKS[state]}</span><span class="bk-task-title">${escapeHtml(task.title || "")}</span>${more}</div>`;
}

export function renderBlock(block, ctx = {}, errors = null) {
  const blockId = block.block_id || "";
  switch (block.type) {
    case "header":
      return `<div class="bk-header">${textObject(block.text)}</div>`;
    case "section": {
      const text = block.text ? `<div class="bk-text">${textObject(block.text, ctx)}</div>` : "";
      const fields = block.fields?.length
        ? `<div class="bk-fields">${block.fields.map((f) => `<div class="bk-field">${textObject(f, ctx)}</div>`).join("")}</div>`
        : "";
      const accessory = block.accessory ? `<div class="bk-accessory">${element(block.accessory, blockId, ctx)}</div>` : "";
      return `<div class="bk-section"><div class="bk-section-main">${text}${fields}</div>${accessory}</div>`;
    }
    case "context":
      return `<div class="bk-context">${(block.elements || []).map((e) => e.type === "image"
        ? `<img class="bk-context-image" src="${attr(e.image_url)}" alt="${attr(e.alt_text)}">`
        : `<span class="bk-context-text">${textObject(e, ctx)}</span>`).join("")}</div>`;
    case "divider":
      return `<hr class="bk-divider">`;
    case "image":
      return `<figure class="bk-image">${block.title ? `<figcaption>${textObject(block.title)}</figcaption>` : ""}<img src="${
        attr(block.image_url)}" alt="${attr(block.alt_text)}"></figure>`;
    case "actions":
      return `<div class="bk-actions" data-block-id="${attr(blockId)}">${
        (block.elements || []).map((e) => element(e, blockId, ctx)).join("")}</div>`;
    case "rich_text":
      return richText(block, ctx);
    case "input":
      return input(block, ctx, errors);
    case "plan":
      return `<div class="bk-plan"><div class="bk-plan-title">${escapeHtml(block.title || "")}</div>${
        (block.tasks || []).map((t) => taskCard(t, ctx)).join("")}</div>`;
    case "task_card":
      return taskCard(block, ctx);
    case "context_actions":
      return `<div class="bk-context-actions" data-block-id="${attr(blockId)}">${
        (block.elements || []).map((e) => contextAction(e, blockId, ctx)).join("")}</div>`;
    default:
      return `<div class="bk-unsupported">[${escapeHtml(block.type)} block]</div>`;
  }
}

export function renderBlocks(blocks, ctx = {}, errors = null) {
  return `<div class="bk">${(blocks || []).map((b) => renderBlock(b, ctx, errors)).join("")}</div>`;
}

// What a modal's inputs hold, as {block_id: {action_id: value}} (SlackDelivery types them after the view).
export function readInputs(root) {
  const values = {};
  for (const el of root.querySelectorAll(".bk-input")) {
    const block = el.dataset.blockId;
    values[block] = values[block] || {};
    values[block][el.dataset.actionId] = el.value === "" ? null : el.value;  // Slack sends null when empty
  }
  return values;
}
