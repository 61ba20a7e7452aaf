// The supervisor's view: queues (waiting, oldest wait, SLA breaches), agents (presence, load), and every
// conversation waiting or held, each of which can be assigned to an agent or moved to another queue.

import { h, fill } from "./console-dom.js";
import { t, duration, queueTitle, LOCALE } from "./console-i18n.js";
import { icon } from "./console-icons.js";

const ORDER = { queued: 0, transferring: 1, assigned: 2 };
const PRIORITY = { urgent: 0, high: 1, normal: 2, low: 3 };

export class SupervisorView {
  constructor(desk) {
    this.desk = desk;
    this.data = { queues: [], agents: [], conversations: [] };
    this.fetchedAt = Date.now() / 1000;
    this.kpis = h("div.kpis", { testid: "supervisor-kpis" });
    this.day = h("div.kpis.day", { testid: "supervisor-day" });
    this.queues = h("tbody");
    this.agents = h("tbody");
    this.conversations = h("tbody");
    this.root = h(
      "section.supervisor",
      { testid: "supervisor-view", "aria-labelledby": "supervisor-title", hidden: true },
      h("h1.sr-only", { id: "supervisor-title" }, t("sup_title")),
      this.kpis,
      h("h2.side-title", {}, t("sup_day")),
      this.day,
      h(
        "div.sup-grid",
        {},
        card(t("sup_queues"), "supervisor-queues", table([t("col_queue"), t("col_waiting"), t("col_oldest"), t("col_sla"), t("col_breaches")], this.queues)),
        card(t("sup_agents"), "supervisor-agents", table([t("col_agent"), t("col_status"), t("col_queues"), t("col_load")], this.agents)),
      ),
      card(
        t("sup_conversations"),
        "supervisor-conversations",
        table(
          [t("col_customer"), t("col_state"), t("col_queue"), t("col_priority"), t("col_agent"), t("col_since"), t("col_actions")],
          this.conversations,
        ),
      ),
    );
  }

  async refresh() {
    const api = this.desk.api;
    const [queues, agents, conversations, stats] = await Promise.all([
      api.get("/queues"),
      api.get("/agents"),
      api.get("/conversations"),
      api.get("/stats?hours=24").catch(() => null),
    ]);
    this.data = { queues, agents, conversations: conversations.filter((c) => c.state in ORDER), stats };
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
    if (!mine || !(mine.resolved || mine.csat.answers)) return null;
    const parts = [t("agent_resolved", { n: mine.resolved })];
    if (mine.handle.average_seconds !== null) parts.push(t("agent_handle", { time: duration(mine.handle.average_seconds) }));
    if (mine.csat.average_score !== null) parts.push(t("agent_csat", { score: score(mine.csat.average_score) }));
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
  }

  render() {
    const { queues, agents, conversations } = this.data;
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
    fill(
      this.queues,
      queues.map((q) => {
        const wait = this.waited(q.oldest_wait_seconds);
        const late = q.sla_seconds && wait !== null && wait > q.sla_seconds;
        return h(
          "tr",
          { testid: "supervisor-queue", data: { queue: q.name } },
          h("th.queue-title", { scope: "row", title: q.name }, queueTitle(q)),
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
                a.role === "supervisor" ? h("div.muted.small", {}, t("role_supervisor")) : null,
                h("div.muted.small", { testid: "agent-day", title: t("col_day") }, this.agentDay(a.id)),
              ),
              h("td.nowrap", {}, h(`span.presence-dot.${a.status}`, { "aria-hidden": "true" }), t(`presence_${a.status}`)),
              h("td.muted.queue-title", {}, a.queues.map((q) => this.desk.queueName(q)).join(" · ")),
              h("td", {}, loadBar(a.load, a.capacity)),
            ),
          )
        : h("tr", {}, h("td.muted", { colspan: "4" }, t("sup_no_agents"))),
    );
    const rows = [...conversations].sort(
      (a, b) => ORDER[a.state] - ORDER[b.state] || (PRIORITY[a.priority] ?? 2) - (PRIORITY[b.priority] ?? 2) || a.updated_at - b.updated_at,
    );
    fill(
      this.conversations,
      rows.length
        ? rows.map((c) => this.row(c))
        : h("tr", {}, h("td.muted", { colspan: "7" }, t("sup_none"))),
    );
  }

  row(c) {
    const priority = c.priority || "normal";
    const movable = c.state === "queued" || c.state === "assigned";
    return h(
      "tr",
      { testid: "supervisor-conversation", data: { id: c.id, state: c.state } },
      h("th", { scope: "row" }, c.customer_name || c.wa_id || c.id, c.wa_id ? h("div.muted.small", {}, `+${c.wa_id}`) : null),
      h("td", {}, h(`span.pill.state-${c.state}`, {}, t(`state_${c.state}`))),
      h("td", {}, c.queue ? this.desk.queueName(c.queue) : "—"),
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

function table(headings, body) {
  return h("table.grid", {}, h("thead", {}, h("tr", {}, headings.map((x) => h("th", { scope: "col" }, x)))), body);
}

function kpi(label, value, testid, alarm = false) {
  return h(`div.kpi${alarm ? ".alarm" : ""}`, { testid }, h("div.kpi-value", {}, value), h("div.kpi-label", {}, label));
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
