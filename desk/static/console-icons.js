// Inline SVG icons (constant markup, no user data), drawn in currentColor at 16 px.

const PATHS = {
  check: '<path d="M3.5 8.5l3 3 6-7" />',
  clip: '<path d="M10.5 4.5l-5 5a1.5 1.5 0 002 2l5.5-5.5a3 3 0 00-4.2-4.2L3.3 7.3a4.5 4.5 0 006.4 6.4l4.3-4.3" />',
  download: '<path d="M8 2v8" /><path d="M4.5 7L8 10.5 11.5 7" /><path d="M2.5 13.5h11" />',
  checks: '<path d="M1.5 8.5l3 3 6-7" /><path d="M7.5 11.5l6-7" />',
  clock: '<circle cx="8" cy="8" r="6" /><path d="M8 4.5V8l2.5 1.5" />',
  alert: '<circle cx="8" cy="8" r="6.5" /><path d="M8 4.5v4.2" /><path d="M8 11.2v.3" />',
  shield: '<path d="M8 1.5l5 2v4c0 3.2-2.2 5.6-5 6.9C5.2 13.1 3 10.7 3 7.5v-4z" /><path d="M5.8 8l1.6 1.6L10.5 6.4" />',
  shieldOff: '<path d="M8 1.5l5 2v4c0 3.2-2.2 5.6-5 6.9C5.2 13.1 3 10.7 3 7.5v-4z" /><path d="M6 6l4 4M10 6l-4 4" />',
  send: '<path d="M2 8l12-6-4.5 12-2-5z" /><path d="M7.5 9L14 2" />',
  transfer: '<path d="M2 5h10l-3-3" /><path d="M14 11H4l3 3" />',
  bot: '<rect x="3" y="5" width="10" height="8" rx="2" /><path d="M8 2.5V5" /><circle cx="6" cy="9" r=".6" /><circle cx="10" cy="9" r=".6" />',
  done: '<circle cx="8" cy="8" r="6.5" /><path d="M5 8.2l2 2 4-4.2" />',
  bell: '<path d="M4 11V7a4 4 0 018 0v4l1 1.5H3z" /><path d="M6.5 14a1.6 1.6 0 003 0" />',
  bellOff: '<path d="M4 11V7a4 4 0 018 0v4l1 1.5H3z" /><path d="M2 2l12 12" />',
  signout: '<path d="M6 2.5H3.5v11H6" /><path d="M10 5l3 3-3 3M13 8H6" />',
  inbox: '<path d="M2 9l2-6h8l2 6v4H2z" /><path d="M2 9h3.5l1 2h3l1-2H14" />',
  chat: '<path d="M2.5 3.5h11v7h-6l-3 3v-3h-2z" />',
  queue: '<path d="M3 4h10M3 8h10M3 12h6" />',
  user: '<circle cx="8" cy="5.5" r="2.8" /><path d="M2.5 14c.8-2.8 3-4.2 5.5-4.2s4.7 1.4 5.5 4.2" />',
  lock: '<rect x="3.5" y="7" width="9" height="7" rx="1.5" /><path d="M5.5 7V5a2.5 2.5 0 015 0v2" />',
};

/** A span holding one icon; aria-hidden, since a text label always goes with it. */
export function icon(name, className = "") {
  const span = document.createElement("span");
  span.className = `icon ${className}`.trim();
  span.setAttribute("aria-hidden", "true");
  span.innerHTML =
    '<svg viewBox="0 0 16 16" width="16" height="16" fill="none" stroke="currentColor" stroke-width="1.6" ' +
    `stroke-linecap="round" stroke-linejoin="round">${PATHS[name] || ""}</svg>`;
  return span;
}

// The simulator's phone (simulator.js) draws WhatsApp's own shapes, filled or sized as the app does: a
// delivery's ticks, the round send button. Fixed markup of our own (never customer text): innerHTML is safe.
const PHONE = {
  pending:
    '<svg viewBox="0 0 16 16" width="14" height="14" aria-hidden="true"><circle cx="8" cy="8" r="6.2" fill="none" stroke="currentColor" stroke-width="1.4"/><path d="M8 4.5V8l2.4 1.6" fill="none" stroke="currentColor" stroke-width="1.4" stroke-linecap="round"/></svg>',
  ticks:
    '<svg viewBox="0 0 18 12" width="17" height="12" aria-hidden="true"><path d="M1.2 6.6l3 3L10.8 2.2M7.4 9.1l.5.5L16.6 2.2" fill="none" stroke="currentColor" stroke-width="1.6" stroke-linecap="round" stroke-linejoin="round"/></svg>',
  failed:
    '<svg viewBox="0 0 16 16" width="14" height="14" aria-hidden="true"><circle cx="8" cy="8" r="7" fill="currentColor"/><path d="M8 4v5M8 11.2v.6" stroke="#fff" stroke-width="1.8" stroke-linecap="round"/></svg>',
  list:
    '<svg viewBox="0 0 16 16" width="16" height="16" aria-hidden="true"><path d="M2 4h12M2 8h12M2 12h12" stroke="currentColor" stroke-width="1.6" stroke-linecap="round"/></svg>',
  reply:
    '<svg viewBox="0 0 16 16" width="15" height="15" aria-hidden="true"><path d="M6.5 3.5L2 8l4.5 4.5M2.5 8H10a4 4 0 0 1 4 4v.5" fill="none" stroke="currentColor" stroke-width="1.6" stroke-linecap="round" stroke-linejoin="round"/></svg>',
  send: '<svg viewBox="0 0 24 24" width="22" height="22" aria-hidden="true"><path d="M3.4 20.4l17.4-7.5a1 1 0 0 0 0-1.8L3.4 3.6a.9.9 0 0 0-1.3 1l1.6 6.2 9.3 1.2-9.3 1.2-1.6 6.2a.9.9 0 0 0 1.3 1z" fill="currentColor"/></svg>',
  template:
    '<svg viewBox="0 0 16 16" width="14" height="14" aria-hidden="true"><path d="M4 1.8h5.5L13 5.3v8.9H4z M9.3 2v3.5H13" fill="none" stroke="currentColor" stroke-width="1.3" stroke-linejoin="round"/></svg>',
};

/** A span holding one of the phone's icons (simulator.js), in the simulator's `icon-svg` style. */
export function phoneIcon(name, className = "icon-svg") {
  const span = document.createElement("span");
  span.className = className;
  span.setAttribute("aria-hidden", "true");
  span.innerHTML = PHONE[name] || "";
  return span;
}
