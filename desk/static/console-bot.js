// The Bot tab (supervisors only): how the bot did (containment and escalation by hour, with the rules
// versions marked; escalations by reason; the rules it used), what customers wrote that it did not
// understand, why a sentence gets the answer it gets, which rules version every process runs, and the
// audit log, and the hooks (events out) with their last failures. Each part loads from its own route and fails on its own: a route this server does not have
// yet (404) reads "not available yet", never a blank. Charts are uPlot (desk/static/vendor/uplot, MIT),
// imported the first time the tab is shown, so agents never load it.

import { h, fill, keepFocus, table, empty } from "./console-dom.js";
import { HooksPanel } from "./console-hooks.js";
import { t, LANG, LOCALE, explain, stamp, when, clock } from "./console-i18n.js";
import { icon } from "./console-icons.js";
import { renderBotFcr } from "./console-kpis.js";
import { loadUplot } from "./console-uplot.js";

const RANGES = [24, 168];
const BUCKET_HOURS = { 24: 1, 168: 6 }; // a week hour by hour is noise: its points are six hours each
const REFRESH_MS = 60000; // while the tab is in sight
const TOP_RULES = 12;
const CHART_HEIGHT = 240;
const COLOURS = { containment: "#00a884", escalation: "#d9480f", version: "#6741d9" };

export class BotView {
  /** @param desk the console (api, peekConversation, toast); see console.js */
  constructor(desk) {
    this.desk = desk;
    this.hours = 24;
    this.stats = null;
    this.chart = null;
    this.expanded = new Set(); // inbox groups whose conversations are shown, kept across refreshes
    this.timer = null;
    this.returnTo = null; // the conversation link a supervisor followed, focused again on the way back
    this.rangeButtons = RANGES.map((hours) =>
      h(
        "button.seg",
        { type: "button", testid: `bot-range-${hours}`, "aria-pressed": String(hours === this.hours), onclick: () => this.setHours(hours) },
        t(`bot_range_${hours}`),
      ),
    );
    this.updated = h("span.muted.small", { testid: "bot-updated", role: "status" });
    this.kpis = h("div.kpis.bot-kpis", { testid: "bot-kpis" });
    this.chartTitle = h("h2.card-title", { id: "bot-chart-title", testid: "bot-chart-title" }, t("bot_chart_title"));
    this.chartBox = h("div.chart", { testid: "bot-chart", role: "img" });
    this.chartNote = h("div.chart-note");
    this.reasons = h("div", { testid: "bot-reasons" });
    this.rules = h("div", { testid: "bot-rules" });
    this.inbox = h("div.inbox", { testid: "bot-inbox" });
    this.versions = h("div", { testid: "bot-versions" });
    this.diff = h("div.diff-box", { testid: "bot-diff", hidden: true });
    this.audit = h("div", { testid: "bot-audit" });
    this.fcr = h("div", { testid: "bot-fcr" });
    this.explainBox = new ExplainBox(desk);
    this.hooks = new HooksPanel();
    this.root = h(
      "section.supervisor.bot",
      { testid: "bot-view", "aria-labelledby": "bot-title", hidden: true },
      h(
        "div.bot-head",
        {},
        h("h1.bot-title", { id: "bot-title" }, icon("bot"), t("bot_title")),
        h("div.segmented", { role: "group", "aria-label": t("bot_range") }, this.rangeButtons),
        h("div.spacer"),
        this.updated,
        h("button.btn.small", { type: "button", testid: "bot-refresh", onclick: () => this.refresh() }, t("bot_refresh")),
      ),
      this.kpis,
      h("section.card", { "aria-labelledby": "bot-chart-title" }, this.chartTitle, h("div.card-body", {}, this.chartBox, this.chartNote)),
      h("div.sup-grid.bot-pair", {}, panel(t("bot_reasons"), this.reasons), panel(t("bot_rules"), this.rules)),
      panel(t("bot_fcr"), this.fcr, t("bot_fcr_note")),
      panel(t("bot_inbox"), this.inbox, t("bot_inbox_note")),
      panel(t("bot_explain"), this.explainBox.root),
      panel(t("bot_versions"), h("div", {}, this.versions, this.diff)),
      panel(t("bot_audit"), this.audit),
      panel(t("hooks_title"), this.hooks.root, t("hooks_note")),
    );
    new ResizeObserver(() => this.fitChart()).observe(this.chartBox);
  }

  show() {
    // back from a conversation opened here: the keyboard is where it left
    if (this.returnTo && this.returnTo.isConnected) this.returnTo.focus();
    this.returnTo = null;
    this.refresh();
    clearInterval(this.timer);
    this.timer = setInterval(() => this.refresh(), REFRESH_MS);
  }

  hide() {
    clearInterval(this.timer);
    this.timer = null;
  }

  setHours(hours) {
    if (hours === this.hours) return;
    this.hours = hours;
    for (const button of this.rangeButtons) button.setAttribute("aria-pressed", String(button.dataset.testid === `bot-range-${hours}`));
    this.refresh();
  }

  /** Every part from its own route, side by side; each shows its own trouble. */
  async refresh() {
    const api = this.desk.api;
    const hours = this.hours;
    // an answer for a window no longer shown (24 h and 7 days clicked in a row) is dropped
    const still = (render) => (answer) => (hours === this.hours ? render(answer) : null);
    const loads = [
      settle(api.get(`/bot/stats?hours=${hours}`), still((stats) => this.renderStats(stats)), still((exc) => this.statsFailed(exc))),
      settle(api.get(`/bot/unrecognized?hours=${hours}`), still((inbox) => this.renderInbox(inbox)), still((exc) => fill(this.inbox, problem(exc)))),
      settle(api.get("/rules"), (rules) => this.renderVersions(rules), (exc) => fill(this.versions, problem(exc))),
      settle(api.get(`/audit?hours=${hours}`), still((audit) => this.renderAudit(audit)), still((exc) => fill(this.audit, problem(exc)))),
      settle(api.get("/hooks"), (hooks) => this.hooks.render(hooks), (exc) => fill(this.hooks.root, problem(exc))),
    ];
    await Promise.all(loads);
    if (hours === this.hours) this.updated.textContent = t("bot_updated", { time: clock(Date.now() / 1000) });
  }

  statsFailed(exc) {
    this.stats = null;
    this.destroyChart();
    fill(this.kpis);
    fill(this.chartNote, problem(exc));
    fill(this.reasons, problem(exc));
    fill(this.rules, problem(exc));
  }

  // ---- stats: totals, chart, reasons, rules ---------------------------------------------------------

  renderStats(stats) {
    this.stats = stats;
    const totals = stats.totals;
    const csat = totals.escalated_csat || { answers: 0, average_score: null };
    fill(
      this.kpis,
      kpi(t("bot_kpi_containment"), percent(totals.containment), "bot-kpi-containment", t("bot_kpi_containment_of", { contained: totals.contained, ended: totals.ended })),
      kpi(t("bot_kpi_escalation"), percent(totals.escalation_rate), "bot-kpi-escalation", t("bot_kpi_escalation_of", { n: totals.ended - totals.contained, ended: totals.ended })),
      kpi(t("bot_kpi_decisions"), number(totals.decisions), "bot-kpi-decisions", t("bot_kpi_decisions_of", { n: totals.acknowledgements })),
      kpi(
        t("bot_kpi_unrecognized"),
        number(totals.unrecognized),
        "bot-kpi-unrecognized",
        t("bot_kpi_unrecognized_of", { share: percent(totals.decisions ? totals.unrecognized / totals.decisions : null) }),
      ),
      kpi(t("bot_kpi_csat"), csat.average_score === null ? "—" : decimal(csat.average_score), "bot-kpi-csat", t("bot_kpi_csat_of", { n: csat.answers })),
    );
    this.renderReasons(stats);
    this.renderRules(stats.rules);
    renderBotFcr(this.fcr, stats);
    this.drawChart();
  }

  renderReasons(stats) {
    const reasons = sortedCounts(stats.escalations_by_reason);
    const triggers = sortedCounts(stats.escalations_by_trigger);
    if (!reasons.length && !triggers.length) {
      fill(this.reasons, empty(t("bot_reasons_none")));
      return;
    }
    fill(
      this.reasons,
      bars(reasons, "bot-reason", "reason"),
      triggers.length ? h("h3.sub-title", {}, t("bot_triggers")) : null,
      triggers.length ? bars(triggers, "bot-trigger", "rule", true) : null,
    );
  }

  renderRules(rules) {
    const top = [...rules].sort((a, b) => b.decisions - a.decisions || b.escalations - a.escalations || a.rule.localeCompare(b.rule)).slice(0, TOP_RULES);
    if (!top.length) {
      fill(this.rules, empty(t("bot_rules_none")));
      return;
    }
    fill(
      this.rules,
      table(
        [t("bot_col_rule"), t("bot_col_decisions"), t("bot_col_escalations")],
        top.map((r) =>
          h(
            "tr",
            { testid: "bot-rule", data: { rule: r.rule } },
            h("th.mono", { scope: "row" }, r.rule),
            h("td.num", {}, number(r.decisions)),
            h(`td.num${r.escalations ? ".warn" : ""}`, {}, number(r.escalations)),
          ),
        ),
        [false, true, true],
      ),
    );
  }

  async drawChart() {
    const stats = this.stats;
    if (!stats) return;
    let uPlot;
    try {
      uPlot = await loadUplot();
    } catch (exc) {
      fill(this.chartNote, problem(exc));
      return;
    }
    if (stats !== this.stats) return; // a newer answer came while the library loaded
    const hours = stats.hours || this.hours;
    const hourly = bucketed(stats.hourly || [], BUCKET_HOURS[hours] || 1);
    const x = hourly.map((b) => b.hour);
    const containment = hourly.map((b) => (b.containment === null ? null : b.containment * 100));
    const escalation = hourly.map((b) => (b.escalation_rate === null ? null : b.escalation_rate * 100));
    const highest = Math.max(100, ...containment.filter(isNumber), ...escalation.filter(isNumber));
    this.chartTitle.textContent = t(BUCKET_HOURS[hours] > 1 ? "bot_chart_title_buckets" : "bot_chart_title", { n: BUCKET_HOURS[hours] });
    this.chartBox.setAttribute("aria-label", t("bot_chart_label", { what: this.chartTitle.textContent, window: t(`bot_window_${hours}`) }));
    const series = (label, colour) => ({
      label,
      stroke: colour,
      width: 2,
      spanGaps: false,
      points: { size: 6, fill: colour, filter: lonelyPoints },
      value: (u, v) => (v === null || v === undefined ? "—" : `${Math.round(v)}%`),
    });
    const options = {
      width: this.chartWidth(),
      height: CHART_HEIGHT,
      padding: [12, 28, 0, 0], // room on the right for the last hour's label
      scales: { x: { time: true }, y: { range: [0, highest] } },
      axes: [
        { stroke: "#5f6b7a", grid: { stroke: "#eef1f4" }, ticks: { stroke: "#e2e6ea" }, values: timeLabels, space: 56 },
        { stroke: "#5f6b7a", grid: { stroke: "#eef1f4" }, ticks: { stroke: "#e2e6ea" }, values: (u, ticks) => ticks.map((v) => `${v}%`), size: 48 },
      ],
      series: [
        { label: t("bot_series_hour"), value: (u, v) => (v === null || v === undefined ? "—" : stamp(v)) },
        series(t("bot_series_containment"), COLOURS.containment),
        series(t("bot_series_escalation"), COLOURS.escalation),
      ],
      cursor: { drag: { x: false, y: false } },
      plugins: [versionMarkers(stats.versions || [])],
    };
    this.destroyChart();
    this.chart = new uPlot(options, [x, containment, escalation], this.chartBox);
    const anything = containment.some(isNumber) || escalation.some(isNumber);
    fill(
      this.chartNote,
      anything ? null : empty(t("bot_chart_empty")),
      versionLegend(stats.versions || []),
    );
  }

  chartWidth() {
    return Math.max(320, this.chartBox.clientWidth || this.root.clientWidth - 72 || 900);
  }

  fitChart() {
    if (!this.chart || !this.chartBox.clientWidth) return;
    if (Math.abs(this.chart.width - this.chartBox.clientWidth) > 2) this.chart.setSize({ width: this.chartWidth(), height: CHART_HEIGHT });
  }

  destroyChart() {
    if (this.chart) this.chart.destroy();
    this.chart = null;
  }

  // ---- the unrecognized inbox ------------------------------------------------------------------------

  renderInbox(inbox) {
    keepFocus(this.inbox, () =>
      fill(
        this.inbox,
        this.groups(t("bot_unrecognized"), "unrecognized", inbox.unrecognized || []),
        this.groups(t("bot_could_not_help"), "could_not_help", inbox.could_not_help || []),
      ),
    );
  }

  groups(title, kind, groups) {
    return h(
      "section.inbox-col",
      { testid: `bot-${kind.replace(/_/g, "-")}`, "aria-label": title },
      h("h3.sub-title", {}, title),
      groups.length
        ? h("ol.groups", {}, groups.map((g) => this.group(kind, g)))
        : empty(t("bot_inbox_empty")),
    );
  }

  group(kind, g) {
    const key = `${kind}\n${g.text}`;
    const id = `group-${kind}-${hashOf(g.text)}`;
    const open = this.expanded.has(key);
    const ids = g.conversations || [];
    const list = h(
      "ul.group-conversations",
      { id, testid: "bot-group-conversations", hidden: !open },
      ids.map((cid) =>
        h(
          "li",
          {},
          h(
            "button.link.mono",
            {
              type: "button",
              testid: "bot-open-conversation",
              data: { id: cid },
              title: cid,
              "aria-label": t("bot_open_conversation", { id: cid }),
              onclick: (event) => {
                this.returnTo = event.currentTarget;
                this.desk.peekConversation(cid, "bot");
              },
            },
            cid.length > 12 ? `${cid.slice(0, 10)}…` : cid, // ids are long hex: the start tells them apart
          ),
        ),
      ),
    );
    const toggle = h(
      "button.link",
      {
        type: "button",
        testid: "bot-show-conversations",
        "aria-expanded": String(open),
        "aria-controls": id,
        disabled: !ids.length,
        onclick: () => {
          const now = !this.expanded.has(key);
          if (now) this.expanded.add(key);
          else this.expanded.delete(key);
          list.hidden = !now;
          toggle.setAttribute("aria-expanded", String(now));
          toggle.textContent = now ? t("bot_hide_conversations") : t("bot_show_conversations", { n: ids.length });
        },
      },
      open ? t("bot_hide_conversations") : t("bot_show_conversations", { n: ids.length }),
    );
    return h(
      "li.group",
      { testid: "bot-group", data: { id: key, kind, count: String(g.count) } },
      h("q.group-text", {}, g.text),
      h("div.group-meta", {}, h("span.count-pill", {}, `${number(g.count)}×`), h("span.muted.small", { title: stamp(g.last_seen) }, t("bot_group_last", { when: when(g.last_seen) })), toggle),
      list,
    );
  }

  // ---- versions and diffs, audit ---------------------------------------------------------------------

  renderVersions(rules) {
    const processes = rules.processes || [];
    const versions = rules.versions || [];
    const summary = rules.current
      ? h(`p.rules-live${rules.on_current < rules.live ? ".warn" : ""}`, { testid: "bot-rules-live" }, t("bot_processes_on", { on: rules.on_current, live: rules.live, version: rules.current }))
      : h("p.rules-live.muted", { testid: "bot-rules-live" }, t("bot_processes_none"));
    const processTable = processes.length
      ? table(
          [t("bot_col_process"), t("bot_col_version"), t("bot_col_seen"), t("bot_col_problem")],
          processes.map((p) =>
            h(
              "tr",
              { testid: "bot-process", data: { id: p.id } },
              h("th.mono", { scope: "row" }, p.id),
              h(`td.mono${p.version !== rules.current ? ".warn" : ""}`, {}, p.version || "—"),
              h("td.nowrap", { title: stamp(p.seen_at) }, when(p.seen_at)),
              h(`td${p.error ? ".late" : ".muted"}`, {}, p.error || "—"),
            ),
          ),
        )
      : null;
    const versionTable = versions.length
      ? table(
          [t("bot_col_version"), t("bot_col_loaded"), t("bot_col_by"), ""],
          versions.map((v) =>
            h(
              "tr",
              { testid: "bot-version", data: { version: v.version } },
              h("th.mono", { scope: "row", title: v.hash }, v.version, v.current ? h("span.pill.small.state-assigned", {}, t("bot_current")) : null),
              h("td.nowrap", { title: stamp(v.first_loaded_at) }, when(v.first_loaded_at)),
              h("td", {}, v.by || "—"),
              h(
                "td.actions",
                {},
                v.current || !rules.current
                  ? null
                  : h("button.btn.small", { type: "button", testid: "bot-diff-open", onclick: () => this.showDiff(v.version) }, t("bot_diff")),
              ),
            ),
          ),
        )
      : empty(t("bot_versions_none"));
    keepFocus(this.versions, () => fill(this.versions, summary, processTable, h("h3.sub-title", {}, t("bot_versions_kept")), versionTable));
  }

  async showDiff(version) {
    this.diff.hidden = false;
    fill(this.diff, h("p.muted", {}, t("bot_loading")));
    let answer;
    try {
      answer = await this.desk.api.get(`/rules/diff?a=${encodeURIComponent(version)}&b=current`);
    } catch (exc) {
      // a version the server does not know is a 404 too: say what it said
      fill(this.diff, exc.status === 404 && exc.message && !exc.message.startsWith("404") ? h("p.notice.error", { role: "alert" }, exc.message) : problem(exc));
      return;
    }
    const close = h("button.btn.small.ghost", { type: "button", testid: "bot-diff-close", onclick: () => ((this.diff.hidden = true), fill(this.diff)) }, t("bot_diff_close"));
    fill(
      this.diff,
      h("div.diff-head", {}, h("strong.mono", {}, t("bot_diff_title", { a: short(answer.a), b: short(answer.b) })), close),
      answer.diff ? unifiedDiff(answer.diff) : empty(t("bot_diff_same")),
    );
    close.focus();
  }

  renderAudit(audit) {
    const entries = audit.entries || [];
    fill(
      this.audit,
      entries.length
        ? table(
            [t("bot_col_when"), t("bot_col_who"), t("bot_col_action"), t("bot_col_detail")],
            entries.map((e) =>
              h(
                "tr",
                { testid: "bot-audit-entry", data: { action: e.action } },
                h("td.nowrap", { title: stamp(e.at) }, when(e.at)),
                h("td", {}, e.who),
                h("td.mono", {}, e.action),
                h("td.muted.detail", {}, detailText(e.detail)),
              ),
            ),
          )
        : empty(t("bot_audit_none")),
    );
  }
}

/** The explain box: a sentence in, the rule that wins and why out (POST /bot/explain). */
class ExplainBox {
  constructor(desk) {
    this.desk = desk;
    this.input = h("input", { type: "text", id: "bot-explain-input", testid: "bot-explain-input", placeholder: t("bot_explain_placeholder"), autocomplete: "off", maxlength: "2000" });
    this.submit = h("button.btn.primary", { type: "submit", testid: "bot-explain-submit" }, t("bot_explain_submit"));
    this.result = h("div.explain-result", { testid: "bot-explain-result", "aria-live": "polite" });
    this.root = h(
      "form.explain",
      { testid: "bot-explain", onsubmit: (event) => (event.preventDefault(), this.ask()) },
      h("label.field", { for: "bot-explain-input" }, t("bot_explain_label")),
      h("div.explain-row", {}, this.input, this.submit),
      this.result,
    );
  }

  async ask() {
    const text = this.input.value.trim();
    if (!text) {
      fill(this.result, h("p.form-error", { role: "alert" }, t("bot_explain_empty")));
      this.input.focus();
      return;
    }
    this.submit.disabled = true;
    this.submit.textContent = t("bot_explain_busy");
    try {
      this.render(await this.desk.api.post("/bot/explain", { text, state: null }));
    } catch (exc) {
      fill(this.result, problem(exc));
    } finally {
      this.submit.disabled = false;
      this.submit.textContent = t("bot_explain_submit");
    }
  }

  render(x) {
    const row = (label, value, testid) => h("div.fact", {}, h("dt", {}, label), h("dd", { testid }, value));
    const escalation = x.escalation
      ? t("bot_explain_escalation_line", { queue: x.escalation.queue, reason: x.escalation.reason, priority: x.escalation.priority })
      : t("bot_explain_no_escalation");
    fill(
      this.result,
      h(
        "dl.explain-facts",
        {},
        row(t("bot_explain_rule"), x.rule ? h("span.mono", {}, x.rule) : t("bot_explain_no_rule"), "bot-explain-rule"),
        row(t("bot_explain_action"), x.action || "—", "bot-explain-action"),
        row(t("bot_explain_score"), x.score === null || x.score === undefined ? "—" : number(x.score), "bot-explain-score"),
        row(t("bot_explain_language"), x.language || "—", "bot-explain-language"),
        row(
          t("bot_explain_matched"),
          x.matched && x.matched.length ? h("ul.chips", {}, x.matched.map((m) => h("li.chip", {}, m))) : t("bot_explain_nothing"),
          "bot-explain-matched",
        ),
        row(
          t("bot_explain_runner_up"),
          x.runner_up ? h("span", {}, h("span.mono", {}, x.runner_up.rule), ` (${number(x.runner_up.score)})`) : t("bot_explain_none"),
          "bot-explain-runner-up",
        ),
        x.how ? row(t("bot_explain_how"), x.how, "bot-explain-how") : null,
        row(t("bot_explain_escalation"), escalation, "bot-explain-escalation"),
      ),
      x.replies && x.replies.length
        ? h("div.explain-replies", { testid: "bot-explain-replies" }, h("h3.sub-title", {}, t("bot_explain_replies")), x.replies.map((r) => h("p.reply-bubble", {}, r)))
        : null,
    );
  }
}

// ---- helpers ---------------------------------------------------------------------------------------

function settle(promise, done, failed) {
  return promise.then(done, failed).catch((exc) => failed(exc));
}

/** What a failed part shows: a route not on this server yet, supervisors only, or the error. */
function problem(exc) {
  if (exc && exc.status === 404) return h("p.notice", { testid: "bot-unavailable" }, t("bot_not_available"));
  if (exc && exc.status === 403) return h("p.notice", {}, t("bot_forbidden"));
  const message = exc && exc.status !== undefined ? explain(exc) : String((exc && exc.message) || exc);
  return h("p.notice.error", { role: "alert", testid: "bot-error" }, t("error", { message }));
}

function panel(title, body, note = "") {
  return h("section.card", { "aria-label": title }, h("h2.card-title", {}, title, note ? h("span.card-note", {}, note) : null), h("div.card-body", {}, body));
}

function kpi(label, value, testid, detail) {
  return h("div.kpi", { testid }, h("div.kpi-value", {}, value), h("div.kpi-label", {}, label), detail ? h("div.kpi-detail", {}, detail) : null);
}

/** [[name, count]] as bars whose length is the count against the largest. */
function bars(items, testid, key, mono = false) {
  const most = Math.max(1, ...items.map(([, n]) => n));
  return h(
    "ul.bars",
    {},
    items.map(([name, n]) =>
      h(
        "li.bar-row",
        { testid, data: { [key]: name } },
        h(`span.bar-label${mono ? ".mono" : ""}`, { title: name }, name),
        h("span.bar-track", { "aria-hidden": "true" }, h("span.bar-fill", { style: { width: `${Math.max(2, Math.round((n / most) * 100))}%` } })),
        h("span.bar-count", {}, number(n)),
      ),
    ),
  );
}

function sortedCounts(counts) {
  return Object.entries(counts || {})
    .filter(([, n]) => n > 0)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
}

/** Vertical dashed lines where a rules version first decided, labelled with its short name. */
function versionMarkers(versions) {
  const draw = (u) => {
    const { ctx } = u;
    const { left, top, width, height } = u.bbox;
    const ratio = window.devicePixelRatio || 1;
    ctx.save();
    ctx.strokeStyle = COLOURS.version;
    ctx.fillStyle = COLOURS.version;
    ctx.lineWidth = ratio;
    ctx.setLineDash([4 * ratio, 3 * ratio]);
    ctx.font = `${11 * ratio}px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace`;
    ctx.textBaseline = "top";
    ctx.textAlign = "left"; // the axes leave it as they drew their labels
    versions.forEach((v, i) => {
      const x = Math.round(u.valToPos(v.first_hour, "x", true));
      if (x < left - 1 || x > left + width + 1) return;
      ctx.beginPath();
      ctx.moveTo(x, top);
      ctx.lineTo(x, top + height);
      ctx.stroke();
      const label = short(v.version);
      const wide = ctx.measureText(label).width;
      const room = wide + 8 * ratio;
      const tx = x + room > left + width ? x - room + 4 * ratio : x + 4 * ratio; // keep the label inside
      const ty = top + (4 + (i % 3) * 15) * ratio; // staggered: close versions stay readable
      ctx.fillStyle = "rgba(255, 255, 255, 0.9)"; // over the lines it crosses
      ctx.fillRect(tx - 2 * ratio, ty - 1 * ratio, wide + 4 * ratio, 14 * ratio);
      ctx.fillStyle = COLOURS.version;
      ctx.fillText(label, tx, ty);
    });
    ctx.restore();
  };
  return { hooks: { draw: [draw] } };
}

/**
 * Hourly counts summed `size` hours at a time (cut on the local clock: 00:00, 06:00...), the rates worked
 * out again from the sums, as the totals are: contained / ended, handed over (ended, not contained) / ended.
 */
function bucketed(hourly, size) {
  if (size <= 1) return hourly;
  const out = [];
  for (const hour of hourly) {
    if (!out.length || new Date(hour.hour * 1000).getHours() % size === 0) {
      out.push({ hour: hour.hour, conversations: 0, ended: 0, contained: 0, escalations: 0 });
    }
    const bucket = out[out.length - 1];
    for (const key of ["conversations", "ended", "contained", "escalations"]) bucket[key] += hour[key] || 0;
  }
  for (const b of out) {
    b.containment = b.ended ? b.contained / b.ended : null;
    b.escalation_rate = b.ended ? (b.ended - b.contained) / b.ended : null;
  }
  return out;
}

// "14:00" in Portuguese, "2 PM" in English: short enough for a tick every two hours
const HOUR_LABEL = new Intl.DateTimeFormat(LOCALE, LANG === "pt" ? { hour: "2-digit", minute: "2-digit" } : { hour: "numeric" });
const DAY_LABEL = new Intl.DateTimeFormat(LOCALE, { day: "numeric", month: "short" });

/** Time axis labels in the supervisor's language and clock: "14:00", the date under midnight, days for a week. */
function timeLabels(u, splits, axisIdx, space, increment) {
  return splits.map((ts) => {
    const date = new Date(ts * 1000);
    if (increment >= 86400) return DAY_LABEL.format(date);
    const hour = HOUR_LABEL.format(date);
    return date.getHours() === 0 ? `${hour}\n${DAY_LABEL.format(date)}` : hour;
  });
}

/** The same versions in words, under the chart, for whoever does not read the chart. */
function versionLegend(versions) {
  if (!versions.length) return null;
  return h(
    "p.version-legend",
    { testid: "bot-chart-versions" },
    h("span.version-swatch", { "aria-hidden": "true" }),
    t("bot_versions_marked"),
    " ",
    versions.map((v, i) => [i ? " · " : "", h("span.mono", { title: v.version }, t("bot_version_from", { version: short(v.version), when: when(v.first_hour) }))]),
  );
}

/** Points alone between gaps (an hour with conversations among empty ones) would draw no line: dot them. */
function lonelyPoints(u, seriesIdx, show) {
  if (show) return null;
  const data = u.data[seriesIdx];
  const lonely = [];
  for (let i = 0; i < data.length; i++) {
    if (data[i] !== null && !isNumber(data[i - 1]) && !isNumber(data[i + 1])) lonely.push(i);
  }
  return lonely.length ? lonely : null;
}

/** A unified diff, one line each, coloured by its first character; text only. */
function unifiedDiff(text) {
  const lines = text.replace(/\n$/, "").split("\n");
  return h(
    "pre.diff",
    { tabindex: "0" },
    lines.map((line) => {
      const kind = line.startsWith("+++") || line.startsWith("---") ? "file" : line.startsWith("@@") ? "hunk" : line.startsWith("+") ? "add" : line.startsWith("-") ? "del" : "ctx";
      return h(`span.diff-line.${kind}`, {}, `${line}\n`);
    }),
  );
}

function detailText(detail) {
  if (!detail || typeof detail !== "object") return detail ? String(detail) : "—";
  const parts = Object.entries(detail).map(([k, v]) => `${k}: ${v !== null && typeof v === "object" ? JSON.stringify(v) : v}`);
  return parts.length ? parts.join(" · ") : "—";
}

const short = (version) => String(version || "").slice(0, 12);
const isNumber = (v) => typeof v === "number" && Number.isFinite(v);
const PERCENT = new Intl.NumberFormat(LOCALE, { style: "percent", maximumFractionDigits: 0 });
const NUMBER = new Intl.NumberFormat(LOCALE);
const DECIMAL = new Intl.NumberFormat(LOCALE, { maximumFractionDigits: 2 });
const percent = (v) => (isNumber(v) ? PERCENT.format(v) : "—");
const number = (v) => (isNumber(v) ? NUMBER.format(v) : "—");
const decimal = (v) => (isNumber(v) ? DECIMAL.format(v) : "—");

/** A short, stable id for an element from a group's text (ids must not carry the text itself). */
function hashOf(text) {
  let hash = 5381;
  for (let i = 0; i < text.length; i++) hash = ((hash * 33) ^ text.charCodeAt(i)) >>> 0;
  return hash.toString(36);
}
