// The supervisor tab's contact-centre KPIs over the last 24 hours (GET /api/v1/stats; docs/operations.md's "KPIs"
// section defines each): service level, abandonment rate, first contact resolution (FCR), transfers per
// conversation and reply breaches as figures; the first three hour by hour in a uPlot chart; then per
// queue and per agent in tables. A queue picker narrows the figures, the chart and the queue table to one
// queue. FCR is provisional while customers may still come back (fewer than fcr_days since): it says so.

import { h, fill, fillQueuePicker } from "./console-dom.js";
import { t, duration, LANG, LOCALE, stamp } from "./console-i18n.js";
import { loadUplot } from "./console-uplot.js";

const CHART_HEIGHT = 220;
const COLOURS = { service: "#00a884", abandonment: "#d9480f", fcr: "#1c7ed6" };
const BANDS = ["0", "1", "2", "3+"];

export class KpiPanel {
  /** @param desk the console (queueName, agentName); @param onQueue called when the queue picked changes */
  constructor(desk, onQueue) {
    this.desk = desk;
    this.chart = null;
    this.stats = null;
    this.picker = h("select", { id: "kpi-queue", testid: "kpi-queue", onchange: () => onQueue() });
    this.figures = h("div.kpis.centre", { testid: "kpi-figures" });
    this.chartBox = h("div.chart", { testid: "kpi-chart", role: "img", "aria-label": t("kpi_chart_label") });
    this.chartNote = h("div.chart-note", { testid: "kpi-chart-note" });
    this.queueRows = h("tbody");
    this.agentRows = h("tbody");
    this.queueNote = h("p.table-note", { testid: "kpi-queues-note" });
    this.agentNote = h("p.table-note");
    this.root = h(
      "section.kpi-panel",
      { testid: "supervisor-centre", "aria-labelledby": "kpi-title" },
      h(
        "div.kpi-head",
        {},
        h("h2.side-title", { id: "kpi-title" }, t("kpi_title")),
        h("label.muted.small", { for: "kpi-queue" }, t("filter_queue")),
        this.picker,
      ),
      this.figures,
      h(
        "section.card",
        { "aria-labelledby": "kpi-chart-title" },
        h("h2.card-title", { id: "kpi-chart-title" }, t("kpi_chart_title"), h("span.card-note", {}, t("kpi_chart_note"))),
        h("div.card-body", {}, this.chartBox, this.chartNote),
      ),
      h(
        "div.sup-grid.kpi-tables",
        {},
        tableCard(t("kpi_by_queue"), "kpi-queues", [t("col_queue"), t("kpi_col_sl"), t("kpi_col_abandon"), t("kpi_col_median"), t("kpi_col_fcr"), t("kpi_col_aht"), t("kpi_col_transfers"), t("kpi_col_breaches")], this.queueRows, this.queueNote),
        tableCard(t("kpi_by_agent"), "kpi-agents", [t("col_agent"), t("kpi_col_resolved"), t("kpi_col_fcr"), t("kpi_col_aht"), t("kpi_col_breaches")], this.agentRows, this.agentNote),
      ),
    );
    new ResizeObserver(() => this.fitChart()).observe(this.chartBox);
  }

  /** `&queue=...` for the stats route: the queue picked, or nothing for every queue. */
  query() {
    return this.picker.value ? `&queue=${encodeURIComponent(this.picker.value)}` : "";
  }

  render(stats, queues) {
    this.renderPicker(queues);
    this.root.hidden = !stats || stats.service_level === undefined; // a server without the KPIs yet
    if (this.root.hidden) return;
    this.stats = stats;
    this.renderFigures(stats);
    this.renderQueues(stats);
    this.renderAgents(stats);
    this.drawChart(stats);
  }

  renderPicker(queues) {
    fillQueuePicker(this.picker, queues, t("filter_all"), (q) => capitalised(this.desk.queueName(q.name)));
  }

  renderFigures(s) {
    const sl = s.service_level;
    const ab = s.abandonment;
    const left = ab.by_reason.customer_left;
    const closed = ab.by_reason.window_closed;
    const moved = s.transfers_per_conversation;
    const resolved = BANDS.reduce((n, b) => n + (moved[b] || 0), 0);
    const breaches = s.breaches;
    fill(
      this.figures,
      figure(t("kpi_sl"), percent(sl.rate), "kpi-service-level", sl.rate !== null && sl.rate < 0.8, t("kpi_sl_of", { met: sl.met, n: sl.met + sl.missed })),
      figure(
        t("kpi_abandon"),
        percent(ab.rate),
        "kpi-abandonment",
        ab.rate !== null && ab.rate > 0.1,
        t("kpi_abandon_of", { n: ab.abandoned, taken: ab.taken }),
        t("kpi_abandon_reasons", { left: left.count, left_wait: wait(left.median_wait_seconds), closed: closed.count, closed_wait: wait(closed.median_wait_seconds) }),
      ),
      figure(
        t("kpi_fcr"),
        percent(s.fcr.rate),
        "kpi-fcr",
        false,
        t("kpi_fcr_of", { n: s.fcr.resolved, back: s.fcr.came_back }),
        s.fcr.pending ? t("kpi_fcr_pending", { n: s.fcr.pending, days: s.fcr_days }) : null,
      ),
      figure(
        t("kpi_transfers"),
        percent(resolved ? (moved["0"] || 0) / resolved : null),
        "kpi-transfers",
        false,
        t("kpi_transfers_of", { bands: BANDS.map((b) => `${b}: ${moved[b] || 0}`).join(" · ") }),
      ),
      figure(
        t("kpi_breaches"),
        String(breaches.agent_silent),
        "kpi-reply-breaches",
        breaches.agent_silent > 0,
        t("kpi_breaches_of", { requeued: breaches.agent_silent_requeued, idle: breaches.idle_closed }),
      ),
    );
  }

  renderQueues(s) {
    const rows = Object.entries(s.queues);
    const provisional = rows.some(([, q]) => q.fcr.pending);
    fill(this.queueNote, provisional ? t("kpi_fcr_star", { days: s.fcr_days }) : null);
    fill(
      this.queueRows,
      rows.map(([name, q]) => {
        const left = q.abandonment.by_reason.customer_left;
        const closed = q.abandonment.by_reason.window_closed;
        const resolved = BANDS.reduce((n, b) => n + (q.transfers_per_conversation[b] || 0), 0);
        return h(
          "tr",
          { testid: "kpi-queue-row", data: { queue: name } },
          h("th.queue-title", { scope: "row" }, this.desk.queueName(name), h("div.muted.small", {}, q.sla_seconds ? t("kpi_sla", { time: duration(q.sla_seconds) }) : t("kpi_no_sla"))),
          h(`td.num${q.service_level.rate !== null && q.service_level.rate < 0.8 ? ".late" : ""}`, { testid: "kpi-queue-sl" }, percent(q.service_level.rate), small(q.service_level.met + q.service_level.missed ? `${q.service_level.met}/${q.service_level.met + q.service_level.missed}` : null)),
          h("td.num", { testid: "kpi-queue-abandon" }, percent(q.abandonment.rate), small(q.abandonment.abandoned ? `${q.abandonment.abandoned}/${q.abandonment.abandoned + q.abandonment.taken}` : null)),
          h(
            "td.num",
            {},
            left.count || closed.count ? [small(t("kpi_reason_left", { time: wait(left.median_wait_seconds) })), small(t("kpi_reason_closed", { time: wait(closed.median_wait_seconds) }))] : "—",
          ),
          h("td.num", { testid: "kpi-queue-fcr" }, percent(q.fcr.rate), small(q.fcr.resolved ? `${q.fcr.resolved - q.fcr.came_back}/${q.fcr.resolved}${q.fcr.pending ? " *" : ""}` : null)),
          h("td.num", {}, q.handle.average_seconds === null ? "—" : duration(q.handle.average_seconds)),
          h("td.num", {}, resolved ? BANDS.map((b) => q.transfers_per_conversation[b] || 0).join(" / ") : "—"),
          h(`td.num${q.breaches.agent_silent ? ".late" : ""}`, {}, String(q.breaches.agent_silent), small(q.breaches.idle_closed ? t("kpi_idle", { n: q.breaches.idle_closed }) : null)),
        );
      }),
    );
  }

  renderAgents(s) {
    const rows = Object.entries(s.agents).filter(([, a]) => a.resolved || a.fcr.resolved || a.breaches.agent_silent || a.breaches.idle_closed);
    rows.sort((a, b) => this.desk.agentName(a[0]).localeCompare(this.desk.agentName(b[0])));
    fill(this.agentNote, rows.some(([, a]) => a.fcr.pending) ? t("kpi_fcr_star", { days: s.fcr_days }) : null);
    fill(
      this.agentRows,
      rows.length
        ? rows.map(([id, a]) =>
            h(
              "tr",
              { testid: "kpi-agent-row", data: { agent: id } },
              h("th", { scope: "row" }, this.desk.agentName(id)),
              h("td.num", {}, String(a.resolved)),
              h("td.num", { testid: "kpi-agent-fcr" }, percent(a.fcr.rate), small(a.fcr.resolved ? `${a.fcr.resolved - a.fcr.came_back}/${a.fcr.resolved}${a.fcr.pending ? " *" : ""}` : null)),
              h("td.num", {}, a.handle.average_seconds === null ? "—" : duration(a.handle.average_seconds)),
              h(`td.num${a.breaches.agent_silent ? ".late" : ""}`, {}, String(a.breaches.agent_silent), small(a.breaches.idle_closed ? t("kpi_idle", { n: a.breaches.idle_closed }) : null)),
            ),
          )
        : h("tr", {}, h("td.muted", { colspan: "5" }, t("kpi_no_agents"))),
    );
  }

  async drawChart(stats) {
    let uPlot;
    try {
      uPlot = await loadUplot();
    } catch (exc) {
      fill(this.chartNote, h("p.notice.error", {}, String(exc.message || exc)));
      return;
    }
    if (stats !== this.stats) return; // a newer answer came while the library loaded
    const hours = stats.by_hour;
    const pct = (v) => (v === null || v === undefined ? null : v * 100);
    const data = [
      hours.map((p) => p.hour),
      hours.map((p) => pct(p.service_level)),
      hours.map((p) => pct(p.abandonment_rate)),
      hours.map((p) => pct(p.fcr)),
    ];
    const series = (label, colour, dash) => ({
      label,
      stroke: colour,
      width: 2,
      dash,
      spanGaps: true,
      points: { size: 7, fill: colour, show: true },
      value: (u, v) => (v === null || v === undefined ? "—" : `${Math.round(v)}%`),
    });
    const grid = { stroke: "#eef1f4" };
    const options = {
      width: this.chartWidth(),
      height: CHART_HEIGHT,
      padding: [12, 28, 0, 0],
      scales: { x: { time: true }, y: { range: [0, 100] } },
      axes: [
        { stroke: "#5f6b7a", grid, ticks: { stroke: "#e2e6ea" }, values: hourLabels, space: 56 },
        { stroke: "#5f6b7a", grid, ticks: { stroke: "#e2e6ea" }, values: (u, ticks) => ticks.map((v) => `${v}%`), size: 48 },
      ],
      series: [
        { label: t("kpi_series_hour"), value: (u, v) => (v === null || v === undefined ? "—" : stamp(v)) },
        series(t("kpi_sl"), COLOURS.service),
        series(t("kpi_abandon"), COLOURS.abandonment),
        series(t("kpi_fcr"), COLOURS.fcr, [6, 4]),
      ],
      cursor: { drag: { x: false, y: false } },
    };
    // the tab refreshes on every burst of live events: the chart takes the new numbers in place
    if (this.chart) this.chart.setData(data);
    else this.chart = new uPlot(options, data, this.chartBox);
    const anything = data.slice(1).some((line) => line.some((v) => v !== null));
    const pending = hours.some((p) => p.fcr_pending && p.resolved);
    fill(
      this.chartNote,
      anything ? null : h("p.empty-note", {}, t("kpi_chart_empty")),
      pending ? h("p.version-legend", { testid: "kpi-fcr-note" }, t("kpi_fcr_note", { days: stats.fcr_days })) : null,
    );
  }

  chartWidth() {
    return Math.max(320, this.chartBox.clientWidth || this.root.clientWidth - 72 || 900);
  }

  fitChart() {
    if (!this.chart || !this.chartBox.clientWidth) return;
    if (Math.abs(this.chart.width - this.chartBox.clientWidth) > 2) this.chart.setSize({ width: this.chartWidth(), height: CHART_HEIGHT });
  }
}

function figure(label, value, testid, alarm, detail, more = null) {
  return h(
    `div.kpi${alarm ? ".alarm" : ""}`,
    { testid },
    h("div.kpi-value", {}, value),
    h("div.kpi-label", {}, label),
    detail ? h("div.kpi-detail", {}, detail) : null,
    more ? h("div.kpi-detail", {}, more) : null,
  );
}

function tableCard(title, testid, headings, body, note) {
  return h(
    "section.card",
    { testid, "aria-label": title },
    h("h2.card-title", {}, title),
    h("div.table-wrap", {}, h("table.grid", {}, h("thead", {}, h("tr", {}, headings.map((x) => h("th", { scope: "col" }, x)))), body)),
    note,
  );
}

/** The queues by their labels, as the rest of the console writes them: "Financeiro". */
function capitalised(text) {
  return text ? text.charAt(0).toLocaleUpperCase(LOCALE) + text.slice(1) : text;
}

const small = (text) => (text ? h("div.muted.small", {}, text) : null);
const PERCENT = new Intl.NumberFormat(LOCALE, { style: "percent", maximumFractionDigits: 0 });
const percent = (v) => (typeof v === "number" && Number.isFinite(v) ? PERCENT.format(v) : "—");
const wait = (seconds) => (seconds === null || seconds === undefined ? "—" : duration(seconds));
const HOUR_LABEL = new Intl.DateTimeFormat(LOCALE, LANG === "pt" ? { hour: "2-digit", minute: "2-digit" } : { hour: "numeric" });

function hourLabels(u, splits) {
  return splits.map((ts) => HOUR_LABEL.format(new Date(ts * 1000)));
}

/** The Bot tab: first contact resolution of what each rules version contained (GET /bot/stats). */
export function renderBotFcr(box, stats) {
  const rows = stats.fcr_by_version || [];
  if (!rows.length) {
    fill(box, h("p.empty-note", {}, t("bot_fcr_none")));
    return;
  }
  const short = (version) => String(version || "").slice(0, 12);
  fill(
    box,
    h(
      "table.grid",
      {},
      h("thead", {}, h("tr", {}, [t("bot_fcr_version"), t("bot_fcr_contained"), t("bot_fcr_back"), t("kpi_col_fcr")].map((x) => h("th", { scope: "col" }, x)))),
      h(
        "tbody",
        {},
        rows.map((v) =>
          h(
            "tr",
            { testid: "bot-fcr-row", data: { version: v.version } },
            h("th.mono", { scope: "row", title: v.version }, short(v.version)),
            h("td.num", {}, String(v.contained)),
            h("td.num", {}, String(v.came_back)),
            h("td.num", { testid: "bot-fcr-rate" }, percent(v.fcr), small(v.pending ? t("kpi_fcr_pending", { n: v.pending, days: stats.fcr_days }) : null)),
          ),
        ),
      ),
    ),
  );
}
