// Why a camera or microphone could not be opened, named per device, and what
// can still be done. Pure: it maps the DOMException names getUserMedia gives
// (one attempt per kind, so a broken microphone is told apart from a broken
// camera) to a reason, words a person can read, and an offer (video only,
// audio only, listen only). Used by the pre-join screen, /check and media.js.

import { S } from "./strings.js";

/** The reasons, by getUserMedia error name. */
const REASONS = {
  NotAllowedError: "denied",
  SecurityError: "denied",
  PermissionDeniedError: "denied", // older Chromium
  NotReadableError: "in-use",
  TrackStartError: "in-use", // older Chromium
  AbortError: "in-use",
  NotFoundError: "not-found",
  DevicesNotFoundError: "not-found",
  OverconstrainedError: "not-found", // the remembered device is gone
  insecure: "insecure",
};

/** The reason ("denied", "in-use", "not-found", "insecure", "failed") for an error of getUserMedia. */
export function reasonOf(error) {
  return REASONS[error?.name ?? ""] ?? "failed";
}

/** Which browser family the page runs in, for the permission instructions. */
export function browserFamily(userAgent) {
  if (/Firefox\//.test(userAgent)) return "firefox";
  if (/Edg\//.test(userAgent)) return "edge";
  if (/Chrome\/|Chromium\//.test(userAgent)) return "chrome";
  if (/Safari\//.test(userAgent)) return "safari";
  return "other";
}

/**
 * What went wrong with each kind and what is left. failures: {audio, video},
 * each an Error from getUserMedia or null (that kind opened, or was not wanted);
 * wanted: {audio, video}. Returns {problems: [{kind, reason, words}], offer,
 * howToAllow}: offer is "video-only", "audio-only", "listen-only" or "" (nothing
 * failed); howToAllow is the browser's steps when a permission was refused.
 */
export function describeFailures(failures, wanted = { audio: true, video: true }, userAgent = "") {
  let problems = [];
  for (const kind of ["audio", "video"]) {
    const error = failures[kind];
    if (!wanted[kind] || !error) continue;
    const reason = reasonOf(error);
    problems.push({ kind, reason, words: S.device[reason](kind, error.message ?? "") });
  }
  // Both kinds failed the same way: one sentence naming both.
  if (problems.length === 2 && problems[0].reason === problems[1].reason) {
    const { reason } = problems[0];
    problems = [{ kind: "both", reason, words: S.device[reason]("both", "") }];
  }
  const works = (kind) => wanted[kind] && !failures[kind];
  let offer = "";
  if (problems.length) offer = works("video") ? "video-only" : works("audio") ? "audio-only" : "listen-only";
  const denied = problems.some((p) => p.reason === "denied");
  return { problems, offer, howToAllow: denied ? S.howToAllow[browserFamily(userAgent)] : "" };
}
