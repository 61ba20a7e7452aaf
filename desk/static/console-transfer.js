// The transfer dialog: to a queue or to an agent, cold or warm, an internal reason always (the customer never
// sees it) and, if the agent wants, one of the reasons ops wrote for customers (rules
// transfers.customer_reasons). Supervisors use it too to assign a waiting conversation to an agent or move it
// to another queue (always cold).

import { h, fill } from "./console-dom.js";
import { t, explain } from "./console-i18n.js";

export class TransferDialog {
  constructor(desk) {
    this.desk = desk;
    this.conversation = null;
    this.supervising = false;
    this.title = h("h2", { id: "transfer-title" });
    this.mode = h(
      "select",
      { id: "transfer-mode", testid: "transfer-mode" },
      h("option", { value: "cold" }, t("transfer_mode_cold_long")),
      h("option", { value: "warm" }, t("transfer_mode_warm_long")),
    );
    this.queue = h("select", { id: "transfer-to-queue", testid: "transfer-to-queue" });
    this.agent = h("select", { id: "transfer-to-agent", testid: "transfer-to-agent" });
    this.reason = h("input", {
      id: "transfer-reason",
      testid: "transfer-reason",
      type: "text",
      maxlength: "200",
      required: true,
      autocomplete: "off",
      placeholder: t("transfer_reason_placeholder"),
      "aria-describedby": "transfer-error",
    });
    this.customerReason = h("select", { id: "transfer-customer-reason", testid: "transfer-customer-reason" });
    this.preview = h("p.muted.small", { testid: "transfer-customer-preview", "aria-live": "polite" });
    this.customerReason.addEventListener("change", () => this.showPreview());
    this.reasons = [];
    this.note = h("textarea", { id: "transfer-note", testid: "transfer-note", rows: "3", maxlength: "2000", placeholder: t("transfer_note_placeholder") });
    this.error = h("p.form-error", { id: "transfer-error", testid: "transfer-error", role: "alert", hidden: true });
    this.submit = h("button.btn.primary", { type: "submit", testid: "transfer-submit" }, t("transfer_submit"));
    this.queue.addEventListener("change", () => {
      if (this.queue.value) this.agent.value = "";
    });
    this.agent.addEventListener("change", () => {
      if (this.agent.value) this.queue.value = "";
    });
    this.mode.addEventListener("change", () => this.syncMode());
    this.reason.addEventListener("input", () => {
      this.reason.removeAttribute("aria-invalid");
      this.error.hidden = true;
    });
    this.form = h(
      "form.dialog-body",
      { novalidate: true, onsubmit: (event) => this.send(event) },
      h("header.dialog-head", {}, this.title, h("button.icon-btn", { type: "button", "aria-label": t("close"), onclick: () => this.close() }, "×")),
      h("p.muted.small", { testid: "transfer-customer" }),
      h("div.field", {}, h("label", { for: "transfer-mode" }, t("transfer_mode")), this.mode),
      h(
        "div.field-row",
        {},
        h("div.field", {}, h("label", { for: "transfer-to-queue" }, t("transfer_to_queue")), this.queue),
        h("div.field", {}, h("label", { for: "transfer-to-agent" }, t("transfer_to_agent")), this.agent),
      ),
      h("div.field", {}, h("label", { for: "transfer-reason" }, t("transfer_reason")), this.reason),
      (this.customerField = h(
        "div.field",
        {},
        h("label", { for: "transfer-customer-reason" }, t("transfer_customer_reason")),
        this.customerReason,
        this.preview,
      )),
      (this.silentHint = h("p.muted.small", { testid: "assign-silent", hidden: true }, t("assign_silent"))),
      h("div.field", {}, h("label", { for: "transfer-note" }, t("transfer_note")), this.note),
      this.error,
      h(
        "footer.dialog-foot",
        {},
        h("button.btn", { type: "button", testid: "transfer-cancel", onclick: () => this.close() }, t("cancel")),
        this.submit,
      ),
    );
    this.root = h("dialog.dialog", { testid: "transfer-dialog", "aria-labelledby": "transfer-title" }, this.form);
    this.root.addEventListener("close", () => this.desk.focusAfterDialog());
  }

  /** Open for a conversation; `supervising`: a supervisor assigning or moving it (cold only). */
  async open(conversation, supervising = false) {
    this.conversation = conversation;
    this.supervising = supervising;
    // a waiting conversation a supervisor gives out is assigned, not transferred: the customer is told nothing
    this.assigning = supervising && conversation.state === "queued";
    this.customerField.hidden = this.assigning;
    this.silentHint.hidden = !this.assigning;
    this.title.textContent = supervising ? t("assign_title") : t("transfer_title");
    this.submit.textContent = supervising ? t("assign_submit") : t("transfer_submit");
    this.form.querySelector("[data-testid=transfer-customer]").textContent = conversation.customer_name || conversation.wa_id || "";
    this.mode.value = "cold";
    this.mode.disabled = supervising;
    this.reason.value = "";
    this.note.value = "";
    this.reason.removeAttribute("aria-invalid");
    this.error.hidden = true;
    fill(this.queue, h("option", { value: "" }, t("transfer_none")));
    fill(this.agent, h("option", { value: "" }, t("transfer_none")));
    fill(this.customerReason, h("option", { value: "" }, t("transfer_customer_reason_none")));
    this.preview.textContent = "";
    this.syncMode();
    this.root.showModal();
    const [queues, agents, reasons] = await Promise.all([
      this.desk.transferQueues(),
      this.desk.loadAgents(),
      this.desk.api.get("/transfers/customer-reasons").catch(() => []),
    ]);
    this.reasons = reasons;
    for (const reason of reasons) {
      const text = this.textOf(reason);
      this.customerReason.append(h("option", { value: reason.name }, text.length > 60 ? `${text.slice(0, 59)}…` : text));
    }
    for (const { name, label } of queues) {
      this.queue.append(h("option", { value: name }, label && label !== name ? `${label} (${name})` : name));
    }
    for (const agent of agents) {
      if (agent.id === this.desk.me.id) continue;
      const status = t(`presence_${agent.status}`).toLowerCase();
      this.agent.append(
        h("option", { value: agent.id }, t("agent_option", { name: agent.name, status, load: agent.load, capacity: agent.capacity })),
      );
    }
  }

  /** A customer reason's text in the customer's language (else the first the rules have). */
  textOf(reason) {
    const packet = this.conversation && this.conversation.packet;
    const language = packet && packet.customer ? packet.customer.language : null;
    return reason.texts[language] || Object.values(reason.texts)[0] || reason.name;
  }

  /** What the customer will read, whole, under the choice. */
  showPreview() {
    const chosen = this.reasons.find((r) => r.name === this.customerReason.value);
    this.preview.textContent = chosen ? t("transfer_customer_preview", { text: this.textOf(chosen) }) : "";
  }

  syncMode() {
    const warm = this.mode.value === "warm";
    this.queue.disabled = warm; // an offer goes to one person
    if (warm) this.queue.value = "";
  }

  close() {
    if (this.root.open) this.root.close();
  }

  fail(message, field) {
    this.error.hidden = false;
    this.error.textContent = message;
    if (field) {
      field.setAttribute("aria-invalid", "true");
      field.focus();
    }
  }

  async send(event) {
    event.preventDefault();
    this.reason.removeAttribute("aria-invalid");
    const warm = this.mode.value === "warm";
    const toQueue = this.queue.value;
    const toAgent = this.agent.value;
    if (warm && !toAgent) return this.fail(t("transfer_need_agent"), this.agent);
    if (!toQueue && !toAgent) return this.fail(t("transfer_need_target"), this.queue);
    const reason = this.reason.value.trim();
    if (!reason) return this.fail(t("transfer_need_reason"), this.reason);
    const body = { mode: warm ? "warm" : "cold", reason };
    if (toAgent) body.to_agent = toAgent;
    else body.to_queue = toQueue;
    const note = this.note.value.trim();
    if (note) body.note = note;
    if (this.customerReason.value && !this.assigning) body.customer_reason = this.customerReason.value;
    this.submit.disabled = true;
    try {
      await this.desk.api.post(`/conversations/${encodeURIComponent(this.conversation.id)}/transfer`, body);
      const to = toAgent ? this.desk.agentName(toAgent) : t("queue_named", { name: toQueue });
      this.close();
      this.desk.toast(t(warm ? "transfer_offered" : this.assigning ? "assign_done" : "transfer_done", { to }));
      this.desk.afterTransfer(this.conversation, warm);
    } catch (exc) {
      this.fail(t("error", { message: explain(exc) }));
    } finally {
      this.submit.disabled = false;
    }
  }
}
