// The parts of a device check, shared by the pre-join screen (prejoin.js)
// and /check (check.js): open camera and microphone so that a failure names
// the device, a live microphone level (Web Audio analyser), and a test sound
// on a chosen speaker.

const LEVEL_INTERVAL_MS = 100;
const TONE_SECONDS = 0.6;

function constraint(wanted, deviceId, exact) {
  if (!wanted) return false;
  // `ideal`: a remembered device that is gone gives way to another one;
  // `exact` for a device just picked (switching), which must be that one.
  return deviceId ? { deviceId: exact ? { exact: deviceId } : { ideal: deviceId } } : true;
}

/**
 * Open what is wanted ({audio, video, audioId, videoId}). Both at once first
 * (one permission prompt); if that fails, each kind alone, so a broken
 * microphone does not take the camera down with it. Resolves to
 * {stream, failures: {audio, video}}: the stream holds what opened (maybe
 * nothing), failures the error of each kind that did not (else null).
 * exact: the chosen devices or nothing (not another device of the kind).
 */
export async function openEach(want, { exact = false } = {}) {
  const failures = { audio: null, video: null };
  if (!navigator.mediaDevices?.getUserMedia) {
    const insecure = { name: "insecure", message: "" };
    return { stream: new MediaStream(), failures: { audio: want.audio ? insecure : null, video: want.video ? insecure : null } };
  }
  const open = (audio, video) =>
    navigator.mediaDevices.getUserMedia({
      audio: constraint(audio, want.audioId, exact),
      video: constraint(video, want.videoId, exact),
    });
  if (want.audio && want.video) {
    try {
      return { stream: await open(true, true), failures };
    } catch {
      // Find out which one failed, below.
    }
  }
  const stream = new MediaStream();
  for (const kind of ["audio", "video"]) {
    if (!want[kind]) continue;
    try {
      const single = await open(kind === "audio", kind === "video");
      for (const track of single.getTracks()) stream.addTrack(track);
    } catch (error) {
      failures[kind] = error;
    }
  }
  return { stream, failures };
}

/**
 * Measure the loudness of `stream`'s microphone about ten times a second:
 * onLevel(0..1). Returns stop(). A stream without audio reports nothing.
 */
export function watchLevel(stream, onLevel) {
  const track = stream.getAudioTracks()[0];
  const Context = window.AudioContext ?? window.webkitAudioContext;
  if (!track || !Context) return () => {};
  const context = new Context();
  const source = context.createMediaStreamSource(new MediaStream([track]));
  const analyser = context.createAnalyser();
  analyser.fftSize = 512;
  source.connect(analyser);
  const samples = new Float32Array(analyser.fftSize);
  context.resume().catch(() => {});
  const timer = setInterval(() => {
    analyser.getFloatTimeDomainData(samples);
    let sum = 0;
    for (const sample of samples) sum += sample * sample;
    const rms = Math.sqrt(sum / samples.length);
    // Speech sits around 0.02-0.2 RMS: a square root spreads it over the meter.
    onLevel(track.enabled ? Math.min(1, Math.sqrt(rms) * 1.6) : 0);
  }, LEVEL_INTERVAL_MS);
  return () => {
    clearInterval(timer);
    source.disconnect();
    context.close().catch(() => {});
  };
}

/** Can this browser choose the speaker (HTMLMediaElement.setSinkId)? */
export function canChooseSpeaker() {
  return typeof HTMLMediaElement !== "undefined" && "setSinkId" in HTMLMediaElement.prototype;
}

/** Play a short tone on speaker `sinkId` ("" for the default), through an <audio> element. */
export async function playTestTone(sinkId) {
  const Context = window.AudioContext ?? window.webkitAudioContext;
  const context = new Context();
  const oscillator = context.createOscillator();
  const gain = context.createGain();
  const out = context.createMediaStreamDestination();
  oscillator.frequency.value = 660;
  gain.gain.setValueAtTime(0.2, context.currentTime);
  gain.gain.exponentialRampToValueAtTime(0.001, context.currentTime + TONE_SECONDS);
  oscillator.connect(gain).connect(out);
  const audio = new Audio();
  audio.srcObject = out.stream;
  if (sinkId && canChooseSpeaker()) await audio.setSinkId(sinkId);
  await audio.play();
  oscillator.start();
  oscillator.stop(context.currentTime + TONE_SECONDS);
  oscillator.addEventListener("ended", () => {
    audio.srcObject = null;
    context.close().catch(() => {});
  });
}
