// The supervisor's view: queues (waiting, oldest wait, SLA breaches), the last 24 hours (the contact-centre
// KPIs by hour, queue and agent: console-kpis.js; push queues' automatic assignment), agents (presence, load), and every conversation waiting or held, newest activity
// first, a page at a time (filter by state and queue, "load more"), each of which can be assigned to an
// agent or moved to another queue.

import { h, fill, fillQueuePicker } from "./console-dom.js";
import { t, tn, duration, queueTitle, explain, LOCALE } from "./console-i18n.js";
import { icon } from "./console-icons.js";
import { Pages } from "./console-paging.js";
import { silentMark } from "./console-shell.js";

const OPEN = new Set(["queued", "transferring", "assigned"]);
import { SearchCard } from "./console-search.js";
import { KpiPanel } from "./console-kpis.js";

const GONE = new Set(["closed", "released", "abandoned"]); // events after which a conversation is not listed

export class SupervisorView {
  constructor(desk) {
    this.desk = desk;
    this.data = { queues: [], agents: [] };
    this.fetchedAt = Date.now() / 1000;
    this.pages = new Pages(desk.api, "", () => this.renderConversations());
    this.kpis = h("div.kpis", { testid: "supervisor-kpis" });
    this.day = h("div.kpis.day", { testid: "supervisor-day" });
    this.assignTitle = h("h2.side-title", { id: "supervisor-assignment-title" }, t("sup_assignment"));
    this.assignment = h("div.kpis.day", { testid: "supervisor-assignment", "aria-labelledby": "supervisor-assignment-title", role: "group" });
    this.queues = h("tbody");
    this.agents = h("tbody");
    this.conversations = h("tbody");
    const filter = () => this.filter();
    this.stateFilter = h(
      "select",
      { id: "supervisor-filter-state", testid: "supervisor-filter-state", onchange: filter },
      h("option", { value: "" }, t("filter_all")),
      [...OPEN].map((state) => h("option", { value: state }, t(`state_${state}`))),
    );
    this.queueFilter = h("select", { id: "supervisor-filter-queue", testid: "supervisor-filter-queue", onchange: filter });
    this.shown = h("span.muted.small", { testid: "supervisor-shown", "aria-live": "polite" });
    this.more = h(
      "button.btn.small",
      { type: "button", testid: "supervisor-more", hidden: true, onclick: () => this.loadMore() },
      t("load_more"),
    );
    this.searchCard = new SearchCard(desk);
    this.centre = new KpiPanel(desk, () => this.refresh().catch((exc) => this.desk.toast(explain(exc), "error")));
    this.root = h(
      "section.supervisor",
      { testid: "supervisor-view", "aria-labelledby": "supervisor-title", hidden: true },
      h("h1.sr-only", { id: "supervisor-title" }, t("sup_title")),
      this.searchCard.root,
      this.kpis,
      h("h2.side-title", {}, t("sup_day")),
      this.day,
      this.centre.root,
      this.assignTitle,
      this.assignment,
      h(
        "div.sup-grid",
        {},
        card(t("sup_queues"), "supervisor-queues", table([t("col_queue"), t("col_waiting"), t("col_oldest"), t("col_sla"), t("col_breaches")], this.queues)),
        card(t("sup_agents"), "supervisor-agents", table([t("col_agent"), t("col_status"), t("col_queues"), t("col_load")], this.agents)),
      ),
      listCard(
        t("sup_conversations"),
        "supervisor-conversations",
        h(
          "div.list-filters",
          {},
          h("label", { for: "supervisor-filter-state" }, t("filter_state")),
          this.stateFilter,
          h("label", { for: "supervisor-filter-queue" }, t("filter_queue")),
          this.queueFilter,
        ),
        table(
          [t("col_customer"), t("col_state"), t("col_queue"), t("col_priority"), t("col_agent"), t("col_since"), t("col_actions")],
          this.conversations,
        ),
        h("div.list-more", {}, this.shown, this.more),
      ),
    );
  }

  /** The list's filters as the API takes them. */
  query() {
    const params = new URLSearchParams();
    if (this.stateFilter.value) params.set("state", this.stateFilter.value);
    if (this.queueFilter.value) params.set("queue", this.queueFilter.value);
    if (this.desk.numbers.chosen) params.set("number", this.desk.numbers.chosen);
    return params.toString();
  }

  filter() {
    this.pages.reload(this.query()).catch((exc) => this.desk.toast(explain(exc), "error"));
  }

  async loadMore() {
    this.more.disabled = true;
    try {
      await this.pages.more();
    } catch (exc) {
      this.desk.toast(explain(exc), "error");
    } finally {
      this.more.disabled = false;
    }
  }

  /** A live event about a conversation: off the list when it is gone, else placed by the next refresh. */
  onEvent(type, id) {
    if (!id) return;
    if (GONE.has(type)) this.pages.drop(id);
    this.pages.touch(id);
  }

  /** A conversation of the list, if loaded (for its customer's name). */
  known(id) {
    return this.pages.items.find((c) => c.id === id) || null;
  }

  /** Events may have been missed (the stream reconnected): the next refresh starts from the first page. */
  forget() {
    this.pages.forget();
  }

  async refresh() {
    const api = this.desk.api;
    const [queues, agents, stats] = await Promise.all([
      api.get("/queues"),
      api.get("/agents"),
      api.get(`/stats?hours=24${this.centre.query()}`).catch(() => null),
      this.pages.refresh(),
    ]);
    this.data = { queues, agents, stats };
    this.fetchedAt = Date.now() / 1000;
    this.desk.agents = agents;
    this.desk.queues = queues; // the same numbers in the left column
    this.desk.queuesAt = this.fetchedAt;
    this.desk.sidebar.renderQueues();
    this.render();
  }

  /** Waits grow between refreshes: shown from the last answer plus the time since. */
  waited(seconds) {
    return seconds === null || seconds === undefined ? null : seconds + (Date.now() / 1000 - this.fetchedAt);
  }

  /** One agent's last 24 hours: resolved, average handle time, average CSAT. */
  agentDay(id) {
    const mine = this.data.stats && this.data.stats.agents[id];
    const offers = mine && mine.offers;
    const missed = offers ? offers.declined + offers.expired : 0;
    if (!mine || !(mine.resolved || mine.csat.answers || mine.assigned || missed)) return null;
    const parts = [t("agent_resolved", { n: mine.resolved })];
    if (mine.handle.average_seconds !== null) parts.push(t("agent_handle", { time: duration(mine.handle.average_seconds) }));
    if (mine.csat.average_score !== null) parts.push(t("agent_csat", { score: score(mine.csat.average_score) }));
    if (mine.assigned) parts.push(t("agent_assigned", { n: mine.assigned }));
    if (missed) parts.push(t("agent_offers_missed", { declined: offers.declined, expired: offers.expired }));
    return parts.join(" · ");
  }

  /** The last 24 hours: what was done, how it was rated, how long people waited and were helped. */
  renderDay(stats) {
    this.day.hidden = !stats;
    if (!stats) return;
    const seconds = (avg) => (avg.average_seconds === null ? "—" : duration(avg.average_seconds));
    const csat = stats.csat.average_score === null ? "—" : score(stats.csat.average_score);
    const moved = stats.transfers.cold + stats.transfers.warm;
    fill(
      this.day,
      kpi(t("day_resolved", { moved }), String(stats.resolved), "kpi-resolved"),
      kpi(t("day_csat", { n: stats.csat.answers }), csat, "kpi-csat"),
      kpi(t("day_wait"), seconds(stats.queue_wait), "kpi-wait"),
      kpi(t("day_first_reply"), seconds(stats.agent_first_reply), "kpi-first-reply"),
      kpi(t("day_handle"), seconds(stats.handle), "kpi-handle"),
    );
    this.renderAssignment(stats);
  }

  /** Push queues over the same 24 hours: how fast the assigner placed conversations, and what became of
   * its offers; shown once there is something to show (a desk of pull queues only never has). */
  renderAssignment(stats) {
    const timed = stats && stats.time_to_assign;
    const offers = stats && stats.offers;
    const shown = Boolean(timed && offers && (timed.count || offers.offered));
    this.assignTitle.hidden = !shown;
    this.assignment.hidden = !shown;
    if (!shown) return;
    const share = (n) => (offers.offered ? t("assign_share", { pct: Math.round((100 * n) / offers.offered) }) : null);
    fill(
      this.assignment,
      kpi(t("assign_time"), timed.average_seconds === null ? "—" : duration(timed.average_seconds), "kpi-time-to-assign", false, t("assign_count", { n: timed.count })),
      kpi(t("assign_offered"), String(offers.offered), "kpi-offers"),
      kpi(t("assign_accepted"), String(offers.accepted), "kpi-offers-accepted", false, share(offers.accepted)),
      kpi(t("assign_declined"), String(offers.declined), "kpi-offers-declined", false, share(offers.declined)),
      kpi(
        t("assign_expired"),
        String(offers.expired),
        "kpi-offers-expired",
        false,
        offers.withdrawn ? t("assign_withdrawn", { n: offers.withdrawn }) : share(offers.expired),
      ),
    );
  }

  render() {
    const { agents } = this.data;
    const queues = this.data.queues.filter((q) => this.desk.numbers.shows(q.number));
    const waiting = queues.reduce((n, q) => n + q.waiting, 0);
    const oldest = Math.max(-1, ...queues.map((q) => (q.oldest_wait_seconds === null ? -1 : this.waited(q.oldest_wait_seconds))));
    const breaches = queues.reduce((n, q) => n + q.sla_breaches, 0);
    const available = agents.filter((a) => a.status === "available").length;
    fill(
      this.kpis,
      kpi(t("sup_waiting"), String(waiting), "kpi-waiting"),
      kpi(t("sup_oldest"), oldest < 0 ? "—" : duration(oldest), "kpi-oldest"),
      kpi(t("sup_breaches"), String(breaches), "kpi-breaches", breaches > 0),
      kpi(t("sup_available"), `${available}/${agents.length}`, "kpi-available"),
    );
    this.renderDay(this.data.stats);
    this.centre.render(this.data.stats, queues);
    fill(
      this.queues,
      queues.map((q) => {
        const wait = this.waited(q.oldest_wait_seconds);
        const late = q.sla_seconds && wait !== null && wait > q.sla_seconds;
        return h(
          "tr",
          { testid: "supervisor-queue", data: { queue: q.name, number: q.number || "" } },
          h("th.queue-title", { scope: "row", title: q.name }, queueTitle(q), this.desk.numbers.mark(q.number)),
          h("td.num", {}, String(q.waiting)),
          h(`td.num${late ? ".late" : ""}`, {}, wait === null ? "—" : duration(wait)),
          h("td.num", {}, q.sla_seconds ? duration(q.sla_seconds) : "—"),
          h(`td.num${q.sla_breaches ? ".late" : ""}`, {}, String(q.sla_breaches)),
        );
      }),
    );
    fill(
      this.agents,
      agents.length
        ? agents.map((a) =>
            h(
              "tr",
              { testid: "supervisor-agent", data: { agent: a.id, status: a.status } },
              h(
                "th",
                { scope: "row" },
                a.name,
                a.role === "supervisor" || a.role === "admin" ? h("div.muted.small", {}, t(`role_${a.role}`)) : null,
                h("div.muted.small", { testid: "agent-day", title: t("col_day") }, this.agentDay(a.id)),
              ),
              h("td.nowrap", {}, h(`span.presence-dot.${a.status}`, { "aria-hidden": "true" }), t(`presence_${a.status}`)),
              h("td.muted.queue-title", {}, a.queues.map((q) => this.desk.queueName(q)).join(" · ")),
              h("td", {}, loadBar(a.load, a.capacity)),
            ),
          )
        : h("tr", {}, h("td.muted", { colspan: "4" }, t("sup_no_agents"))),
    );
    this.renderQueueFilter(queues);
    this.renderConversations();
  }

  renderQueueFilter(queues) {
    fillQueuePicker(this.queueFilter, queues, t("filter_all"), queueTitle);
  }

  /** The conversations loaded so far, in the list's order (newest activity first). */
  renderConversations() {
    const rows = this.pages.items.filter((c) => OPEN.has(c.state));
    fill(
      this.conversations,
      rows.length
        ? rows.map((c) => this.row(c))
        : h("tr", {}, h("td.muted", { colspan: "7" }, t("sup_none"))),
    );
    this.shown.textContent = tn("list_shown", rows.length);
    this.more.hidden = !this.pages.next;
  }

  row(c) {
    const priority = c.priority || "normal";
    const movable = c.state === "queued" || c.state === "assigned";
    return h(
      "tr",
      { testid: "supervisor-conversation", data: { id: c.id, state: c.state } },
      h("th", { scope: "row" }, c.customer_name || c.wa_id || c.id, c.wa_id ? h("div.muted.small", {}, `+${c.wa_id}`) : null),
      h("td", {}, h(`span.pill.state-${c.state}`, {}, t(`state_${c.state}`)), silentMark(c)),
      h("td", {}, c.queue ? this.desk.queueName(c.queue) : "—", this.desk.numbers.mark(c.phone_number_id)),
      h("td", {}, h(`span.prio.prio-${priority}`, {}, t(`priority_${priority}`))),
      h("td", {}, c.agent_id ? this.desk.agentName(c.agent_id) : t("unassigned")),
      h("td.num", {}, duration(Date.now() / 1000 - c.updated_at)),
      h(
        "td",
        {},
        movable
          ? h(
              "button.btn.small",
              { type: "button", testid: "supervisor-move", onclick: () => this.desk.transferDialog.open(c, true) },
              icon("transfer"),
              t("sup_move"),
            )
          : null,
      ),
    );
  }
}

function score(value) {
  return new Intl.NumberFormat(LOCALE, { maximumFractionDigits: 1 }).format(value);
}

function card(title, testid, content) {
  return h("section.card", { testid, "aria-label": title }, h("h2.card-title", {}, title), h("div.table-wrap", {}, content));
}

/** A card holding a paged list: its filters above the table, the count and "load more" below. */
function listCard(title, testid, filters, content, footer) {
  return h("section.card", { testid, "aria-label": title }, h("h2.card-title", {}, title), filters, h("div.table-wrap", {}, content), footer);
}

function table(headings, body) {
  return h("table.grid", {}, h("thead", {}, h("tr", {}, headings.map((x) => h("th", { scope: "col" }, x)))), body);
}

function kpi(label, value, testid, alarm = false, detail = null) {
  return h(
    `div.kpi${alarm ? ".alarm" : ""}`,
    { testid },
    h("div.kpi-value", {}, value),
    h("div.kpi-label", {}, label),
    detail ? h("div.kpi-detail", {}, detail) : null,
  );
}

function loadBar(load, capacity) {
  const share = capacity ? Math.min(1, load / capacity) : 0;
  return h(
    "div.load",
    { title: t("load_title", { load, capacity }) },
    h("div.load-bar", { "aria-hidden": "true" }, h("span", { style: { width: `${Math.round(share * 100)}%` } })),
    h("span.load-text", {}, t("load", { load, capacity })),
  );
}
