// An optional notification beep made with WebAudio (no audio file); off until the agent turns it on.

export class Beeper {
  constructor() {
    this.context = null;
    this.last = 0;
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
