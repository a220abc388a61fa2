// Ringing that reaches a person who is not looking at the page: a ringtone
// (incoming) or ringback tone (outgoing) synthesised with Web Audio, so no
// audio file is needed; a system notification while the tab is hidden; the
// tab title and favicon; vibration where the device has it.
//
// Browsers start an AudioContext only after a user gesture. The context is
// created and resumed on the first click or key press (sign-in is one), so it
// is running by the time a call rings in a background tab.

import { S } from "./strings.js";
import { saved } from "./store.js";

const RING_ICON = "/icons/favicon-ring.svg";
const PLAIN_ICON = "/icons/favicon.svg";
const VIBRATION = [400, 200, 400];
// One cycle of each tone: [start s, length s, frequencies, gain], and its period.
const TONES = {
  ringtone: {
    period: 3,
    notes: [
      [0, 0.32, [880], 0.22], [0.36, 0.32, [660], 0.22],
      [0.9, 0.32, [880], 0.22], [1.26, 0.32, [660], 0.22],
    ],
  },
  // The two-frequency ringback most callers know (440 + 480 Hz, 2 s on, 4 s off).
  ringback: { period: 6, notes: [[0, 2, [440, 480], 0.06]] },
};

/** Create the ring alerts. log(text) for diagnostics. */
export function createAlerts({ log }) {
  let context = null;
  let output = null; // master gain -> analyser -> speakers
  let analyser = null;
  let cycle = null; // the interval repeating the tone
  let tone = "";
  let ringingName = "";
  let notification = null;
  let lastNotification = null;
  let baseTitle = document.title;
  let unread = 0;

  function ensureContext() {
    if (!context) {
      const Context = window.AudioContext ?? window.webkitAudioContext;
      if (!Context) return null;
      context = new Context();
      output = context.createGain();
      analyser = context.createAnalyser();
      analyser.fftSize = 512;
      output.connect(analyser).connect(context.destination);
    }
    if (context.state === "suspended") context.resume().catch(() => {});
    return context;
  }

  // Unlock audio on the first gesture (autoplay policy), once.
  const unlock = () => {
    ensureContext();
    window.removeEventListener("pointerdown", unlock, true);
    window.removeEventListener("keydown", unlock, true);
  };
  window.addEventListener("pointerdown", unlock, true);
  window.addEventListener("keydown", unlock, true);

  function playCycle(name) {
    if (!context || (name === "ringtone" && !saved.get("ringSound", true))) return;
    const start = context.currentTime + 0.05;
    for (const [at, length, frequencies, gain] of TONES[name].notes) {
      const envelope = context.createGain();
      envelope.gain.setValueAtTime(0, start + at);
      envelope.gain.linearRampToValueAtTime(gain, start + at + 0.02);
      envelope.gain.setValueAtTime(gain, start + at + length - 0.05);
      envelope.gain.linearRampToValueAtTime(0, start + at + length);
      envelope.connect(output);
      for (const frequency of frequencies) {
        const oscillator = context.createOscillator();
        oscillator.frequency.value = frequency;
        oscillator.connect(envelope);
        oscillator.start(start + at);
        oscillator.stop(start + at + length + 0.01);
      }
    }
    if (name === "ringtone") navigator.vibrate?.(VIBRATION);
  }

  function startTone(name) {
    stopTone();
    tone = name;
    ensureContext();
    playCycle(name);
    cycle = setInterval(() => playCycle(name), TONES[name].period * 1000);
  }

  function stopTone() {
    clearInterval(cycle);
    cycle = null;
    tone = "";
    navigator.vibrate?.(0);
  }

  function setFavicon(href) {
    const link = document.getElementById("favicon");
    if (link && link.getAttribute("href") !== href) link.setAttribute("href", href);
  }

  function refreshTitle() {
    if (ringingName) document.title = `${S.ringTitle(ringingName)} – ${baseTitle}`;
    else document.title = unread > 0 ? `(${unread}) ${baseTitle}` : baseTitle;
  }

  function notifyIfHidden() {
    if (!ringingName || !document.hidden || notification) return;
    if (!("Notification" in window) || Notification.permission !== "granted") return;
    try {
      notification = new Notification(S.notifyTitle, {
        body: S.notifyBody(ringingName),
        tag: "chinwag-call",
        icon: "/icons/icon-192.png",
        requireInteraction: true,
      });
      lastNotification = { title: S.notifyTitle, body: S.notifyBody(ringingName) };
      notification.addEventListener("click", () => {
        window.focus();
        notification?.close();
      });
      log(`notification shown for ${ringingName}`);
    } catch (error) {
      log(`notification failed: ${error.message}`);
    }
  }

  document.addEventListener("visibilitychange", notifyIfHidden);

  return {
    /** Someone rings us: ringtone, vibration, title, favicon, notification if hidden. */
    incoming(name) {
      ringingName = name;
      startTone("ringtone");
      setFavicon(RING_ICON);
      refreshTitle();
      notifyIfHidden();
    },
    /** We ring someone: ringback tone. */
    outgoing() {
      startTone("ringback");
    },
    /** Ringing is over, whichever way. */
    stop() {
      stopTone();
      ringingName = "";
      notification?.close();
      notification = null;
      setFavicon(PLAIN_ICON);
      refreshTitle();
    },
    /** Unread chat messages, shown in the title as "(3) chinwag". */
    setUnread(count) {
      unread = count;
      refreshTitle();
    },
    /** The page's own title, without ringing or counts. */
    setBaseTitle(title) {
      baseTitle = title;
      refreshTitle();
    },
    /**
     * After sign-in: offer notifications once (a button, so the browser's
     * prompt comes from a user gesture). notices is notices.js.
     */
    offerNotifications(notices) {
      if (!("Notification" in window) || saved.get("notifyAsked", false)) return;
      if (Notification.permission !== "default") return;
      notices.show(S.notifyOffer, {
        key: "notify-offer",
        timeoutMs: 30000, // unanswered, it comes back at the next visit
        actions: [
          [S.notifyAllow, () => {
            saved.set("notifyAsked", true);
            Notification.requestPermission().then((answer) => {
              log(`notification permission: ${answer}`);
              if (answer === "denied") notices.show(S.notifyBlocked);
            });
          }],
          [S.notifyLater, () => saved.set("notifyAsked", true)],
        ],
      });
    },
    /** Test hook: what is playing, the context state, and the output's loudness now. */
    debug: {
      get tone() {
        return tone;
      },
      get contextState() {
        return context?.state ?? "none";
      },
      get notification() {
        return lastNotification;
      },
      level() {
        if (!analyser) return 0;
        const samples = new Float32Array(analyser.fftSize);
        analyser.getFloatTimeDomainData(samples);
        return samples.reduce((peak, v) => Math.max(peak, Math.abs(v)), 0);
      },
    },
  };
}
