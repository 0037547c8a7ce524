// Slack mrkdwn -> safe HTML. Only Slack's own control sequences (<@U…>, <#C…>, <!subteam^…>, <!date^…>,
// <url|label>) make markup; everything else is decoded from Slack's &lt; &gt; &amp; and HTML-escaped again, so text
// an agent wrote can never inject HTML into the page (nor ping, nor spoof a link: the bot escapes it for Slack).

const EMOJI = {
  alarm_clock: "⏰", bell: "🔔", gear: "⚙️", hourglass: "⌛", hourglass_flowing_sand: "⏳", lock: "🔒",
  no_entry: "⛔", no_entry_sign: "🚫", paperclip: "📎", pencil2: "✏️", raised_hand: "✋", rotating_light: "🚨",
  speech_balloon: "💬", warning: "⚠️", white_check_mark: "✅", x: "❌", zzz: "💤", robot_face: "🤖",
  tada: "🎉", eyes: "👀", wave: "👋", rocket: "🚀", mag: "🔍", memo: "📝", bar_chart: "📊", fire: "🔥",
  heavy_check_mark: "✔️", thumbsup: "👍", "+1": "👍", information_source: "ℹ️", clipboard: "📋",
  chart_with_upwards_trend: "📈", hammer_and_wrench: "🛠️", stopwatch: "⏱️", arrows_counterclockwise: "🔄",
  large_green_circle: "🟢", red_circle: "🔴", large_yellow_circle: "🟡", question: "❓", sparkles: "✨",
};

export function escapeHtml(text) {
  return String(text ?? "").replace(/[&<>"']/g, (c) => ({
    "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;",
  })[c]);
}

function decodeSlack(text) {
  return text.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
}

export function emojify(html) {
  return html.replace(/:([a-z0-9_+-]+):/g, (m, name) => EMOJI[name] ?? m);
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

function sameDay(a, b) {
  return a.getFullYear() === b.getFullYear() && a.getMonth() === b.getMonth() && a.getDate() === b.getDate();
}

export function formatTime(date) {
  return date.toLocaleTimeString("en-US", { hour: "numeric", minute: "2-digit" });
}

function slackDate(seconds, format) {
  const d = new Date(seconds * 1000);
  const now = new Date();
  const yesterday = new Date(now.getTime() - 86400000);
  const short = `${MONTHS[d.getMonth()]} ${d.getDate()}`;
  const pretty = sameDay(d, now) ? "today" : sameDay(d, yesterday) ? "yesterday" : short;
  const tokens = {
    date_num: d.toISOString().slice(0, 10),
    date: `${short}, ${d.getFullYear()}`,
    date_short: short,
    date_long: d.toDateString(),
    date_pretty: pretty,
    date_short_pretty: pretty,
    date_long_pretty: pretty,
    time: formatTime(d),
    time_secs: d.toLocaleTimeString("en-US"),
    ago: "",
  };
  return format.replace(/\{(\w+)\}/g, (m, t) => tokens[t] ?? m);
}

function control(body, ctx) {
  const [target, label] = splitOnce(body, "|");
  if (target.startsWith("@")) {
    const user = ctx.users?.[target.slice(1)];
    const me = target.slice(1) === ctx.viewer ? " me" : "";
    const name = user ? (user.real_name || user.name) : label || target.slice(1);
    return `<span class="mention${me}" data-user="${escapeHtml(target.slice(1))}">@${escapeHtml(name)}</span>`;
  }
  if (target.startsWith("#")) {
    const name = ctx.channels?.[target.slice(1)] ?? label ?? target.slice(1);
    return `<span class="mention channel">#${escapeHtml(name)}</span>`;
  }
  if (target.startsWith("!subteam^")) {
    const group = ctx.groups?.[target.slice("!subteam^".length)];
    return `<span class="mention">@${escapeHtml(group ? group.handle : label || "group")}</span>`;
  }
  if (target.startsWith("!date^")) {
    const [, seconds, format] = target.split("^");
    const value = Number(seconds);
    const text = Number.isFinite(value) ? slackDate(value, format || "{date_short} {time}") : label;
    return `<time title="${escapeHtml(label || "")}">${escapeHtml(text || "")}</time>`;
  }
  if (target.startsWith("!")) {
    const word = target.slice(1).split("^")[0];
    return `<span class="mention broadcast">@${escapeHtml(word)}</span>`;
  }
  if (/^(https?:|mailto:)/i.test(target)) {
    return `<a href="${escapeHtml(target)}" target="_blank" rel="noopener noreferrer">${
      escapeHtml(decodeSlack(label ?? target))}</a>`;
  }
  return escapeHtml(decodeSlack(`<${body}>`));
}

function splitOnce(text, sep) {
  const at = text.indexOf(sep);
  return at < 0 ? [text, undefined] : [text.slice(0, at), text.slice(at + 1)];
}

function inline(line, ctx) {
  const held = [];
  const hold = (html) => `\u0001${held.push(html) - 1}\u0002`;
  let text = line.replace(/`([^`\n]+)`/g, (m, code) => hold(`<code>${escapeHtml(decodeSlack(code))}</code>`));
  text = text.replace(/<([^<>\n]+)>/g, (m, body) => hold(control(body, ctx)));
  let html = escapeHtml(decodeSlack(text));
  html = html
    .replace(/(^|[^\w*])\*(?=\S)([^*\n]*?\S)\*(?!\w)/g, "$1<b>$2</b>")
    .replace(/(^|[^\w_])_(?=\S)([^_\n]*?\S)_(?!\w)/g, "$1<i>$2</i>")
    .replace(/(^|[^\w~])~(?=\S)([^~\n]*?\S)~(?!\w)/g, "$1<s>$2</s>");
  html = emojify(html);
  return html.replace(/\u0001(\d+)\u0002/g, (m, i) => held[Number(i)]);
}

function paragraphs(text, ctx) {
  const out = [];
  let quote = [];
  const flush = () => {
    if (quote.length) out.push(`<blockquote>${quote.join("<br>")}</blockquote>`);
    quote = [];
  };
  for (const line of text.split("\n")) {
    if (line.startsWith(">")) {
      quote.push(inline(line.slice(1), ctx));
    } else {
      flush();
      out.push(inline(line, ctx) + "<br>");
    }
  }
  flush();
  return out.join("").replace(/(<br>)+$/, "");
}

// Slack mrkdwn (as in a section's text or a message's text) -> HTML.
export function mrkdwn(text, ctx = {}) {
  const parts = String(text ?? "").split("```");
  if (parts.length % 2 === 0) parts[parts.length - 2] += "```" + parts.pop();  // an unclosed fence is text
  return parts.map((part, i) => {
    if (i % 2 === 1) return `<pre class="code">${escapeHtml(decodeSlack(part.replace(/^\n/, "")))}</pre>`;
    return paragraphs(part.replace(/^\n|\n$/g, ""), ctx);
  }).join("");
}

// A Block Kit text object: plain_text is shown as is (emoji codes aside), mrkdwn is parsed.
export function textObject(obj, ctx = {}) {
  if (!obj) return "";
  if (typeof obj === "string") return mrkdwn(obj, ctx);
  if (obj.type === "mrkdwn") return mrkdwn(obj.text, ctx);
  const html = escapeHtml(obj.text).replace(/\n/g, "<br>");
  return obj.emoji === false ? html : emojify(html);
}
