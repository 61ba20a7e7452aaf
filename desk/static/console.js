// The agent desk: signs in with the agent token, then keeps queues, conversations and offers live from
// the public desk API (/api/v1) and its event stream. No framework, no build step.
//
// data-testid reference (stable; the browser tests rely on them):
//   sign-in      signin-form, signin-token, signin-submit, signin-error, demo-agents, demo-agent
//   top bar      desk-tab, supervisor-tab (supervisors only),
//                live-status[data-state=live|connecting|reconnecting|replaced], live-resume (when replaced),
//                sound-toggle[aria-pressed], presence (a <select>: available|away|offline), me, me-name, signout
//   left column  offer-box[data-ringing][data-rings], offer-list, offer[data-id][data-kind=transfer|assignment]
//                (with offer-accept, offer-decline, offer-expires, offer-queue), take-next,
//                queue-list, queue[data-queue][data-waiting], conversation-load ("load/capacity"),
//                conversation-list, conversation[data-id][data-unread][data-state] (a button), conversation-more
//                (load the next page, shown only when there is one), agent-silent (in a row, in the open
//                conversation's status and in a supervisor's row: the customer waits past agent_reply_seconds)
//   conversation conversation-empty, conversation-view, packet, customer-name, identity-badge[data-verified],
//                escalation-reason, packet-summary, packet-collected, packet-transfers, conversation-state,
//                window-status, offer-pending, readonly-notice, transfer-open, release, resolve,
//                transcript, msg[data-direction=in|out][data-status=received|pending|sent|delivered|read|failed]
//                [data-author][data-id], reply-input, reply-send,
//                window-closed-notice, template-picker (<select>, values "name|language"), template-param, template-preview, template-send, template-error
//   transfer     transfer-dialog, transfer-customer, transfer-mode (<select> cold|warm), transfer-to-queue,
//                transfer-to-agent (<select>s, values: queue name / agent id), transfer-reason, transfer-note,
//                transfer-error, transfer-cancel, transfer-submit
//   supervisor   supervisor-view, supervisor-kpis, kpi-waiting, kpi-oldest, kpi-breaches, kpi-available,
//                supervisor-assignment (push queues, once they worked: kpi-time-to-assign, kpi-offers,
//                kpi-offers-accepted, kpi-offers-declined, kpi-offers-expired), agent-day (in each agent's row),
//                supervisor-queues, supervisor-queue[data-queue], supervisor-agents, supervisor-agent[data-agent][data-status],
//                supervisor-conversations, supervisor-conversation[data-id][data-state] (newest activity first),
//                supervisor-move, supervisor-filter-state, supervisor-filter-queue (<select>s, "" for all),
//                supervisor-shown (how many rows are loaded), supervisor-more (load the next page),
//                supervisor-centre (the KPIs, console-kpis.js): kpi-queue (<select>, "" for every queue),
//                kpi-figures, kpi-service-level, kpi-abandonment, kpi-fcr, kpi-transfers, kpi-reply-breaches,
//                kpi-chart (uPlot: a canvas inside), kpi-chart-note, kpi-fcr-note, kpi-queues,
//                kpi-queue-row[data-queue] (kpi-queue-sl, kpi-queue-abandon, kpi-queue-fcr), kpi-queues-note,
//                kpi-agents, kpi-agent-row[data-agent] (kpi-agent-fcr)
//   bot tab      bot-tab (supervisors only), bot-view, bot-range-24, bot-range-168 [aria-pressed], bot-refresh,
//                bot-updated, bot-kpis, bot-kpi-containment|escalation|decisions|unrecognized|csat, bot-chart
//                (uPlot: a canvas inside), bot-chart-versions, bot-reasons, bot-reason[data-reason],
//                bot-trigger[data-rule], bot-rules, bot-rule[data-rule], bot-inbox, bot-unrecognized,
//                bot-could-not-help, bot-group[data-kind][data-count], bot-show-conversations[aria-expanded],
//                bot-group-conversations, bot-open-conversation[data-id], back-to-bot (in a conversation
//                opened from the tab), bot-explain, bot-explain-input, bot-explain-submit, bot-explain-result,
//                bot-explain-rule|action|score|language|matched|runner-up|how|escalation, bot-explain-replies,
//                bot-versions, bot-rules-live, bot-process[data-id], bot-version[data-version], bot-diff-open,
//                bot-diff, bot-diff-close, bot-audit, bot-audit-entry[data-action],
//                bot-fcr, bot-fcr-row[data-version] (bot-fcr-rate),
//                bot-unavailable (a part whose route this server does not have), bot-error
//   messages     toast[data-kind=info|error]

import { h } from "./console-dom.js";
import { t, LANG, LOCALE, explain, queueTitle, duration } from "./console-i18n.js";
import { Api, EventStream } from "./console-api.js";
import { showSignIn, TOKEN_KEY } from "./console-signin.js";
import { TopBar, SideBar } from "./console-shell.js";
import { ConversationView } from "./console-conversation.js";
import { TransferDialog } from "./console-transfer.js";
import { SupervisorView } from "./console-supervisor.js";
import { BotView } from "./console-bot.js";
import { Beeper } from "./console-sound.js";
import { Pages } from "./console-paging.js";
import { Offers } from "./console-offers.js";
import { Numbers, isSupervisor } from "./console-numbers.js";

const HELD = new Set(["assigned", "transferring"]);
const SAFETY_REFRESH_MS = 30000; // in case an event was missed

class Desk {
  constructor(root) {
    this.root = root;
    this.beeper = new Beeper();
    this.reset();
  }

  reset() {
    this.api = null;
    this.me = null;
    this.queues = [];
    this.queueTitles = new Map(); // queue name → what it is called in the agent's language
    this.queuesAt = Date.now() / 1000;
    this.mine = [];
    this.agents = [];
    this.offers = null; // the offers to me waiting for an answer (console-offers.js)
    this.unread = new Map();
    this.explained = new Set(); // conversations a clock took from me, already explained in a toast
    this.drafts = new Map();
    this.attention = 0; // new waiting conversations announced while the tab was in the background
    this.openId = null;
    this.peekId = null; // a conversation a supervisor reads without holding it (opened from the Bot tab)
    this.peekFrom = null; // the view it was opened from, to go back to
    this.view = "desk";
    this.liveState = "connecting";
    this.soundOn = false;
    this.templateList = null;
    this.pending = null;
  }

  start() {
    document.documentElement.lang = LOCALE;
    document.title = t("app_title");
    const token = sessionStorage.getItem(TOKEN_KEY);
    if (!token) return this.signIn();
    const api = new Api(token);
    this.root.replaceChildren(h("p.loading", {}, t("loading")));
    api.get("/me").then(
      (me) => this.enter(api, me),
      (exc) => {
        if (exc.status === 401) sessionStorage.removeItem(TOKEN_KEY);
        this.signIn(exc.status === 401 ? t("signin_expired") : t("signin_network"));
      },
    );
  }

  signIn(notice = "") {
    showSignIn(this.root, (api, me) => this.enter(api, me), notice);
  }

  enter(api, me) {
    this.api = api;
    api.onUnauthorized = () => this.signOut(t("signin_expired"));
    this.me = me;
    // what I hold: at most my capacity, so one page, read again when events say it changed
    this.minePages = new Pages(api, `agent_id=${encodeURIComponent(me.id)}`, () => this.onMine());
    this.offers = new Offers(this);
    this.numbers = new Numbers(api, () => this.onNumberFilter());
    this.topbar = new TopBar(this);
    this.sidebar = new SideBar(this);
    this.conversation = new ConversationView(this);
    this.supervisor = new SupervisorView(this);
    this.bot = isSupervisor(me) ? new BotView(this) : null;
    this.transferDialog = new TransferDialog(this);
    this.toasts = h("div.toasts", { "aria-live": "polite" });
    this.main = h("main.main", { id: "main" }, this.conversation.root, this.supervisor.root, this.bot ? this.bot.root : null);
    this.root.replaceChildren(h("div.shell", {}, this.topbar.root, this.sidebar.root, this.main), this.toasts, this.transferDialog.root);
    this.conversation.clear();
    this.offers.render();
    this.stream = new EventStream(api, {
      onEvent: (type, data) => this.onEvent(type, data),
      onState: (state) => this.onLiveState(state),
      onUnauthorized: () => this.signOut(t("signin_expired")),
    });
    this.stream.start();
    this.ticker = setInterval(() => this.tick(), 1000);
    this.safety = setInterval(() => this.refreshAll(), SAFETY_REFRESH_MS);
    this.onVisible = () => {
      if (!document.hidden) {
        this.attention = 0;
        if (this.openId) this.unread.delete(this.openId);
        this.updateTitle();
      }
    };
    document.addEventListener("visibilitychange", this.onVisible);
    this.loadAgents();
    this.transferQueues();
    this.numbers.load().then(() => this.onNumberFilter());
    this.refreshAll().then(() => {
      if (!this.openId && this.mine.length) this.openConversation(this.mine[0].id);
    });
  }

  signOut(notice = "") {
    if (this.stream) this.stream.stop();
    if (this.offers) this.offers.stop();
    if (this.bot) this.bot.hide();
    clearInterval(this.ticker);
    clearInterval(this.safety);
    document.removeEventListener("visibilitychange", this.onVisible);
    sessionStorage.removeItem(TOKEN_KEY);
    this.reset();
    document.title = t("app_title");
    this.signIn(notice);
  }

  // ---- loading ---------------------------------------------------------------------------------

  async refreshAll() {
    if (!this.api) return;
    const jobs = [this.refreshMe(), this.refreshQueues(), this.refreshMine(), this.refreshOpen()];
    if (this.view === "supervisor") jobs.push(this.supervisor.refresh());
    await Promise.allSettled(jobs);
  }

  /** Many events arrive in bursts (a transfer is several): refresh once for all of them. */
  scheduleRefresh() {
    clearTimeout(this.pending);
    this.pending = setTimeout(() => this.refreshAll(), 120);
  }

  /** The number filter changed, or the numbers were read: what the lists show. */
  onNumberFilter() {
    this.sidebar.renderQueues();
    this.sidebar.renderConversations();
    if (this.view === "supervisor") this.supervisor.filter();
  }

  async refreshMe() {
    this.me = await this.api.get("/me");
    this.topbar.update();
    this.sidebar.renderConversations();
  }

  async refreshQueues() {
    this.queues = await this.api.get("/queues");
    this.queuesAt = Date.now() / 1000;
    for (const q of this.queues) this.queueTitles.set(q.name, queueTitle(q));
    this.sidebar.renderQueues();
  }

  async refreshMine() {
    const [offered] = await Promise.all([this.api.get("/me/offers"), this.minePages.refresh()]);
    this.syncOffers(offered); // warm transfers and push queues' offers to me: few, never paged
  }

  /** What I hold, as the list has it now (newest activity first). */
  onMine() {
    this.mine = this.minePages.items.filter((c) => c.agent_id === this.me.id && HELD.has(c.state));
    for (const id of this.unread.keys()) if (!this.mine.some((c) => c.id === id)) this.unread.delete(id);
    this.sidebar.renderConversations();
    this.updateTitle();
  }

  async refreshOpen() {
    const id = this.openId;
    if (!id) return;
    let detail;
    try {
      detail = await this.api.get(`/conversations/${encodeURIComponent(id)}?lang=${LANG}`); // the summary in my language
    } catch (exc) {
      if (exc.status === 403 || exc.status === 404) this.lost(id, "");
      return;
    }
    if (this.openId !== id) return;
    if (this.peekId === id) return this.conversation.show(detail); // read only, and never "lost"
    if (!(detail.agent_id === this.me.id && HELD.has(detail.state))) return this.lost(id, detail.customer_name);
    this.conversation.show(detail);
  }

  /** The open conversation is no longer ours (moved by a supervisor, the desk went offline...). */
  lost(id, name) {
    if (!this.explained.delete(id)) this.toast(t("conversation_left", { name: name || t("customer_unknown") }));
    this.leave(id);
  }

  loadAgents() {
    return this.api.get("/agents").then(
      (agents) => (this.agents = agents),
      () => this.agents,
    );
  }

  templates() {
    if (!this.templateList) this.templateList = this.api.get("/templates").catch(() => ((this.templateList = null), []));
    return this.templateList;
  }

  /** Every queue, for transfers: [{name, label}], the label being what customers call it, in my language. */
  async transferQueues() {
    const all = await this.api.get("/queues?all=true").catch(() => this.queues);
    for (const q of all) this.queueTitles.set(q.name, queueTitle(q));
    return all.map((q) => ({ name: q.name, label: queueTitle(q) }));
  }

  /** A queue's name as people call it (see queueTitle), once known. */
  queueName(name) {
    return this.queueTitles.get(name) || name;
  }

  agentName(id) {
    if (!id) return "—";
    if (this.me && id === this.me.id) return this.me.name;
    const agent = this.agents.find((a) => a.id === id);
    return agent ? agent.name : id;
  }

  // ---- live events -----------------------------------------------------------------------------

  /** This tab's stream was replaced by one opened elsewhere (another tab): take it back, on a click only. */
  resumeLive() {
    this.stream.start();
  }

  onLiveState(state) {
    this.liveState = state;
    this.topbar.update();
    if (state === "live") {
      // (re)connected: catch up on what happened meanwhile, the lists from their first page
      this.minePages.forget();
      this.supervisor.forget();
      this.scheduleRefresh();
    }
  }

  onEvent(type, data) {
    const id = data.conversation_id;
    if (id && type !== "message_status") {
      this.minePages.touch(id);
      this.supervisor.onEvent(type, id);
    }
    if (type === "message_status") {
      // a tick moved: only the open conversation shows ticks, and nothing else changed
      if (id === this.openId) {
        clearTimeout(this.pendingOpen);
        this.pendingOpen = setTimeout(() => this.refreshOpen(), 120);
      }
      return;
    }
    this.offers.onEvent(type, data);
    const forMe = data.agent_id === this.me.id;
    const watching = id === this.openId && !document.hidden;
    if (type === "customer_wrote" && forMe && !watching) {
      this.unread.set(id, (this.unread.get(id) || 0) + 1);
      this.beeper.beep(this.soundOn);
    } else if (type === "waiting") {
      if (document.hidden) this.attention += 1;
      this.beeper.beep(this.soundOn);
    } else if (type === "transfer_accepted" && forMe) {
      this.toast(t("transfer_accepted_by", { agent: this.agentName(data.by), name: this.nameOf(id) }));
    } else if (type === "transfer_declined" && forMe) {
      this.toast(t("transfer_declined_by", { name: this.nameOf(id), why: data.why || "—" }));
    } else if (type === "assigned" && forMe && !this.mine.some((c) => c.id === id)) {
      this.beeper.beep(this.soundOn);
    } else if (type === "agent_status") {
      if (forMe && data.status) this.me.status = data.status;
      this.loadAgents();
    } else if (type === "agent_removed") {
      if (forMe) return this.signOut(t("signin_removed")); // the token is dead: nothing left to show
      this.loadAgents();
    } else if (type === "agent_silent" && forMe) {
      this.toast(t("agent_silent_toast", { name: this.nameOf(id), wait: duration(data.waited_seconds || 0) }), "error");
      this.beeper.beep(this.soundOn);
    } else if (type === "agent_silent" && isSupervisor(this.me)) {
      const wait = duration(data.waited_seconds || 0);
      this.toast(t("agent_silent_supervisor", { name: this.nameOf(id), agent: this.agentName(data.agent_id), wait }));
    } else if (type === "transferred" && data.reason === "agent_silent" && data.by === this.me.id) {
      this.leftBecause(id, "left_agent_silent", "error");
    } else if (type === "closed" && data.reason === "customer_idle" && forMe) {
      this.leftBecause(id, "left_customer_idle", "info");
    }
    this.updateTitle();
    this.scheduleRefresh();
  }

  /** A clock took a conversation from me (handover/clockwatch.py): say why, once, instead of "no longer yours". */
  leftBecause(id, why, kind) {
    const held = this.mine.find((c) => c.id === id);
    const since = held && held.agent_silent_since;
    this.toast(t(why, { name: this.nameOf(id), wait: since ? duration(Date.now() / 1000 - since) : "—" }), kind);
    this.explained.add(id);
    setTimeout(() => this.explained.delete(id), 10000); // only the refresh this event causes is explained
  }

  /** I answered: the customer no longer waits on me (the server cleared the mark too). */
  answered(id) {
    for (const c of this.mine) if (c.id === id) c.agent_silent_since = null;
    this.sidebar.renderConversations();
  }

  nameOf(id) {
    const known = this.mine.find((c) => c.id === id) || this.offers.get(id) || this.supervisor.known(id);
    return (known && (known.customer_name || known.name)) || t("customer_unknown");
  }

  updateTitle() {
    let count = this.attention + (this.offers ? this.offers.size : 0);
    for (const n of this.unread.values()) count += n;
    document.title = count ? `(${count}) ${t("app_title")}` : t("app_title");
  }

  tick() {
    this.sidebar.tick();
    this.conversation.tick();
    this.offers.tick();
  }

  // ---- actions ---------------------------------------------------------------------------------

  async openConversation(id) {
    this.peekId = null;
    this.peekFrom = null;
    this.openId = id;
    this.unread.delete(id);
    this.updateTitle();
    this.showView("desk");
    this.sidebar.renderConversations();
    await this.refreshOpen();
    const input = this.root.querySelector("[data-testid=reply-input]");
    if (input && !input.disabled) input.focus();
  }

  /**
   * A supervisor reads any conversation (a group of the Bot tab's inbox links to them): shown read only in
   * the conversation view, not held, with a way back to `from`.
   */
  async peekConversation(id, from = null) {
    // supervisors read anything; agents a customer's earlier conversations (from "conversation:<id>")
    if (!isSupervisor(this.me) && !(from && from.startsWith("conversation:"))) return;
    this.peekId = id;
    this.peekFrom = from;
    this.openId = id;
    this.showView("desk");
    this.sidebar.renderConversations();
    await this.refreshOpen();
    const back = this.root.querySelector(
      "[data-testid=back-to-bot], [data-testid=back-to-conversation], [data-testid=back-to-supervisor]",
    );
    if (back) back.focus();
  }

  /** Forget a conversation that left us; show the next one we hold, if any. */
  leave(id) {
    this.mine = this.mine.filter((c) => c.id !== id);
    this.unread.delete(id);
    this.drafts.delete(id);
    if (this.openId === id) {
      this.openId = null;
      this.conversation.clear();
      if (this.mine.length) this.openConversation(this.mine[0].id);
    }
    this.sidebar.renderConversations();
    this.updateTitle();
    this.scheduleRefresh();
  }

  async takeNext() {
    const button = this.sidebar.take;
    button.disabled = true;
    try {
      const only = this.numbers.chosen ? `&number=${encodeURIComponent(this.numbers.chosen)}` : ""; // the number filter
      const detail = await this.api.post(`/queues/next?lang=${LANG}${only}`);
      if (!detail) return this.toast(t("nothing_waits"));
      this.mine = [...this.mine.filter((c) => c.id !== detail.id), detail];
      this.peekId = null; // now held: it leaves when it stops being ours
      this.openId = detail.id;
      this.conversation.show(detail);
      this.sidebar.renderConversations();
      this.scheduleRefresh();
      const input = this.root.querySelector("[data-testid=reply-input]");
      if (input && !input.disabled) input.focus();
    } catch (exc) {
      this.toast(explain(exc), "error");
    } finally {
      button.disabled = false;
    }
  }

  async setPresence(status) {
    const before = this.me.status;
    try {
      this.me = await this.api.put("/me/status", { status });
      this.toast(status === "offline" && this.mine.length ? t("presence_requeued") : t("presence_set", { status: t(`presence_${status}`) }));
    } catch (exc) {
      this.me.status = before;
      this.toast(explain(exc), "error");
    }
    this.topbar.update();
    this.scheduleRefresh();
  }

  async resolve(detail) {
    await this.act(detail, "resolve", t("resolved_ok"));
  }

  async release(detail) {
    await this.act(detail, "release", t("released_ok"));
  }

  async act(detail, verb, done) {
    try {
      await this.api.post(`/conversations/${encodeURIComponent(detail.id)}/${verb}`);
      this.toast(done);
      this.leave(detail.id);
    } catch (exc) {
      this.toast(explain(exc), "error");
      this.refreshOpen();
    }
  }

  openTransfer(detail) {
    this.transferDialog.open(detail, false);
  }

  afterTransfer(conversation, warm) {
    if (this.transferDialog.supervising) return this.supervisor.refresh();
    if (warm) return this.refreshOpen();
    this.leave(conversation.id);
  }

  focusAfterDialog() {
    const target = this.root.querySelector(this.view === "supervisor" ? "[data-testid=supervisor-view]" : "[data-testid=transfer-open]");
    if (target && !target.disabled && target.offsetParent) target.focus();
  }

  showView(view) {
    if ((view === "supervisor" || view === "bot") && this.me.role !== "supervisor") return;
    this.view = view;
    this.conversation.root.hidden = view !== "desk";
    this.supervisor.root.hidden = view !== "supervisor";
    if (this.bot) {
      this.bot.root.hidden = view !== "bot";
      if (view === "bot") this.bot.show();
      else this.bot.hide();
    }
    this.topbar.update();
    if (view === "supervisor") this.supervisor.refresh().catch((exc) => this.toast(explain(exc), "error"));
  }

  toggleSound() {
    this.soundOn = !this.soundOn;
    if (this.soundOn) this.beeper.unlock();
    this.topbar.update();
  }

  /** The offers made to me, as the conversation list has them (after a reload, the only source). */
  syncOffers(conversations) {
    this.offers.sync(conversations);
  }

  /** A conversation just became mine (an offer accepted): show it, ready to reply. */
  holdNow(detail) {
    this.mine = [...this.mine.filter((c) => c.id !== detail.id), detail];
    this.peekId = null; // now held: it leaves when it stops being ours
    this.openId = detail.id;
    this.showView("desk");
    this.conversation.show(detail);
    this.sidebar.renderConversations();
    this.scheduleRefresh();
    const input = this.root.querySelector("[data-testid=reply-input]");
    if (input && !input.disabled) input.focus();
  }

  // ---- messages to the agent -----------------------------------------------------------------------

  toast(message, kind = "info") {
    const close = () => note.remove();
    const note = h(
      `div.toast.${kind}`,
      { testid: "toast", data: { kind }, role: kind === "error" ? "alert" : "status" },
      h("span", {}, message),
      h("button.icon-btn", { type: "button", "aria-label": t("close"), onclick: close }, "×"),
    );
    this.toasts.append(note);
    setTimeout(close, kind === "error" ? 10000 : 6000);
    while (this.toasts.children.length > 4) this.toasts.firstElementChild.remove();
  }
}

new Desk(document.getElementById("app")).start();
