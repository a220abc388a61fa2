// The small picture of yourself in a call: movable (drag with a pointer, or
// arrow keys when focused), mirrored for the camera as a mirror would be but
// never for a shared screen, with a "You are muted" marker.

import { S } from "./strings.js";
import { show } from "./ui.js";

const KEY_STEP_PX = 24;
const MOVES = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };

/** Wire the self-view box inside its container (the videos area). */
export function createSelfView({ box, video, mutedMarker, container }) {
  let offset = { x: 0, y: 0 }; // from the box's resting place (bottom right)
  let drag = null;

  box.tabIndex = 0;

  // Keep the box inside the container however it is moved or resized.
  function place(x, y) {
    const area = container.getBoundingClientRect();
    const rest = box.getBoundingClientRect();
    const restLeft = rest.left - offset.x;
    const restTop = rest.top - offset.y;
    const minX = area.left - restLeft;
    const maxX = area.right - rest.width - restLeft;
    const minY = area.top - restTop;
    const maxY = area.bottom - rest.height - restTop;
    offset = { x: Math.min(maxX, Math.max(minX, x)), y: Math.min(maxY, Math.max(minY, y)) };
    box.style.transform = `translate(${offset.x}px, ${offset.y}px)`;
  }

  box.addEventListener("pointerdown", (event) => {
    if (event.button !== 0) return;
    box.setPointerCapture(event.pointerId);
    drag = { startX: event.clientX - offset.x, startY: event.clientY - offset.y };
    box.dataset.dragging = "true";
  });
  box.addEventListener("pointermove", (event) => {
    if (drag) place(event.clientX - drag.startX, event.clientY - drag.startY);
  });
  const stop = () => {
    drag = null;
    box.dataset.dragging = "false";
  };
  box.addEventListener("pointerup", stop);
  box.addEventListener("pointercancel", stop);
  box.addEventListener("keydown", (event) => {
    const move = MOVES[event.key];
    if (!move) return;
    event.preventDefault();
    place(offset.x + move[0] * KEY_STEP_PX, offset.y + move[1] * KEY_STEP_PX);
  });
  window.addEventListener("resize", () => place(offset.x, offset.y));

  return {
    /** Show a camera stream (mirrored) or a screen (as it is). */
    setSource(stream, source) {
      video.srcObject = stream;
      box.dataset.source = source;
      video.setAttribute("aria-label", source === "screen" ? S.yourScreen : S.yourCamera);
    },
    setMuted(muted) {
      show(mutedMarker, muted);
    },
    setSpeaking(speaking) {
      box.dataset.speaking = String(speaking);
    },
    reset() {
      video.srcObject = null;
      box.dataset.source = "camera";
      show(mutedMarker, false);
      offset = { x: 0, y: 0 };
      box.style.transform = "";
    },
  };
}
