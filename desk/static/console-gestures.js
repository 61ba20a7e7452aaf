// Answering the WhatsApp way (issue 29, item 2): each message the customer has (theirs, or ours once WhatsApp
// took it) offers "quote" and "react" to the agent who holds the conversation; the reply box shows what is
// being quoted (Escape drops it) and tells the customer "typing…" while the agent types, at most once per
// 25 s (the server keeps to that too).

import { h, fill } from "./console-dom.js";
import { t, explain } from "./console-i18n.js";

export const REACTIONS = ["👍", "❤️", "😂", "😮", "🙏", "✅"];
const TYPING_EVERY_MS = 25000;
let pickingFor = null; // the message whose emoji row is open: the transcript is redrawn often, it stays open

/** Whether the customer has this message on their phone: theirs, or ours with WhatsApp's id. */
export function onTheirPhone(entry) {
  if (entry.direction === "in") return !["reaction", "revoke", "edit", "system"].includes(entry.kind);
  return entry.direction === "out" && entry.kind !== "reaction" && Boolean(entry.delivery && entry.delivery.wa_message_id);
}

/** The quote and react buttons of one message; `mine` is the agent's current reaction on it, if any. */
export function messageActions(desk, conversationId, entry, text, mine) {
  const picker = h("div.reaction-picker", { testid: "reaction-picker", hidden: pickingFor !== entry.id, role: "group", "aria-label": t("react") });
  const react = async (emoji) => {
    picker.hidden = true;
    pickingFor = null;
    try {
      await desk.api.post(`/conversations/${encodeURIComponent(conversationId)}/reactions`, { message_id: entry.id, emoji });
      await desk.refreshOpen();
    } catch (exc) {
      desk.toast(t("react_failed", { reason: explain(exc) }), "error");
    }
  };
  fill(
    picker,
    REACTIONS.map((emoji) =>
      h("button.emoji", { type: "button", testid: "react-with", "aria-label": t("react_with", { emoji }), "aria-pressed": mine === emoji ? "true" : "false", onclick: () => react(mine === emoji ? "" : emoji) }, emoji),
    ),
    mine ? h("button.link.small", { type: "button", testid: "react-remove", onclick: () => react("") }, t("react_remove")) : null,
  );
  return h(
    "div.msg-actions",
    {},
    h("button.link.small", { type: "button", testid: "quote", onclick: () => desk.conversation.composer.quote(conversationId, entry.id, text) }, t("quote")),
    h(
      "button.link.small",
      {
        type: "button",
        testid: "react",
        "aria-expanded": String(pickingFor === entry.id),
        onclick: (event) => {
          picker.hidden = !picker.hidden;
          pickingFor = picker.hidden ? null : entry.id;
          event.currentTarget.setAttribute("aria-expanded", String(!picker.hidden));
          if (!picker.hidden) picker.querySelector("button").focus();
        },
      },
      t("react"),
    ),
    picker,
  );
}

/** "typing…" for the customer while the agent types: once per 25 s a conversation, errors ignored. */
export class Typing {
  constructor(desk) {
    this.desk = desk;
    this.last = new Map(); // conversation id -> when it was last told (ms)
  }

  typed(conversationId) {
    const now = Date.now();
    if (now - (this.last.get(conversationId) || 0) < TYPING_EVERY_MS) return;
    this.last.set(conversationId, now);
    this.desk.api.post(`/conversations/${encodeURIComponent(conversationId)}/typing`, {}).catch(() => null);
  }

  /** The reply went: the next keystroke may say "typing…" again (WhatsApp drops it with the reply). */
  answered(conversationId) {
    this.last.delete(conversationId);
  }
}

/** The bar over the reply box naming what the reply quotes; ✕ or Escape drops it. */
export function quotingBar(text, drop) {
  return h(
    "div.quoting",
    { testid: "quoting" },
    h("span.label", {}, t("quoting")),
    h("span.quoted", {}, text),
    h("button.icon-btn", { type: "button", testid: "quoting-cancel", "aria-label": t("quoting_cancel"), onclick: drop }, "×"),
  );
}
