// Cameras, microphones and screen sharing. Errors become MediaProblem with a
// reason the call module can act on and words a person can read.

import { S } from "./strings.js";

/** Why local media could not be opened; `reason` maps to call-decline reasons. */
export class MediaProblem extends Error {
  constructor(reason, message, available = { audio: false, video: false }) {
    super(message);
    this.name = "MediaProblem";
    this.reason = reason; // "no-media" | "permission-denied" | "in-use" | "failed"
    this.available = available; // which kinds exist, for an audio-only / video-only offer
  }
}

/** Which kinds of input device exist: {audio, video}. Works before permission. */
export async function availableKinds() {
  const devices = await navigator.mediaDevices.enumerateDevices();
  return {
    audio: devices.some((d) => d.kind === "audioinput"),
    video: devices.some((d) => d.kind === "videoinput"),
  };
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

function constraint(wanted, deviceId) {
  if (!wanted) return false;
  return deviceId ? { deviceId: { exact: deviceId } } : true;
}

/**
 * Open camera and/or microphone. want = {audio, video, audioId, videoId}.
 * Resolves to a MediaStream; rejects with MediaProblem.
 */
export async function openUserMedia(want) {
  if (!navigator.mediaDevices?.getUserMedia) {
    throw new MediaProblem("no-media", S.media.noApi);
  }
  try {
    return await navigator.mediaDevices.getUserMedia({
      audio: constraint(want.audio, want.audioId),
      video: constraint(want.video, want.videoId),
    });
  } catch (error) {
    throw await describe(error, want);
  }
}

async function describe(error, want) {
  switch (error.name) {
    case "NotAllowedError":
    case "SecurityError":
      return deniedProblem(want);
    case "NotReadableError":
    case "AbortError":
      return new MediaProblem(
        "in-use",
        S.media.inUse,
      );
    case "NotFoundError":
    case "OverconstrainedError": {
      const available = await availableKinds().catch(() => ({ audio: false, video: false }));
      const missing = { video: want.video && !available.video, audio: want.audio && !available.audio };
      return new MediaProblem("no-media", S.media.notFound(missing), available);
    }
    default:
      return new MediaProblem("failed", S.media.failed(error.message));
  }
}

/** The state ("granted", "denied", "prompt") of the camera or microphone permission. */
async function permissionState(name) {
  try {
    return (await navigator.permissions.query({ name })).state;
  } catch {
    return "unknown"; // a browser that cannot query this permission
  }
}

/**
 * Permission refused: name the kind(s) refused, and mark as available the
 * wanted kind that stays allowed (camera blocked, microphone allowed), so the
 * call can go on with that kind alone.
 */
async function deniedProblem(want) {
  const camera = want.video ? await permissionState("camera") : "unwanted";
  const microphone = want.audio ? await permissionState("microphone") : "unwanted";
  const refused = { video: camera === "denied", audio: microphone === "denied" };
  const available = { audio: microphone === "granted", video: camera === "granted" };
  return new MediaProblem("permission-denied", S.media.denied(refused), available);
}

/**
 * The one kind a call can go on with when `problem` stopped the other (it is
 * missing, or its permission refused, and the other works): "audio",
 * "video", or "" when there is none (neither works, or both exist yet it failed).
 */
export function fallbackKind(problem) {
  if (!(problem instanceof MediaProblem)) return "";
  if (problem.reason !== "no-media" && problem.reason !== "permission-denied") return "";
  const { available } = problem;
  if (available.audio === available.video) return "";
  return available.audio ? "audio" : "video";
}

/**
 * Open camera and microphone for a call, one-to-one or group alike. devices:
 * the chosen {audioId, videoId}. When one kind cannot be had and the other
 * works (fallbackKind), confirm(problem, kind) decides (a person is asked)
 * whether to go on with that kind alone. Resolves to a MediaStream; rejects
 * with the MediaProblem otherwise.
 */
export async function openCallMedia({ devices = {}, confirm }) {
  try {
    return await openUserMedia({ audio: true, video: true, ...devices });
  } catch (problem) {
    const only = fallbackKind(problem);
    if (!only || !(await confirm(problem, only))) throw problem;
    return openUserMedia({ ...devices, audio: only === "audio", video: only === "video" });
  }
}

/** Open a screen, window or tab to share; resolves to its video track. */
export async function openScreen() {
  const stream = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false });
  return stream.getVideoTracks()[0];
}

/** Open one new track of a kind from a chosen device (for switching mid-call). */
export async function openDeviceTrack(kind, deviceId) {
  const stream = await openUserMedia({
    audio: kind === "audio",
    video: kind === "video",
    audioId: kind === "audio" ? deviceId : undefined,
    videoId: kind === "video" ? deviceId : undefined,
  });
  return kind === "audio" ? stream.getAudioTracks()[0] : stream.getVideoTracks()[0];
}
