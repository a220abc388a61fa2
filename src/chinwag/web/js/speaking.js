// Who is speaking: the level of an audio stream, read a few times a second
// through a Web Audio analyser. A short hold keeps the marker from flickering
// between words.

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
