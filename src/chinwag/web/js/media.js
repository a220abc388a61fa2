// Cameras, microphones and screen sharing for calls. A device that fails
// becomes a MediaProblem: a reason the call module can act on, and the
// deviceerrors.js words naming the device (the same words as the pre-join
// screen's, so skipping that screen loses nothing).

import { describeFailures } from "./deviceerrors.js";
import { openEach } from "./preview.js";
import { S } from "./strings.js";

/** Why local media could not be opened; `reason` maps to call-decline reasons. */
export class MediaProblem extends Error {
  constructor(reason, message, offer = "") {
    super(message);
    this.name = "MediaProblem";
    this.reason = reason; // "no-media" | "permission-denied" | "in-use" | "failed"
    this.offer = offer; // what still works: "video-only" | "audio-only" | "listen-only" | ""
  }
}

/** Cameras, microphones and speakers, for the device pickers: {cameras, microphones, speakers}. */
export async function listDevices() {
  const devices = await navigator.mediaDevices.enumerateDevices();
  const pick = (kind, fallback) =>
    devices
      .filter((d) => d.kind === kind)
      .map((d, i) => ({ id: d.deviceId, label: d.label || `${fallback} ${i + 1}` }));
  return {
    cameras: pick("videoinput", S.camera),
    microphones: pick("audioinput", S.microphone),
    speakers: pick("audiooutput", S.prejoin.speaker),
  };
}

/** The call-decline reason (docs/protocol.md) for a deviceerrors.js reason. */
const DECLINE_REASONS = { denied: "permission-denied", "in-use": "in-use", "not-found": "no-media", insecure: "no-media" };

/**
 * A MediaProblem from openEach's failures, in deviceerrors.js words: each
 * failed device named, then the browser's steps when a permission was refused.
 * `offer` ("video-only", "audio-only", "listen-only") is what still works.
 */
function problemOf(failures, wanted) {
  const { problems, offer, howToAllow } = describeFailures(failures, wanted, navigator.userAgent);
  const words = [...problems.map((p) => p.words), howToAllow].filter(Boolean).join(" ");
  return new MediaProblem(DECLINE_REASONS[problems[0].reason] ?? "failed", words, offer);
}

/**
 * Open camera and microphone for a call, one-to-one or group alike, each
 * kind on its own when both together fail (preview.js openEach, as the
 * pre-join screen does), so a failure names its device. devices: the chosen
 * {audio, video, audioId, videoId}. When a device fails, confirm(problem,
 * offer) decides (a person is asked) whether to go on with what works
 * ("video-only", "audio-only" or "listen-only"). Resolves to a MediaStream
 * (maybe without tracks: listening only); rejects with the MediaProblem.
 */
export async function openCallMedia({ devices = {}, confirm }) {
  const want = { audio: true, video: true, ...devices };
  const { stream, failures } = await openEach(want);
  if (!failures.audio && !failures.video) return stream;
  const problem = problemOf(failures, want);
  if (await confirm(problem, problem.offer)) return stream;
  for (const track of stream.getTracks()) track.stop();
  throw problem;
}

/** Open a screen, window or tab to share; resolves to its video track. */
export async function openScreen() {
  const stream = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false });
  return stream.getVideoTracks()[0];
}

/** Open one new track of a kind from a chosen device (for switching mid-call); rejects with a MediaProblem naming it. */
export async function openDeviceTrack(kind, deviceId) {
  const want = { audio: kind === "audio", video: kind === "video", [kind === "audio" ? "audioId" : "videoId"]: deviceId };
  const { stream, failures } = await openEach(want, { exact: true });
  if (failures[kind]) throw problemOf(failures, want);
  return stream.getTracks()[0];
}
