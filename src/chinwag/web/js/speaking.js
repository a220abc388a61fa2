// Who is speaking in a room call, from the audio each peer connection
// receives (getStats inbound-rtp: totalAudioEnergy over totalSamplesDuration,
// i.e. the mean power since the last reading, so a short click between two
// readings is not missed and no AudioContext is needed).
//
// Hysteresis keeps the highlight still: a person starts speaking only after
// their level stays above START for startMs, stops only after it stays below
// STOP (lower) for holdMs (the gaps between words), and the highlight moves
// from one speaker to a louder one only after it has stayed minDwellMs.

const DEFAULTS = {
  startLevel: 0.03, // RMS, 0..1 (about -30 dBFS)
  stopLevel: 0.015,
  startMs: 150,
  holdMs: 900,
  minDwellMs: 1500,
};

/**
 * The hysteresis, with no I/O: update(levels, now) takes {name: level} (RMS
 * 0..1) at time `now` (ms) and returns {speaking: [names], active: name|null}.
 * A name missing from `levels` is forgotten (they left).
 */
export function createSpeakerTracker(options = {}) {
  const o = { ...DEFAULTS, ...options };
  const people = new Map(); // name -> {speaking, since, level}
  let active = null;
  let activeSince = 0;

  function step(person, level, now) {
    const crossing = person.speaking ? level < o.stopLevel : level >= o.startLevel;
    if (!crossing) person.since = null;
    else if (person.since === null) person.since = now;
    const waited = person.since !== null && now - person.since >= (person.speaking ? o.holdMs : o.startMs);
    if (waited) {
      person.speaking = !person.speaking;
      person.since = null;
    }
    person.level = level;
  }

  function chooseActive(now) {
    const current = people.get(active);
    if (current?.speaking && now - activeSince < o.minDwellMs) return;
    const speakers = [...people].filter(([, p]) => p.speaking);
    speakers.sort(([, a], [, b]) => b.level - a.level);
    const loudest = speakers[0] ?? null;
    // A current speaker still talking keeps the highlight unless someone is louder.
    const keep = current?.speaking && loudest[1].level <= current.level;
    const next = keep ? active : (loudest?.[0] ?? null);
    if (next !== active) {
      active = next;
      activeSince = now;
    }
  }

  return {
    update(levels, now) {
      for (const name of [...people.keys()]) if (!(name in levels)) people.delete(name);
      for (const [name, level] of Object.entries(levels)) {
        if (!people.has(name)) people.set(name, { speaking: false, since: null, level: 0 });
        step(people.get(name), level, now);
      }
      chooseActive(now);
      return { speaking: [...people].filter(([, p]) => p.speaking).map(([name]) => name), active };
    },
  };
}

/**
 * The RMS level of the audio pc received since `previous` (the last result for
 * this pc, or null): {level, energy, duration}. Falls back to the
 * instantaneous audioLevel where the energy counters are missing.
 */
export async function readReceivedLevel(pc, previous = null) {
  const report = await pc.getStats();
  let energy = 0;
  let duration = 0;
  let instant = 0;
  report.forEach((s) => {
    if (s.type !== "inbound-rtp" || s.kind !== "audio") return;
    energy += s.totalAudioEnergy ?? 0;
    duration += s.totalSamplesDuration ?? 0;
    instant = Math.max(instant, s.audioLevel ?? 0);
  });
  const spent = previous ? duration - previous.duration : 0;
  const level = spent > 0 ? Math.sqrt(Math.max(0, energy - previous.energy) / spent) : instant;
  return { level, energy, duration };
}

/**
 * Poll every intervalMs: peers() returns [[name, RTCPeerConnection], ...] (for
 * a RoomCall: call.peers().map((n) => [n, call.peerConnection(n)])).
 * onChange({speaking, active}) runs when either changes. options go to
 * createSpeakerTracker. Returns {stop()}.
 */
export function watchSpeakers({ peers, onChange, intervalMs = 200, ...options }) {
  const tracker = createSpeakerTracker(options);
  const previous = new WeakMap(); // pc -> last reading (gone with the pc)
  let last = "";
  let stopped = false;
  let timer = null;

  async function tick() {
    const levels = {};
    for (const [name, pc] of peers()) {
      if (!pc || pc.signalingState === "closed") continue;
      try {
        const reading = await readReceivedLevel(pc, previous.get(pc) ?? null);
        previous.set(pc, reading);
        levels[name] = reading.level;
      } catch {
        // The link closed while being read: it is gone from the next peers().
      }
    }
    if (stopped) return;
    const state = tracker.update(levels, performance.now());
    const key = JSON.stringify(state);
    if (key !== last) {
      last = key;
      onChange(state);
    }
    timer = setTimeout(tick, intervalMs);
  }

  timer = setTimeout(tick, 0);
  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}

// -- A local stream's level (the 1:1 call's speaking marker, and your own
// microphone): Web Audio, since no peer connection reports it.

const POLL_MS = 150;
const THRESHOLD = 0.02; // RMS of the samples, 0..1
const HOLD_MS = 600;

let shared = null; // one AudioContext for every meter on the page

function audioContext() {
  if (!shared) {
    const Context = window.AudioContext ?? window.webkitAudioContext;
    if (!Context) return null;
    shared = new Context();
  }
  if (shared.state === "suspended") shared.resume().catch(() => {});
  return shared;
}

/**
 * Watch stream's audio; onChange(speaking) when it starts or stops.
 * Returns stop(). A stream without audio (or no Web Audio) never speaks.
 */
export function watchSpeaking(stream, onChange) {
  const context = audioContext();
  if (!context || !stream?.getAudioTracks().length) return () => {};
  const source = context.createMediaStreamSource(stream);
  const analyser = context.createAnalyser();
  analyser.fftSize = 512;
  source.connect(analyser); // not to the speakers: the <video> plays the sound
  const samples = new Float32Array(analyser.fftSize);
  let speaking = false;
  let lastLoud = 0;
  const timer = setInterval(() => {
    analyser.getFloatTimeDomainData(samples);
    let sum = 0;
    for (const v of samples) sum += v * v;
    const loud = Math.sqrt(sum / samples.length) > THRESHOLD;
    const now = performance.now();
    if (loud) lastLoud = now;
    const next = loud || now - lastLoud < HOLD_MS;
    if (next !== speaking) {
      speaking = next;
      onChange(speaking);
    }
  }, POLL_MS);
  return () => {
    clearInterval(timer);
    source.disconnect();
    if (speaking) onChange(false);
  };
}
