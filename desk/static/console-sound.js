// Notification sounds made with WebAudio (no audio file); off until the agent turns them on: a short beep
// for news, and a ring for an offer waiting for the agent's answer.

export class Beeper {
  constructor() {
    this.context = null;
    this.last = 0;
    this.rings = 0; // rings actually sounded: the page has no other trace of a sound (tests read it)
  }

  /** Browsers only allow audio after a user gesture: called from the sound toggle's click. */
  unlock() {
    const Context = window.AudioContext || window.webkitAudioContext;
    if (!Context) return;
    if (!this.context) this.context = new Context();
    if (this.context.state === "suspended") this.context.resume();
    this.play();
  }

  beep(enabled) {
    const now = Date.now();
    if (!enabled || !this.context || now - this.last < 1500) return; // one beep for a burst of events
    this.last = now;
    this.play();
  }

  /** A phone-like ring, louder and longer than the beep; true when it sounded (sound on and unlocked). */
  ring(enabled) {
    if (!enabled || !this.context) return false;
    this.last = Date.now(); // no beep on top of it
    this.rings += 1;
    const start = this.context.currentTime;
    for (const [freq, at] of [[988, 0], [784, 0.15], [988, 0.3], [784, 0.45]]) this.tone(freq, start + at, 0.14);
    return true;
  }

  /** One note with its own short envelope, so every note of the ring is heard alike. */
  tone(freq, at, length) {
    const ctx = this.context;
    const gain = ctx.createGain();
    gain.connect(ctx.destination);
    gain.gain.setValueAtTime(0.0001, at);
    gain.gain.exponentialRampToValueAtTime(0.2, at + 0.015);
    gain.gain.exponentialRampToValueAtTime(0.0001, at + length);
    const osc = ctx.createOscillator();
    osc.type = "triangle";
    osc.frequency.setValueAtTime(freq, at);
    osc.connect(gain);
    osc.start(at);
    osc.stop(at + length + 0.02);
  }

  play() {
    const ctx = this.context;
    if (!ctx) return;
    const start = ctx.currentTime;
    const gain = ctx.createGain();
    gain.connect(ctx.destination);
    gain.gain.setValueAtTime(0.0001, start);
    gain.gain.exponentialRampToValueAtTime(0.18, start + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, start + 0.32);
    for (const [freq, at] of [[880, 0], [1320, 0.12]]) {
      const osc = ctx.createOscillator();
      osc.type = "sine";
      osc.frequency.setValueAtTime(freq, start + at);
      osc.connect(gain);
      osc.start(start + at);
      osc.stop(start + at + 0.2);
    }
  }
}
