// Offers waiting for the signed-in agent's answer, both kinds in one panel at the top of the left column:
// a colleague's warm transfer (kind "transfer") and a waiting conversation a push queue chose them for
// (kind "assignment"). Each shows the customer, where it comes from and a countdown, with Accept and
// Decline; the console rings while one waits, and says briefly why one went away.
//
// data-testid: offer-box[data-ringing=true|false][data-rings=N] (N: rings sounded), offer-list,
// offer[data-id][data-kind=transfer|assignment] (with offer-accept, offer-decline, offer-expires)

import { h, fill, keepFocus } from "./console-dom.js";
import { t, LANG, duration, explain } from "./console-i18n.js";
import { icon } from "./console-icons.js";

const RING_EVERY_MS = 5000; // a ring again while an offer waits, as a phone does
const LISTED_GRACE_MS = 3000; // an offer heard of this recently is kept even if an older list lacks it
const EXPIRED_GRACE_S = 5; // past its expiry with no word from the server: gone all the same
const URGENT_S = 5;
// events after which a conversation offered to me is not on offer any more
const ENDED = new Set(["transferred", "closed", "released", "abandoned", "transfer_accepted", "transfer_declined"]);
const WITHDRAWN = new Set(["declined", "timeout", "unavailable", "customer_left", "window_closed"]); // offer_withdrawn's `why`, each said in words

export class Offers {
  constructor(desk) {
    this.desk = desk;
    this.items = new Map(); // conversation id → offer (see offerOf)
    this.settled = new Set(); // answered here: a look-up or list still in flight must not bring them back
    this.announced = new Set(); // rung and announced once already
    this.rings = 0;
    this.ringTimer = null;
    this.clocks = new Map(); // conversation id → the nodes its countdown moves
    this.shown = null; // what the panel shows now, to redraw only on a change
    this.title = h("h2.side-title", {}, t("offers"));
    this.list = h("ul.offers", { testid: "offer-list", "aria-label": t("offers") });
    this.announcer = h("p.sr-only", { role: "status", "aria-live": "assertive" });
    this.root = h(
      "section.side-section.offer-box",
      { testid: "offer-box", hidden: true, data: { ringing: "false", rings: "0" } },
      this.title,
      this.list,
      this.announcer,
    );
  }

  get size() {
    return this.items.size;
  }

  get(id) {
    return this.items.get(id);
  }

  // ---- what the server says -----------------------------------------------------------------------

  /** The offers to me as a list of conversations has them (after a reload, the only source). */
  sync(conversations) {
    const me = this.desk.me.id;
    const listed = new Map();
    for (const c of conversations) {
      if (c.offer && c.offer.to_agent === me && !this.settled.has(c.id)) listed.set(c.id, offerOf(c, {}, this.items.get(c.id)));
    }
    const recent = Date.now() - LISTED_GRACE_MS;
    for (const [id, offer] of this.items) if (!listed.has(id) && offer.seenAt > recent) listed.set(id, offer);
    this.items = listed;
    this.changed();
  }

  /** A live event; handles those about offers to me (others are the desk's). */
  onEvent(type, data) {
    const id = data.conversation_id;
    const forMe = data.agent_id === this.desk.me.id;
    if ((type === "transfer_offered" || type === "offered") && forMe) {
      this.settled.delete(id);
      this.add(id, data);
    } else if (type === "offer_withdrawn" && forMe) {
      this.drop(id, this.settled.has(id) ? null : WITHDRAWN.has(data.why) ? data.why : "gone");
    } else if (type === "agent_status" && forMe && data.why === "missed_offers") {
      this.desk.toast(t("away_missed_offers"), "error");
    } else if (ENDED.has(type) && this.items.has(id) && !this.settled.has(id)) {
      this.drop(id, "gone");
    }
  }

  async add(id, data = {}) {
    let detail;
    try {
      detail = await this.desk.api.get(`/conversations/${encodeURIComponent(id)}?lang=${LANG}`);
    } catch {
      return this.drop(id, null);
    }
    if (this.settled.has(id)) return;
    if (!detail.offer || detail.offer.to_agent !== this.desk.me.id) return this.drop(id, null);
    this.items.set(id, offerOf(detail, data, this.items.get(id)));
    this.changed();
  }

  /** Gone from my offers; `why` (declined | timeout | unavailable | gone | expired) says so in a toast. */
  drop(id, why) {
    const offer = this.items.get(id);
    if (!offer) return;
    this.items.delete(id);
    this.announced.delete(id);
    if (why) this.desk.toast(t(`offer_${offer.kind}_${why}`, { name: offer.name }), why === "gone" ? "error" : "info");
    this.changed();
  }

  // ---- what the agent does --------------------------------------------------------------------------

  /** The offer the agent answered, out of the panel at once (whatever the server says next); none if gone. */
  answered(id) {
    const offer = this.items.get(id);
    if (!offer) return null;
    this.settled.add(id);
    this.items.delete(id);
    this.changed();
    return offer;
  }

  async accept(id) {
    const offer = this.answered(id);
    if (!offer) return;
    try {
      const detail = await this.desk.api.post(`/conversations/${encodeURIComponent(id)}/accept?lang=${LANG}`);
      this.desk.toast(t("offer_accepted", { name: offer.name || detail.customer_name || "" }));
      this.desk.holdNow(detail);
    } catch (exc) {
      this.desk.toast(this.refusal(offer, exc), "error");
      this.desk.scheduleRefresh();
    }
  }

  async decline(id) {
    const offer = this.answered(id);
    if (!offer) return;
    try {
      await this.desk.api.post(`/conversations/${encodeURIComponent(id)}/decline`);
      this.desk.toast(t(`offer_${offer.kind}_declined`, { name: offer.name }));
    } catch (exc) {
      this.desk.toast(this.refusal(offer, exc), "error");
    }
    this.desk.scheduleRefresh();
  }

  /** Why an answer was refused, in words: mostly, the offer ended meanwhile. */
  refusal(offer, exc) {
    if (exc.status === 403 || exc.status === 404) return t(`offer_${offer.kind}_gone`, { name: offer.name });
    if (exc.status === 409) return offer.kind === "assignment" ? t("offer_assignment_conflict") : t("offer_transfer_gone");
    return explain(exc);
  }

  // ---- what the agent sees and hears ----------------------------------------------------------------

  changed() {
    // lists are read again after every event: redraw only when what is shown changed, so the focus and
    // the pulse stay put
    const shown = JSON.stringify(
      [...this.items.values()].map((o) => [o.id, o.name, this.desk.queueName(o.queue), o.priority, this.desk.agentName(o.by), o.reason, o.note, o.expires_at]),
    );
    if (shown !== this.shown) {
      this.shown = shown;
      this.render();
    }
    this.announce();
    this.ring();
    this.desk.updateTitle();
  }

  render() {
    const offers = [...this.items.values()];
    this.root.hidden = !offers.length;
    this.root.dataset.ringing = String(offers.length > 0);
    this.root.dataset.kinds = [...new Set(offers.map((o) => o.kind))].join(" ");
    this.clocks = new Map();
    keepFocus(this.list, () => fill(this.list, offers.map((o) => this.card(o))));
    this.tick();
  }

  card(o) {
    const head =
      o.kind === "assignment"
        ? h("div.offer-head", {}, icon("inbox"), h("span", {}, t("offer_assignment_head")))
        : h("div.offer-head", {}, icon("transfer"), h("span", {}, t("offer_from", { agent: this.desk.agentName(o.by) })));
    const urgent = o.priority === "urgent" || o.priority === "high";
    const text = h("span.expires", { testid: "offer-expires", role: "timer" });
    const bar = h("span.offer-clock-bar");
    const card = h(
      `li.offer.${o.kind}`,
      { testid: "offer", data: { id: o.id, kind: o.kind }, "aria-label": t(`offer_${o.kind}_label`, { name: o.name }) },
      head,
      h("strong.offer-name", {}, o.name),
      o.queue || urgent
        ? h(
            "div.offer-meta.small",
            {},
            o.queue ? h("span", { testid: "offer-queue" }, t("offer_queue", { queue: this.desk.queueName(o.queue) })) : null,
            urgent ? h(`span.prio.prio-${o.priority}`, {}, t(`priority_${o.priority}`)) : null,
          )
        : null,
      o.reason ? h("div.small", {}, t("offer_reason", { reason: o.reason })) : null,
      o.note ? h("blockquote.note", {}, o.note) : null,
      text,
      o.expires_at ? h("span.offer-clock", { "aria-hidden": "true" }, bar) : null,
      h(
        "div.offer-actions",
        {},
        h("button.btn.small", { type: "button", testid: "offer-decline", onclick: () => this.decline(o.id) }, t("offer_decline")),
        h("button.btn.small.primary", { type: "button", testid: "offer-accept", onclick: () => this.accept(o.id) }, t("offer_accept")),
      ),
    );
    this.clocks.set(o.id, { card, text, bar });
    return card;
  }

  /** Every second: countdowns, and offers long past their expiry that no event ended. */
  tick() {
    const now = Date.now() / 1000;
    for (const o of [...this.items.values()]) {
      if (o.expires_at && now > o.expires_at + EXPIRED_GRACE_S) {
        this.settled.add(o.id); // over here, whatever a list read meanwhile says (a clock ahead of the server's)
        this.drop(o.id, o.kind === "assignment" ? "timeout" : "expired");
        continue;
      }
      const clock = this.clocks && this.clocks.get(o.id);
      if (!clock || !o.expires_at) continue;
      const left = o.expires_at - now;
      clock.text.textContent = left > 0 ? t("offer_expires", { wait: duration(left) }) : t("offer_expiring");
      const share = Math.max(0, Math.min(1, left / Math.max(1, o.expires_at - o.shownAt)));
      clock.bar.style.width = `${(share * 100).toFixed(1)}%`;
      clock.card.classList.toggle("urgent", left <= URGENT_S);
    }
  }

  /** Screen readers hear of each new offer once, without the focus leaving what the agent was doing. */
  announce() {
    const fresh = [...this.items.values()].filter((o) => !this.announced.has(o.id));
    if (!fresh.length) return;
    const o = fresh[fresh.length - 1];
    const wait = o.expires_at ? duration(o.expires_at - Date.now() / 1000) : "—";
    this.announcer.textContent =
      o.kind === "assignment"
        ? t("offer_assignment_announce", { name: o.name, queue: this.desk.queueName(o.queue || ""), wait })
        : t("offer_transfer_announce", { agent: this.desk.agentName(o.by), name: o.name });
  }

  /** Ring for a new offer at once, then every few seconds while any waits (when the sound is on). */
  ring() {
    const fresh = [...this.items.keys()].some((id) => !this.announced.has(id));
    for (const id of this.items.keys()) this.announced.add(id);
    if (!this.items.size) {
      clearInterval(this.ringTimer);
      this.ringTimer = null;
      return;
    }
    if (fresh) this.sound();
    if (!this.ringTimer) this.ringTimer = setInterval(() => this.sound(), RING_EVERY_MS);
  }

  sound() {
    if (!this.desk.beeper.ring(this.desk.soundOn)) return;
    this.rings += 1;
    this.root.dataset.rings = String(this.rings);
  }

  stop() {
    clearInterval(this.ringTimer);
    this.ringTimer = null;
  }
}

/** An offer as the panel shows it, from a conversation (summary or detail) and its event's data. */
function offerOf(conversation, data = {}, known = null) {
  const offer = conversation.offer;
  return {
    id: conversation.id,
    kind: offer.kind || "transfer",
    name: conversation.customer_name || (conversation.wa_id ? `+${conversation.wa_id}` : conversation.id),
    queue: conversation.queue || data.queue || null,
    priority: conversation.priority || null,
    by: offer.by_agent || data.by,
    reason: offer.reason || data.reason,
    note: offer.note || data.note,
    expires_at: offer.expires_at || data.expires_at || null,
    seenAt: known ? known.seenAt : Date.now(),
    shownAt: known ? known.shownAt : Date.now() / 1000, // the countdown bar runs from here
  };
}
