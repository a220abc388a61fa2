// The room call's tile grid: one tile per participant (video, name, muted /
// camera-off / screen markers, speaking highlight, pin button, and for each
// other person their link's quality and state, which linkhealth.js sets). The layout
// adapts to the count (layoutFor); room.css does the rest, including the
// phone layout (a scrolling two-column grid). Names go in as text only.
//
// Whether a tile can be seen (grid.shown): an IntersectionObserver says when
// a tile scrolls out of the grid or the viewport or stops being laid out
// (display: none), and a hit test at a few points of it says when something
// lies over it (a panel over the stage on a phone). An SFU call asks nothing
// of Janus for a tile that cannot be seen (roomsfu.js), and such a tile shows
// the person's initial (grid.setPaused) rather than a frozen frame.

import { S } from "./strings.js";
import { el, paintAvatar } from "./ui.js";

/** Every user-facing string of the tiles: strings.js's S.tiles (a translation replaces it). */
export const TILE_WORDS = S.tiles;

const MARKERS = [
  ["muted", (state) => state.audio === false],
  ["cameraOff", (state) => state.video === false],
  ["screen", (state) => state.screen === true],
];

/**
 * Columns and rows for `count` tiles on a wide screen: 1 one stage, 2 side
 * by side, 3-4 2x2, 5-6 3x2, 7-9 3x3 (and square-ish beyond).
 */
export function layoutFor(count) {
  const n = Math.max(1, count);
  const columns = n <= 1 ? 1 : n <= 4 ? 2 : n <= 9 ? 3 : Math.ceil(Math.sqrt(n));
  return { columns, rows: Math.ceil(n / columns) };
}

/** Three bars, coloured by style.css's .quality rules (as on the one-to-one call screen). */
function qualityMeter(label) {
  const meter = el("span", { class: "quality", role: "img", "data-quality": "unknown", "aria-label": label, title: label });
  meter.append(el("span"), el("span"), el("span"));
  return meter;
}

/**
 * Build the grid inside `container` (emptied). onPin(name | null) is told
 * when a pin button changes the pinned tile. Returns the grid object below.
 */
export function createTileGrid(container, { words = TILE_WORDS, qualityWords = S.quality, onPin = () => {} } = {}) {
  const tiles = new Map(); // name -> {element, video, markers, pinButton}
  let pinned = null;
  const onScreen = new Set(); // names whose tile intersects the viewport (IntersectionObserver)
  const shownWatchers = new Set();
  let observer = null; // only while someone watches (an SFU call)
  container.replaceChildren();
  container.classList.add("room-grid");

  function relayout() {
    const others = pinned ? tiles.size - 1 : tiles.size;
    const { columns, rows } = layoutFor(tiles.size);
    container.dataset.count = String(tiles.size);
    container.style.setProperty("--room-columns", String(columns));
    container.style.setProperty("--room-rows", String(rows));
    container.style.setProperty("--room-strip", String(Math.max(1, others)));
    if (pinned) container.dataset.pinned = pinned;
    else delete container.dataset.pinned;
    // An incomplete last row is centred (three tiles: two above, one in the
    // middle below, no empty quarter): room.css gives each tile two of twice
    // as many columns, and the row's first tile starts this far in.
    const shortRow = tiles.size % columns;
    container.style.setProperty("--room-centre-start", String(1 + columns - shortRow));
    let index = 0;
    for (const [name, tile] of tiles) {
      tile.element.toggleAttribute("data-centre", shortRow > 0 && index === tiles.size - shortRow);
      index += 1;
      const isPinned = name === pinned;
      tile.element.dataset.pinned = String(isPinned);
      tile.pinButton.setAttribute("aria-pressed", String(isPinned));
    }
  }

  function buildTile(name, self) {
    const element = el("section", { class: "room-tile", "aria-label": name, "data-self": self });
    const video = el("video", { autoplay: true, playsinline: true });
    video.muted = self; // our own voice would echo
    const avatar = paintAvatar(el("div", { class: "room-tile-avatar", "aria-hidden": "true" }), name);
    const markerList = el("ul", { class: "room-tile-markers" });
    const markers = {};
    for (const [key] of MARKERS) {
      markers[key] = el("li", { class: "room-tile-marker", "data-marker": key, hidden: true }, words[key]);
      markerList.append(markers[key]);
    }
    const speaking = el("span", { class: "room-tile-speaking", hidden: true }, words.speaking);
    const hand = el("span", { class: "room-tile-hand", hidden: true });
    const reaction = el("span", { class: "room-tile-reaction", role: "img", hidden: true });
    const label = el("span", { class: "room-tile-name" }, self ? words.you(name) : name);
    // Our own tile has no link, so no quality and no link status.
    const quality = self ? null : qualityMeter(qualityWords.unknown);
    if (quality) label.append(quality);
    const status = el("div", { class: "room-tile-status", role: "status", hidden: true });
    const pinButton = el(
      "button",
      { class: "room-tile-pin", type: "button", "aria-pressed": "false", "aria-label": words.pin(name) },
      words.pinButton,
    );
    pinButton.addEventListener("click", () => {
      grid.pin(pinned === name ? null : name);
      onPin(pinned);
    });
    element.append(video, avatar, markerList, label, speaking, hand, reaction, status, pinButton);
    return { element, video, markers, speaking, pinButton, quality, status, hand, reaction };
  }

  const grid = {
    element: container,
    /** Add a tile (in call order: add in join order); self: our own, muted. */
    add(name, { self = false } = {}) {
      if (tiles.has(name)) return;
      const tile = buildTile(name, self);
      tiles.set(name, tile);
      container.append(tile.element);
      observer?.observe(tile.element);
      relayout();
    },
    /** Remove `name`'s tile; a pinned tile unpins. */
    remove(name) {
      const tile = tiles.get(name);
      if (!tile) return;
      tile.video.srcObject = null;
      observer?.unobserve(tile.element);
      onScreen.delete(name);
      tile.element.remove();
      tiles.delete(name);
      if (pinned === name) pinned = null;
      relayout();
    },
    /** Show `stream` (video and, for others, their sound) on `name`'s tile. */
    setStream(name, stream) {
      const tile = tiles.get(name);
      if (!tile || tile.video.srcObject === stream) return;
      tile.video.srcObject = stream;
      tile.video.play().catch(() => {}); // autoplay refused: the next user gesture plays it
    },
    /** Markers from a `media-state` {audio, video, screen}; camera off shows the initial. */
    setMediaState(name, state) {
      const tile = tiles.get(name);
      if (!tile) return;
      for (const [key, shows] of MARKERS) tile.markers[key].hidden = !shows(state);
      tile.element.dataset.cameraOff = String(state.video === false);
      tile.video.dataset.screen = String(state.screen === true);
    },
    /** Highlight the active speaker (null: nobody). */
    setSpeaking(name) {
      for (const [tileName, tile] of tiles) {
        const speaking = tileName === name;
        tile.element.dataset.speaking = String(speaking);
        tile.speaking.hidden = !speaking;
      }
    },
    /** The link's quality word (stats.js rateQuality: good, fair, poor, unknown) on `name`'s tile. */
    setQuality(name, word) {
      const meter = tiles.get(name)?.quality;
      if (!meter) return;
      meter.dataset.quality = word;
      meter.setAttribute("aria-label", qualityWords[word] ?? qualityWords.unknown);
      meter.title = meter.getAttribute("aria-label");
    },
    /**
     * The link's state across `name`'s tile: null (fine), or {kind:
     * "reconnecting" | "problem", text, action: [label, onClick] (optional)}.
     */
    setLinkStatus(name, status) {
      const tile = tiles.get(name);
      if (!tile) return;
      tile.element.dataset.link = status?.kind ?? "ok";
      tile.status.hidden = !status;
      tile.status.replaceChildren();
      if (!status) return;
      tile.status.append(el("p", {}, status.text));
      if (status.action) {
        const [label, onClick] = status.action;
        const button = el("button", { type: "button", class: "room-tile-action" }, label);
        button.addEventListener("click", onClick);
        tile.status.append(button);
      }
    },
    /** A raised hand on `name`'s tile: its place in line (0: none). */
    setHand(name, place) {
      const tile = tiles.get(name);
      if (!tile) return;
      tile.hand.hidden = !place;
      tile.hand.textContent = place ? words.hand(place) : "";
      tile.element.dataset.hand = place ? String(place) : "";
    },
    /** A reaction over `name`'s tile for `ms`. */
    react(name, emoji, ms) {
      const tile = tiles.get(name);
      if (!tile) return;
      tile.reaction.textContent = emoji;
      tile.reaction.setAttribute("aria-label", words.reaction(name, emoji));
      tile.reaction.hidden = false;
      clearTimeout(tile.reactionTimer);
      tile.reactionTimer = setTimeout(() => (tile.reaction.hidden = true), ms);
    },
    /** Make `name`'s tile the large one (null: back to the even grid). */
    pin(name) {
      pinned = name !== null && tiles.has(name) ? name : null;
      relayout();
    },
    pinned: () => pinned,
    names: () => [...tiles.keys()],
    /** How wide `name`'s tile is on screen, in CSS pixels (0: not shown). */
    width: (name) => tiles.get(name)?.element.clientWidth ?? 0,
    /** Whether any of `name`'s tile can be seen: on screen, laid out, not under something else. */
    shown(name) {
      const tile = tiles.get(name);
      if (!tile || tile.element.clientWidth <= 0) return false;
      if (observer && !onScreen.has(name)) return false;
      return !covered(tile.element);
    },
    /** Show `name`'s initial instead of its video (paused: none arrives, the last frame would freeze). */
    setPaused(name, paused) {
      const tile = tiles.get(name);
      if (tile) tile.element.dataset.paused = String(paused);
    },
    /** handler() runs when a tile scrolls into or out of view. Returns a function that stops it. */
    watchShown(handler) {
      shownWatchers.add(handler);
      observer ??= observeTiles();
      return () => {
        shownWatchers.delete(handler);
        if (shownWatchers.size || !observer) return;
        observer.disconnect();
        observer = null;
        onScreen.clear();
      };
    },
  };

  function observeTiles() {
    if (typeof IntersectionObserver !== "function") return null; // every tile counts as on screen
    const seen = new IntersectionObserver((entries) => {
      for (const entry of entries) {
        const name = [...tiles].find(([, tile]) => tile.element === entry.target)?.[0];
        if (name === undefined) continue; // removed meanwhile
        if (entry.isIntersecting) onScreen.add(name);
        else onScreen.delete(name);
      }
      for (const handler of shownWatchers) handler();
    });
    for (const tile of tiles.values()) seen.observe(tile.element);
    return seen;
  }
  relayout();
  return grid;
}

// Points of a tile (its middle and near its corners, within the viewport) hit-tested for `covered`.
const PROBES = [[0.5, 0.5], [0.1, 0.1], [0.9, 0.1], [0.1, 0.9], [0.9, 0.9]];

/** Whether something else (a panel over the stage) lies over every probed point of `element`. */
function covered(element) {
  const box = element.getBoundingClientRect();
  const left = Math.max(box.left, 0);
  const top = Math.max(box.top, 0);
  const right = Math.min(box.right, window.innerWidth);
  const bottom = Math.min(box.bottom, window.innerHeight);
  if (right <= left || bottom <= top) return true;
  return PROBES.every(([x, y]) => {
    const hit = document.elementFromPoint(left + x * (right - left), top + y * (bottom - top));
    return !hit || !element.contains(hit);
  });
}

/**
 * Keep `grid` in step with a RoomCall (mesh.js): a tile per participant, their
 * stream and media state. Our own tile is the caller's to add. Returns a
 * function that stops following.
 */
export function followRoomCall(grid, call) {
  const stops = [
    call.on("participant-added", ({ name }) => grid.add(name)),
    call.on("participant-removed", ({ name }) => grid.remove(name)),
    call.on("track", ({ name, stream }) => grid.setStream(name, stream)),
    call.on("media-state", ({ name, ...state }) => grid.setMediaState(name, state)),
  ];
  return () => stops.forEach((stop) => stop());
}
