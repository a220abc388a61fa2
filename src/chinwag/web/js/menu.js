// A menu button (WAI-ARIA "menu button" pattern): the call bar's "More",
// which holds the secondary controls so the primary ones (mute, camera,
// share, leave) always fit. Enter, Space or ArrowDown opens it with the focus
// on the first item, ArrowUp on the last; arrows, Home and End move; Escape
// or Tab closes it; choosing an item runs it and closes the menu.

import { show } from "./ui.js";

const GAP_PX = 8; // between the menu and its button, and the menu and the window's edge

/**
 * Wire `button` (aria-haspopup="menu") to open `menu` (role="menu" with
 * role="menuitem" buttons), above the button or, with below, under it.
 */
export function createMenuButton(button, menu, { below = false } = {}) {
  const items = () => [...menu.querySelectorAll('[role="menuitem"]')].filter((item) => !item.hidden);

  function setOpen(open, focus = "") {
    show(menu, open);
    button.setAttribute("aria-expanded", String(open));
    button.dataset.active = String(open);
    if (!open) return;
    place();
    const list = items();
    if (focus === "first") list[0]?.focus();
    if (focus === "last") list.at(-1)?.focus();
  }

  // Above the button (the call bar is at the bottom) or below it (the top
  // bar), its right edge at the button's, kept inside the window. Fixed, so
  // no panel or stage clips it.
  function place() {
    const anchor = button.getBoundingClientRect();
    const width = menu.offsetWidth;
    const left = Math.min(Math.max(GAP_PX, anchor.right - width), window.innerWidth - width - GAP_PX);
    menu.style.left = `${Math.max(GAP_PX, left)}px`;
    if (below) menu.style.top = `${anchor.bottom + GAP_PX}px`;
    else menu.style.bottom = `${window.innerHeight - anchor.top + GAP_PX}px`;
  }

  function close({ refocus = true } = {}) {
    if (menu.hidden) return;
    setOpen(false);
    if (refocus) button.focus();
  }

  button.addEventListener("click", () => (menu.hidden ? setOpen(true, "first") : close()));
  button.addEventListener("keydown", (event) => {
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      setOpen(true, event.key === "ArrowDown" ? "first" : "last");
    }
  });
  menu.addEventListener("keydown", (event) => {
    const list = items();
    const at = list.indexOf(document.activeElement);
    const moves = {
      ArrowDown: () => list[(at + 1) % list.length],
      ArrowUp: () => list[(at - 1 + list.length) % list.length],
      Home: () => list[0],
      End: () => list.at(-1),
    };
    if (moves[event.key]) {
      event.preventDefault();
      moves[event.key]()?.focus();
    } else if (event.key === "Escape") {
      event.preventDefault();
      event.stopPropagation(); // Escape closes the menu, not the call's panels
      close();
    } else if (event.key === "Tab") {
      close({ refocus: false });
    }
  });
  // An item runs its own click handler; the menu closes after it.
  menu.addEventListener("click", (event) => {
    if (event.target instanceof Element && event.target.closest('[role="menuitem"]')) close({ refocus: false });
  });
  // A click anywhere else closes it.
  document.addEventListener("pointerdown", (event) => {
    if (!menu.hidden && event.target instanceof Node && !menu.contains(event.target) && !button.contains(event.target)) {
      close({ refocus: false });
    }
  });

  window.addEventListener("resize", () => close({ refocus: false }));

  return { close: () => close({ refocus: false }) };
}
