// What a customer meant, for message types that are not plain text (issue 29): a reaction is shown on the
// message it reacts to, an edit updates the message it edits (the earlier text on demand), a deleted message
// is marked and its text hidden, a quoted reply shows what it quotes; contact cards, Flow answers, places and
// undeliverable messages are shown as what they are, never as "[contacts]".

import { h } from "./console-dom.js";
import { t } from "./console-i18n.js";
import { icon } from "./console-icons.js";

// kinds that change another message rather than say something of their own
const ABOUT_ANOTHER = new Set(["reaction", "revoke", "edit"]);

/** Every id a message is known by: ours, and WhatsApp's once it was sent (what customers quote and react to). */
function idsOf(entry) {
  const ids = [entry.id];
  if (entry.delivery && entry.delivery.wa_message_id) ids.push(entry.delivery.wa_message_id);
  return ids;
}

/**
 * The transcript as the agent should read it: the entries to show as bubbles, and for each shown entry (by
 * id) what later messages changed of it: `reaction` (the customer's latest emoji, none once removed),
 * `edits` (texts, oldest first), `revoked` (true). A reaction, edit or deletion whose message is not in the
 * transcript (trimmed, or sent before) stays a bubble of its own.
 */
export function readTranscript(transcript) {
  const byId = new Map();
  for (const entry of transcript) for (const id of idsOf(entry)) byId.set(id, entry);
  const changes = new Map(); // shown entry id -> { reaction, edits, revoked }
  const folded = new Set();
  for (const entry of transcript) {
    if (entry.direction === "out" && entry.kind === "reaction" && entry.context_id) {
      const target = byId.get(entry.context_id); // an agent's reaction, on the message it reacts to
      if (!target) continue;
      const change = changes.get(target.id) || { reaction: null, ours: null, edits: [], revoked: false };
      change.ours = entry.text || null;
      changes.set(target.id, change);
      folded.add(entry.id);
      continue;
    }
    if (entry.direction !== "in" || !ABOUT_ANOTHER.has(entry.kind) || !entry.context_id) continue;
    const target = byId.get(entry.context_id);
    if (!target || target === entry) continue;
    const change = changes.get(target.id) || { reaction: null, ours: null, edits: [], revoked: false };
    if (entry.kind === "reaction") change.reaction = entry.text || null;
    else if (entry.kind === "edit") change.edits.push(entry.text || "");
    else change.revoked = true;
    changes.set(target.id, change);
    folded.add(entry.id);
  }
  return { shown: transcript.filter((entry) => !folded.has(entry.id)), changes, byId };
}

/** The text a message shows now: its latest edit's, if the customer edited it. */
export function currentText(entry, change) {
  return change && change.edits.length ? change.edits[change.edits.length - 1] : entry.text;
}

/** What a message quotes ("Em resposta a: …"), or null: a reply, the customer's or ours, to an earlier one. */
export function quoteOf(entry, byId, textOf) {
  if (entry.direction === "note" || ABOUT_ANOTHER.has(entry.kind) || !entry.context_id) return null;
  const quoted = byId.get(entry.context_id);
  const said = quoted ? textOf(quoted) : t("quote_unknown");
  return h("blockquote.quote", { testid: "msg-quote" }, h("span.label", {}, t("quote_in_reply")), h("span.quoted", {}, said));
}

/** The marks a later message left on this one: edited (with the earlier texts), the reaction. */
export function changeMarks(entry, change) {
  if (!change) return [];
  const marks = [];
  if (change.edits.length) {
    const earlier = [entry.text || "", ...change.edits.slice(0, -1)];
    marks.push(
      h(
        "details.edited",
        { testid: "msg-edited" },
        h("summary", {}, t("msg_edited")),
        h("ol.earlier", {}, earlier.map((text) => h("li", {}, text))),
      ),
    );
  }
  if (change.reaction) marks.push(h("span.reaction", { testid: "msg-reaction", title: t("msg_reaction") }, change.reaction));
  if (change.ours) marks.push(h("span.reaction.ours", { testid: "msg-our-reaction", title: t("msg_our_reaction") }, change.ours));
  return marks;
}

/** A deleted message: marked so, its content hidden until the agent asks (it may still matter: "cancel my
 * order"). */
export function deleted(...content) {
  return [
    h("div.revoked-mark", { testid: "msg-revoked" }, icon("alert"), " ", t("msg_revoked")),
    h("details.revoked-text", {}, h("summary", {}, t("msg_revoked_show")), ...content),
  ];
}

/** The content of a kind that is not text, or null for those shown as text or media. */
export function kindView(entry) {
  const c = entry.content || {};
  if (entry.kind === "contacts") return contactCards(c.contacts);
  if (entry.kind === "flow_reply") return flowAnswer(c);
  if (entry.kind === "location") return place(c);
  if (entry.kind === "unsupported" || (entry.kind === "unknown" && entry.direction === "in")) {
    return h("div.undelivered", { testid: "msg-unsupported" }, icon("alert"), " ", t("msg_unsupported"));
  }
  if (ABOUT_ANOTHER.has(entry.kind)) return aboutAnother(entry);
  return null;
}

/** Whether kindView says all there is: no text line under it. */
export function saysAll(entry) {
  return ["contacts", "flow_reply", "location", "unsupported", "reaction", "revoke"].includes(entry.kind) || (entry.kind === "unknown" && entry.direction === "in");
}

function contactCards(contacts) {
  const cards = Array.isArray(contacts) ? contacts : [];
  return h(
    "ul.contact-cards",
    { testid: "msg-contacts" },
    cards.map((card) => {
      const name = (card.name && (card.name.formatted_name || [card.name.first_name, card.name.last_name].filter(Boolean).join(" "))) || t("contact_unnamed");
      const phones = Array.isArray(card.phones) ? card.phones : [];
      return h(
        "li.contact-card",
        {},
        h("strong", {}, icon("user"), " ", name),
        phones.map((p) => copyable(p.phone || p.wa_id || "", p.type)),
      );
    }),
  );
}

function copyable(value, label) {
  if (!value) return null;
  return h(
    "div.copyable",
    {},
    h("span.mono", {}, value),
    label ? h("span.muted.small", {}, ` ${label.toLowerCase()}`) : null,
    h(
      "button.link.small",
      {
        type: "button",
        testid: "copy",
        "aria-label": t("copy_value", { value }),
        onclick: async (event) => {
          await navigator.clipboard.writeText(value).catch(() => null);
          event.currentTarget.textContent = t("copied");
        },
      },
      t("copy"),
    ),
  );
}

/** A WhatsApp Flow's answer (nfm_reply): the fields the customer filled in, not "Sent". */
function flowAnswer(c) {
  const reply = c.nfm_reply || {};
  let fields = {};
  try {
    fields = typeof reply.response_json === "string" ? JSON.parse(reply.response_json) : reply.response_json || {};
  } catch {
    fields = {};
  }
  const rows = Object.entries(fields || {}).filter(([key]) => key !== "flow_token");
  return h(
    "div.flow-answer",
    { testid: "msg-flow" },
    h("div.tag", {}, t("flow_answer")),
    rows.length
      ? h("dl.flow-fields", {}, rows.flatMap(([key, value]) => [h("dt", {}, key), h("dd", {}, typeof value === "object" ? JSON.stringify(value) : String(value))]))
      : h("span.muted", {}, reply.body || ""),
  );
}

function place(c) {
  return h(
    "div.place",
    { testid: "msg-location" },
    c.name ? h("strong", {}, c.name) : null,
    c.address ? h("div", {}, c.address) : null,
    !c.name && !c.address ? h("span", {}, t("location_shared")) : null,
  );
}

/** A reaction, edit or deletion whose message is not in the transcript. */
function aboutAnother(entry) {
  if (entry.kind === "reaction") return h("div.muted", { testid: "msg-reaction-alone" }, entry.text ? t("reacted_with", { emoji: entry.text }) : t("reaction_removed"));
  if (entry.kind === "revoke") return h("div.muted", { testid: "msg-revoked" }, t("msg_revoked_unknown"));
  return h("div.tag", { testid: "msg-edited" }, t("msg_edited"));
}
