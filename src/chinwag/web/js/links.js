// Chat text with its web addresses made clickable, and nothing else: only
// http: and https: URLs (and bare www. addresses, taken as https:) become
// links, every other character stays text. Links to elsewhere open in a new
// tab with rel="noopener noreferrer", so the opened page gets no handle on
// this one and no Referer. A link to a room of this server stays in the tab:
// rooms.js moves to that room in place, with the same session.

import { el } from "./ui.js";

const URL_PATTERN = /\bhttps?:\/\/[^\s<>"'`]+|\bwww\.[^\s<>"'`]+/gi;
const TRAILING_PUNCTUATION = /[.,;:!?)\]}]+$/;

/** A fragment of text nodes and <a> elements for text. */
export function linkify(text) {
  const fragment = document.createDocumentFragment();
  let last = 0;
  for (const match of text.matchAll(URL_PATTERN)) {
    const candidate = match[0].replace(TRAILING_PUNCTUATION, "");
    const href = safeHref(/^www\./i.test(candidate) ? `https://${candidate}` : candidate);
    if (!href) continue;
    fragment.append(text.slice(last, match.index));
    const here = new URL(href).origin === window.location.origin;
    fragment.append(el("a", here ? { href } : { href, rel: "noopener noreferrer", target: "_blank" }, candidate));
    last = match.index + candidate.length;
  }
  fragment.append(text.slice(last));
  return fragment;
}

function safeHref(candidate) {
  try {
    const url = new URL(candidate);
    return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
  } catch {
    return null;
  }
}
