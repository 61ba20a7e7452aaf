// The desk's frame: the top bar (presence, live state, sound, views, sign-out) and the left column
// (offers to me, take next, queues, my conversations).

import { h, fill, keepFocus } from "./console-dom.js";
import { t, duration, queueTitle, stamp } from "./console-i18n.js";
import { icon } from "./console-icons.js";
import { isSupervisor } from "./console-numbers.js";

const PRESENCE = ["available", "away", "offline"];

export function logo() {
  const mark = document.createElement("span");
  mark.className = "logo";
  mark.setAttribute("aria-hidden", "true");
  mark.innerHTML =
    '<svg viewBox="0 0 24 24" width="22" height="22"><path fill="currentColor" d="M12 2a10 10 0 00-8.6 15.1L2 22l5-1.3A10 10 0 1012 2z" opacity=".95"/>' +
    '<path fill="#fff" d="M8 9.5h8M8 13h5" stroke="#fff" stroke-width="1.8" stroke-linecap="round"/></svg>';
  return mark;
}

export class TopBar {
  constructor(desk) {
    this.desk = desk;
    this.presence = h(
      "select.presence",
      { id: "presence", testid: "presence", onchange: () => desk.setPresence(this.presence.value) },
      PRESENCE.map((p) => h("option", { value: p }, t(`presence_${p}`))),
    );
    this.live = h("span.live", { testid: "live-status", role: "status" });
    this.resume = h("button.btn.small.ghost", { type: "button", testid: "live-resume", hidden: true, onclick: () => desk.resumeLive() }, t("live_resume"));
    this.sound = h("button.icon-btn.sound", { type: "button", testid: "sound-toggle", "aria-pressed": "false", onclick: () => desk.toggleSound() });
    this.deskTab = h("button.tab", { type: "button", role: "tab", testid: "desk-tab", onclick: () => desk.showView("desk") }, icon("chat"), t("tab_desk"));
    this.supervisorTab = h(
      "button.tab",
      { type: "button", role: "tab", testid: "supervisor-tab", onclick: () => desk.showView("supervisor") },
      icon("queue"),
      t("tab_supervisor"),
    );
    this.botTab = h("button.tab", { type: "button", role: "tab", testid: "bot-tab", onclick: () => desk.showView("bot") }, icon("bot"), t("tab_bot"));
    const me = desk.me;
    const supervising = isSupervisor(me);
    this.root = h(
      "header.topbar",
      {},
      h("div.brand", {}, logo(), h("span", {}, t("brand"))),
      h("nav.tabs", { role: "tablist", "aria-label": t("brand") }, this.deskTab, supervising ? this.supervisorTab : null, supervising ? this.botTab : null),
      desk.numbers.picker,
      h("div.spacer"),
      this.live,
      this.resume,
      this.sound,
      h("div.presence-wrap", { data: { status: me.status } }, h("label", { for: "presence" }, t("presence")), h("span.presence-dot", { "aria-hidden": "true" }), this.presence),
      h(
        "div.me",
        { testid: "me" },
        h("span.avatar.small", { "aria-hidden": "true" }, initialsOf(me.name)),
        h("div", {}, h("strong", { testid: "me-name" }, me.name), h("span.muted.small", {}, t(`role_${me.role}`))),
      ),
      h("button.btn.ghost", { type: "button", testid: "signout", onclick: () => desk.signOut() }, icon("signout"), t("signout")),
    );
    this.update();
  }

  update() {
    const { me, view, soundOn, liveState } = this.desk;
    this.presence.value = me.status;
    this.presence.closest(".presence-wrap").dataset.status = me.status;
    fill(this.live, h("span.dot", { "aria-hidden": "true" }), t(liveState === "live" ? "live" : liveState));
    this.live.dataset.state = liveState;
    this.resume.hidden = liveState !== "replaced";
    fill(this.sound, icon(soundOn ? "bell" : "bellOff"));
    this.sound.setAttribute("aria-pressed", String(soundOn));
    this.sound.setAttribute("aria-label", soundOn ? t("sound_on") : t("sound_off"));
    this.sound.title = soundOn ? t("sound_on") : t("sound_off");
    for (const [tab, name] of [[this.deskTab, "desk"], [this.supervisorTab, "supervisor"], [this.botTab, "bot"]]) {
      tab.setAttribute("aria-selected", String(view === name));
    }
  }
}

export class SideBar {
  constructor(desk) {
    this.desk = desk;
    this.offerBox = desk.offers.root; // console-offers.js
    this.take = h("button.btn.primary.wide.take", { type: "button", testid: "take-next", onclick: () => desk.takeNext() }, icon("inbox"), t("take_next"));
    this.queues = h("ul.queues", { testid: "queue-list", "aria-label": t("queues") });
    this.load = h("span.load-pill", { testid: "conversation-load" });
    this.conversations = h("ul.conversations", { testid: "conversation-list", "aria-label": t("my_conversations") });
    this.more = h(
      "button.btn.small.ghost.wide",
      { type: "button", testid: "conversation-more", hidden: true, onclick: () => desk.minePages.more() },
      t("load_more"),
    );
    this.root = h(
      "aside.sidebar",
      {},
      this.offerBox,
      h("div.side-section", {}, this.take),
      h("section.side-section", {}, h("h2.side-title", {}, t("queues")), this.queues),
      h("section.side-section.grow", {}, h("h2.side-title", {}, t("my_conversations"), this.load), this.conversations, this.more),
    );
  }

  renderQueues() {
    const { queuesAt, numbers } = this.desk;
    const queues = this.desk.queues.filter((q) => numbers.shows(q.number));
    const elapsed = Date.now() / 1000 - queuesAt;
    if (!queues.length) {
      fill(this.queues, h("li.muted.small", {}, t("no_queues")));
      return;
    }
    fill(
      this.queues,
      queues.map((q) => {
        const wait = q.oldest_wait_seconds === null ? null : q.oldest_wait_seconds + elapsed;
        const late = q.sla_seconds && wait !== null && wait > q.sla_seconds;
        return h(
          `li.queue${q.waiting ? ".busy" : ""}${late ? ".late" : ""}`,
          { testid: "queue", data: { queue: q.name, number: q.number || "", waiting: String(q.waiting) } },
          h(
            "div",
            {},
            h("div.queue-name", { title: q.name }, queueTitle(q), numbers.mark(q.number)),
            h(
              "div.queue-meta",
              {},
              q.waiting ? t("queue_waiting", { n: q.waiting }) : t("queue_empty"),
              wait !== null ? ` · ${t("queue_oldest", { wait: duration(wait) })}` : "",
            ),
          ),
          h("span.count", { "aria-hidden": "true" }, String(q.waiting)),
        );
      }),
    );
  }

  renderConversations() {
    const { me, openId, unread, numbers } = this.desk;
    const mine = this.desk.mine.filter((c) => numbers.shows(c.phone_number_id));
    this.more.hidden = !(this.desk.minePages && this.desk.minePages.next);
    this.load.textContent = t("load", { load: me.load, capacity: me.capacity });
    this.load.title = t("load_title", { load: me.load, capacity: me.capacity });
    keepFocus(this.conversations, () => {
      if (!mine.length) {
        fill(this.conversations, h("li.muted.small.empty", {}, t("no_conversations")));
        return;
      }
      fill(
        this.conversations,
        mine.map((c) => {
          const count = unread.get(c.id) || 0;
          const name = c.customer_name || (c.wa_id ? `+${c.wa_id}` : c.id);
          return h(
            "li",
            { data: { id: c.id } },
            h(
              `button.conv-item${c.id === openId ? ".active" : ""}`,
              {
                type: "button",
                testid: "conversation",
                data: { id: c.id, unread: String(count), state: c.state },
                "aria-current": c.id === openId ? "true" : null,
                onclick: () => this.desk.openConversation(c.id),
              },
              h("span.avatar.small", { "aria-hidden": "true" }, initialsOf(name)),
              h(
                "span.conv-main",
                {},
                h("span.conv-name", {}, name),
                h(
                  "span.conv-sub",
                  {},
                  numbers.mark(c.phone_number_id),
                  c.queue ? this.desk.queueName(c.queue) : "",
                  c.state === "transferring" ? h("span.pill.small.state-transferring", {}, t("state_transferring")) : null,
                  c.window_open ? null : h("span.pill.small.closed", {}, icon("lock")),
                  silentMark(c),
                ),
              ),
              count ? h("span.unread", { "aria-label": t("unread", { n: count }) }, String(count)) : null,
            ),
          );
        }),
      );
    });
  }

  /** Every second: queue waits. */
  tick() {
    this.renderQueues();
  }
}

export function initialsOf(name) {
  const words = String(name || "").replace(/\(.*?\)/g, "").match(/\p{L}[\p{L}\p{M}'-]*/gu) || ["?"];
  return (words[0][0] + (words.length > 1 ? words[words.length - 1][0] : "")).toUpperCase();
}

/**
 * The agent reply clock's mark (the queue's agent_reply_seconds passed with the customer unanswered: desk
 * event agent_silent): how long the customer has waited, for the agent and for supervisors; null when not.
 */
export function silentMark(c, small = true) {
  if (!c || !c.agent_silent_since) return null;
  const wait = duration(Date.now() / 1000 - c.agent_silent_since);
  return h(
    `span.pill.silent${small ? ".small" : ""}`,
    { testid: "agent-silent", title: t("agent_silent_title", { when: stamp(c.agent_silent_since) }) },
    icon("clock"),
    t("agent_silent_badge", { wait }),
  );
}
