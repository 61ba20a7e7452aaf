// The open conversation: the context packet at a glance, the transcript with delivery ticks, and actions.

import { h, fill, keepAtBottom, keepFocus } from "./console-dom.js";
import { t, tn, duration, clock, day, when, stamp } from "./console-i18n.js";
import { icon } from "./console-icons.js";
import { Composer } from "./console-composer.js";
import { mediaView } from "./console-media.js";
import { readTranscript, currentText, quoteOf, changeMarks, deleted, kindView, saysAll } from "./console-kinds.js";
import { messageActions, onTheirPhone } from "./console-gestures.js";
import { initialsOf, silentMark } from "./console-shell.js";

const HELD = new Set(["assigned", "transferring"]);
const SOON = 2 * 3600; // say "closes in" instead of "open until" in the window's last two hours

export class ConversationView {
  /** @param desk the console (me, agentName, toast, actions); see console.js */
  constructor(desk) {
    this.desk = desk;
    this.detail = null;
    this.composer = new Composer(desk);
    this.actions = h("div.conv-actions");
    this.status = h("div.conv-status");
    this.packet = h("section.packet", { testid: "packet", "aria-label": t("summary") });
    this.history = h("details.history", { testid: "customer-history", hidden: true });
    this.historyOf = null; // the conversation whose customer's history is shown
    this.banner = h("div.conv-banner", { hidden: true, role: "status" });
    this.transcript = h("ol.transcript", { testid: "transcript", "aria-label": t("transcript"), tabindex: "0" });
    this.empty = h(
      "div.conv-empty",
      { testid: "conversation-empty" },
      icon("inbox", "big"),
      h("h2", {}, t("empty_title")),
      h("p", {}, t("empty_body")),
    );
    this.body = h(
      "div.conv",
      { hidden: true, testid: "conversation-view" },
      h("div.conv-top", {}, this.packet, this.actions),
      this.banner,
      this.transcript,
      this.composer.root,
    );
    this.root = h("section.conversation-pane", { "aria-live": "off" }, this.empty, this.body);
  }

  get id() {
    return this.detail ? this.detail.id : null;
  }

  clear() {
    this.detail = null;
    this.body.hidden = true;
    this.empty.hidden = false;
    this.composer.show(null, "none");
  }

  /** Show a conversation (detail from the API); re-rendering the same one keeps the reply being typed. */
  show(detail) {
    const switched = !this.detail || this.detail.id !== detail.id;
    this.detail = detail;
    this.empty.hidden = true;
    this.body.hidden = false;
    this.renderActions();
    this.renderStatus();
    this.renderPacket();
    if (switched) this.loadHistory(detail);
    this.renderBanner();
    this.composer.show(detail, this.mode()); // first: its height decides where the bottom of the transcript is
    const last = detail.transcript[detail.transcript.length - 1];
    const mineNew = last && last.id !== this.lastEntry && last.author === `agent:${this.desk.me.id}`;
    this.lastEntry = last ? last.id : null;
    if (switched || mineNew) {
      this.renderTranscript();
      this.transcript.scrollTop = this.transcript.scrollHeight;
    } else {
      // a redraw (a tick, a read receipt) keeps the agent's place: the button or emoji they were on
      keepAtBottom(this.transcript, () => keepFocus(this.transcript, () => this.renderTranscript()));
    }
  }

  isMine() {
    const d = this.detail;
    return Boolean(d && this.desk.me && d.agent_id === this.desk.me.id && HELD.has(d.state));
  }

  mode() {
    if (!this.isMine()) return "readonly";
    return this.detail.window_open ? "reply" : "closed";
  }

  /** Called every second: countdowns (window, offer) move without a reload. */
  tick() {
    if (!this.detail) return;
    this.renderStatus();
    this.renderBanner();
  }

  renderActions() {
    const mine = this.isMine();
    const offering = this.detail.state === "transferring";
    // a supervisor reading a conversation from the Bot tab: a way back, and no actions that cannot be used
    if (this.desk.peekId === this.detail.id && this.desk.peekFrom === "bot" && !mine) {
      fill(
        this.actions,
        h("button.btn", { type: "button", testid: "back-to-bot", onclick: () => this.desk.showView("bot") }, icon("bot"), t("bot_back")),
      );
      return;
    }
    if (this.desk.peekId === this.detail.id && this.desk.peekFrom === "supervisor" && !mine) {
      fill(
        this.actions,
        h("button.btn", { type: "button", testid: "back-to-supervisor", onclick: () => this.desk.showView("supervisor") }, t("search_back")),
      );
      return;
    }
    const from = this.desk.peekId === this.detail.id && this.desk.peekFrom && this.desk.peekFrom.startsWith("conversation:");
    if (from && !mine) {
      const back = this.desk.peekFrom.slice("conversation:".length);
      fill(
        this.actions,
        h("button.btn", { type: "button", testid: "back-to-conversation", onclick: () => this.desk.openConversation(back) }, t("history_back")),
      );
      return;
    }
    fill(
      this.actions,
      h(
        "button.btn",
        { type: "button", testid: "transfer-open", disabled: !mine || offering, onclick: () => this.desk.openTransfer(this.detail) },
        icon("transfer"),
        t("transfer"),
      ),
      h(
        "button.btn",
        { type: "button", testid: "release", disabled: !mine, onclick: () => this.desk.release(this.detail) },
        icon("bot"),
        t("release"),
      ),
      h(
        "button.btn.primary",
        { type: "button", testid: "resolve", disabled: !mine, onclick: () => this.desk.resolve(this.detail) },
        icon("done"),
        t("resolve"),
      ),
    );
  }

  renderStatus() {
    const d = this.detail;
    const now = Date.now() / 1000;
    const parts = [h(`span.pill.state-${d.state}`, { testid: "conversation-state" }, t(`state_${d.state}`))];
    if (HELD.has(d.state) && d.agent_silent_since) parts.push(silentMark(d, false));
    if (d.window_open && d.window_expires_at) {
      const left = d.window_expires_at - now;
      const soon = left < SOON;
      parts.push(
        h(
          `span.window${soon ? ".soon" : ""}`,
          { testid: "window-status", title: stamp(d.window_expires_at) },
          icon("clock"),
          soon ? t("window_closes_soon", { wait: duration(left) }) : t("window_open_until", { when: when(d.window_expires_at) }),
        ),
      );
    } else if (!d.window_open) {
      parts.push(h("span.window.closed", { testid: "window-status" }, icon("lock"), t("window_closed_badge")));
    }
    fill(this.status, parts);
  }

  renderBanner() {
    const d = this.detail;
    const offer = d.offer;
    if (d.state === "transferring" && offer && d.agent_id === this.desk.me.id) {
      const left = offer.expires_at ? duration(offer.expires_at - Date.now() / 1000) : "";
      this.banner.hidden = false;
      fill(this.banner, icon("transfer"), t("offered_to", { agent: this.desk.agentName(offer.to_agent), wait: left }));
      this.banner.dataset.testid = "offer-pending";
    } else if (!this.isMine()) {
      this.banner.hidden = false;
      const text = d.agent_id && HELD.has(d.state)
        ? t("read_only", { agent: this.desk.agentName(d.agent_id) })
        : t("read_only_state", { state: t(`state_${d.state}`).toLowerCase() });
      fill(this.banner, icon("lock"), text);
      this.banner.dataset.testid = "readonly-notice";
    } else {
      this.banner.hidden = true;
      fill(this.banner);
    }
  }

  renderPacket() {
    const d = this.detail;
    const p = d.packet;
    const name = d.customer_name || (p && p.customer.profile_name) || t("customer_unknown");
    const identity = d.identity || (p && p.identity);
    const head = h(
      "div.packet-head",
      {},
      h("div.avatar", { "aria-hidden": "true" }, initialsOf(name)),
      h(
        "div.who",
        {},
        h("h2.customer-name", { testid: "customer-name" }, name),
        h(
          "div.meta",
          {},
          this.desk.numbers.mark(d.phone_number_id),
          d.wa_id ? h("span", {}, `+${d.wa_id}`) : null,
          identity && identity.display_name && !sameName(identity.display_name, name)
            ? h("span.name-mismatch", { testid: "name-mismatch", title: t("name_mismatch", { name: identity.display_name }) }, icon("alert"), identity.display_name)
            : null,
          identity && identity.customer_reference ? h("span.mono", {}, identity.customer_reference) : null,
          p && p.customer.language ? h("span", {}, t("language", { language: p.customer.language })) : null,
        ),
        this.status,
      ),
    );
    if (!p) {
      fill(
        this.packet,
        head,
        h("dl.facts", {}, fact(t("identity"), identityBadge(identity))),
        h("p.muted", {}, t("no_packet")),
        this.history,
      );
      return;
    }
    const priority = p.priority || d.priority || "normal";
    const facts = h(
      "dl.facts",
      {},
      fact(t("identity"), identityBadge(identity)),
      fact(t("intent"), p.intent.name ? h("span.mono", {}, p.intent.name) : t("intent_none"), p.intent.how),
      fact(
        t("escalation"),
        h("span.mono", { testid: "escalation-reason" }, p.escalation.reason),
        `${t("rule", { rule: p.escalation.rule })} · ${when(p.escalation.at)}`,
      ),
      fact(t("queue"), h("span", {}, this.desk.queueName(p.queue || d.queue || "—")), h(`span.prio.prio-${priority}`, {}, t(`priority_${priority}`))),
    );
    const collected = Object.entries(p.collected || {});
    const extra = [];
    if (p.previous_agent) extra.push(t("previous_agent", { agent: this.desk.agentName(p.previous_agent) }));
    if (p.past_conversations && p.past_conversations.length) extra.push(tn("past_conversations", p.past_conversations.length));
    fill(
      this.packet,
      head,
      facts,
      h(
        "div.summary-row",
        {},
        h("p.summary", { testid: "packet-summary" }, h("span.label", {}, t("summary")), p.summary),
        collected.length
          ? h(
              "ul.chips",
              { "aria-label": t("collected"), testid: "packet-collected" },
              collected.map(([k, v]) => h("li.chip", {}, h("span.k", {}, k), h("span.v", {}, v))),
            )
          : null,
        extra.length ? h("p.muted.small", {}, extra.join(" · ")) : null,
      ),
      p.transfers && p.transfers.length ? this.transfers(p.transfers) : null,
      p.assignments && p.assignments.length ? this.assignments(p.assignments) : null,
      this.history,
    );
  }

  /** The customer's earlier conversations (date, subject, who held it, CSAT), each opening read-only. */
  async loadHistory(detail) {
    this.historyOf = detail.id;
    this.history.hidden = true;
    if (!detail.customer_key || !detail.phone_number_id) return;
    const path = `/customers/${encodeURIComponent(detail.customer_key)}/conversations?phone_number_id=${encodeURIComponent(detail.phone_number_id)}`;
    const all = await this.desk.api.get(path).catch(() => []);
    if (this.historyOf !== detail.id) return; // another one was opened meanwhile
    const earlier = all.filter((c) => c.id !== detail.id);
    if (!earlier.length) return;
    const back = this.desk.peekFrom && this.desk.peekFrom.startsWith("conversation:") ? this.desk.peekFrom : `conversation:${detail.id}`;
    fill(
      this.history,
      h("summary", {}, t("history_title", { n: earlier.length })),
      h(
        "ol",
        {},
        earlier.map((c) =>
          h(
            "li",
            {},
            h(
              "button.link",
              { type: "button", testid: "history-open", data: { id: c.id }, onclick: () => this.desk.peekConversation(c.id, back) },
              stamp(c.created_at), // always with its date: these are earlier conversations
            ),
            h("span.mono", {}, c.intent || t("intent_none")),
            h("span", {}, c.agent_id ? this.desk.agentName(c.agent_id) : t("author_bot")),
            h("span.pill.small", {}, t(`state_${c.state}`)),
            c.csat_score ? h("span", { testid: "history-csat" }, t("history_csat", { score: c.csat_score })) : null,
          ),
        ),
      ),
    );
    this.history.hidden = false;
  }

  transfers(list) {
    const where = (x) => (x.startsWith("queue:") ? t("queue_named", { name: this.desk.queueName(x.slice(6)) }) : this.desk.agentName(x));
    return h(
      "details.transfers",
      { testid: "packet-transfers", open: true },
      h("summary", {}, `${t("transfers")} (${list.length})`),
      h(
        "ol",
        {},
        list.map((x) =>
          h(
            "li",
            {},
            h("span.when", {}, when(x.at)),
            h("strong", {}, t("transfer_line", { from: where(x.from), to: where(x.to) })),
            h("span.pill.small", {}, t(`transfer_mode_${x.mode}`)),
            h("span", { title: t("transfer_internal") }, x.reason),
            h("span.pill.small.internal", {}, t("transfer_internal")),
            x.customer_reason ? h("span.told", { testid: "transfer-told" }, t("transfer_told_customer", { text: x.customer_reason })) : null,
            x.note ? h("q.note", {}, x.note) : null,
          ),
        ),
      ),
    );
  }

  /** A supervisor gave it out while it waited: who, to whom, why (not transfers: the customer was told nothing). */
  assignments(list) {
    const where = (x) => (x.startsWith("queue:") ? t("queue_named", { name: this.desk.queueName(x.slice(6)) }) : this.desk.agentName(x));
    return h(
      "details.transfers",
      { testid: "packet-assignments", open: true },
      h("summary", {}, `${t("assignments")} (${list.length})`),
      h(
        "ol",
        {},
        list.map((x) =>
          h(
            "li",
            {},
            h("span.when", {}, when(x.at)),
            h("strong", {}, t("assignment_line", { by: this.desk.agentName(x.by), to: where(x.to) })),
            h("span", { title: t("transfer_internal") }, x.reason),
            h("span.pill.small.internal", {}, t("transfer_internal")),
            x.note ? h("q.note", {}, x.note) : null,
          ),
        ),
      ),
    );
  }

  renderTranscript() {
    const items = [];
    let lastDay = null;
    const read = readTranscript(this.detail.transcript); // reactions, edits and deletions on their message
    for (const entry of read.shown) {
      const label = day(entry.at);
      if (label !== lastDay) {
        items.push(h("li.day", { "aria-hidden": "true" }, h("span", {}, label)));
        lastDay = label;
      }
      items.push(this.message(entry, read));
    }
    fill(this.transcript, items);
  }

  message(entry, read = { changes: new Map(), byId: new Map() }) {
    if (entry.direction === "note") return this.note(entry);
    const out = entry.direction === "out";
    const status = out ? (entry.delivery && entry.delivery.status) || "pending" : "received";
    const author = out ? this.author(entry.author) : null;
    const change = read.changes.get(entry.id);
    const text = currentText(entry, change);
    const shown = { ...entry, text };
    const said = [
      kindView(entry),
      mediaView(this.desk, entry),
      saysAll(entry) || (entry.media && !text) ? null : h("div.text", {}, messageText(shown)),
      choices(entry),
    ];
    const quoted = (x) => messageText({ ...x, text: currentText(x, read.changes.get(x.id)) });
    return h(
      `li.msg.${out ? "out" : "in"}.by-${entry.author.split(":")[0]}${change && change.revoked ? ".revoked" : ""}`,
      { testid: "msg", data: { direction: entry.direction, status, author: entry.author, id: entry.id, kind: entry.kind } },
      h(
        "div.bubble",
        {},
        author ? h("div.author", {}, author) : null,
        entry.kind === "template" && entry.text
          ? h("div.tag", {}, t("kind_template", { name: (entry.content && entry.content.template_name) || "" }))
          : null,
        quoteOf(entry, read.byId, quoted),
        ...(change && change.revoked ? deleted(...said.filter(Boolean)) : said),
        ...changeMarks(entry, change),
        this.mode() === "reply" && onTheirPhone(entry) ? messageActions(this.desk, this.detail.id, entry, quoted(entry), change && change.ours) : null,
        h("div.foot", {}, h("time", { datetime: new Date(entry.at * 1000).toISOString() }, clock(entry.at)), out ? ticks(entry) : null),
        out && status === "failed" ? h("div.failure", { role: "note" }, t("failed_reason", { reason: failure(entry.delivery) })) : null,
      ),
    );
  }

  /** A private note: set apart, the customer never sees it. */
  note(entry) {
    const by = entry.author.startsWith("agent:") && entry.author.slice(6) === this.desk.me.id
      ? t("author_you")
      : (entry.content && entry.content.by_name) || this.author(entry.author);
    return h(
      "li.msg.note",
      { testid: "msg", data: { direction: "note", author: entry.author, id: entry.id } },
      h(
        "div.bubble",
        {},
        h("div.author", {}, icon("lock"), " ", t("note_by", { name: by })),
        h("div.text", {}, entry.text || ""),
        h("div.foot", {}, h("time", { datetime: new Date(entry.at * 1000).toISOString() }, clock(entry.at))),
      ),
    );
  }

  author(author) {
    if (author === "bot") return t("author_bot");
    if (author === "system") return t("author_system");
    if (author === "phone") return t("author_phone"); // the WhatsApp Business app (handover/coexistence.py)
    if (author.startsWith("agent:")) {
      const id = author.slice(6);
      return id === this.desk.me.id ? t("author_you") : this.desk.agentName(id);
    }
    return author;
  }
}

function fact(label, value, detail) {
  return h("div.fact", {}, h("dt", {}, label), h("dd", {}, value, detail ? h("span.detail", {}, " ", detail) : null));
}

/** The same person's name, whatever the case, accents or spacing ("JOSÉ  Silva" and "José Silva"). */
function sameName(a, b) {
  const plain = (x) => x.normalize("NFD").replace(/\p{M}/gu, "").replace(/\s+/g, " ").trim().toLowerCase();
  return plain(a) === plain(b);
}

function identityBadge(identity) {
  if (identity && identity.verified) {
    const bits = [];
    if (identity.method) bits.push(t("identity_by", { method: identity.method }));
    if (identity.verified_at) bits.push(t("identity_at", { when: when(identity.verified_at) }));
    return h(
      "div.identity",
      { testid: "identity-badge", data: { verified: "true" }, title: identity.verified_at ? stamp(identity.verified_at) : null },
      h("span.badge.verified", {}, icon("shield"), h("strong", {}, t("identity_verified"))),
      bits.length ? h("span.detail", {}, bits.join(" · ")) : null,
    );
  }
  return h(
    "div.identity",
    { testid: "identity-badge", data: { verified: "false" } },
    h("span.badge.unverified", {}, icon("shieldOff"), h("strong", {}, t("identity_not_verified"))),
  );
}

function messageText(entry) {
  if (entry.content && entry.content.redacted) return t("redacted", { what: entry.content.redacted });
  if (entry.kind === "number_changed") {
    // handover/rekey.py: both numbers (a number change) or both business-scoped ids (an id change)
    const c = entry.content || {};
    const number = c.change !== "user_changed_user_id";
    const shown = (v) => (number && v ? `+${v}` : v || "?");
    return t(number ? "number_changed" : "user_id_changed", { from: shown(c.from), to: shown(c.to) });
  }
  if (entry.text) return entry.text;
  if (entry.kind === "template") {
    const name = entry.content && entry.content.template_name;
    return t("kind_template", { name: name || "" });
  }
  return t("kind_media", { kind: entry.kind });
}

/** Buttons and list rows the bot offered, shown as the customer saw them. */
function choices(entry) {
  const c = entry.content || {};
  const titles = [];
  for (const b of c.buttons || []) titles.push(b.title);
  for (const s of c.sections || []) for (const r of s.rows || []) titles.push(r.title);
  if (!titles.length) return null;
  return h("ul.choices", {}, titles.map((x) => h("li", {}, x)));
}

function ticks(entry) {
  const status = (entry.delivery && entry.delivery.status) || "pending";
  const label = t(`status_${status}`);
  const shape = { pending: "clock", sent: "check", failed: "alert" }[status] || "checks";
  return h(`span.ticks.${status}`, { title: label, "aria-label": label, role: "img" }, icon(shape));
}

function failure(delivery) {
  if (!delivery) return "";
  const title = delivery.error_title || "";
  const code = delivery.error_code ? String(delivery.error_code) : "";
  return code && !title.includes(code) ? `${title} (${code})`.trim() : title; // Meta's titles often carry it
}
