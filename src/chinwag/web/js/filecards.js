// File cards in the chat: one per file offered to us or by us (filetransfer.js
// moves the bytes). A card shows the file's name (user text: inserted as
// text), its size, a progress bar and what can be done now: Accept and
// Decline for an offer, Cancel while it goes, Save (a blob: link named after
// the file) once its SHA-256 is verified.

import { S } from "./strings.js";
import { el, icon } from "./ui.js";

const ACTIVE = new Set(["waiting", "connecting", "sending", "receiving", "checking"]);

/** "5.0 MB", "12 KB", "300 bytes". */
export function formatBytes(bytes) {
  if (bytes < 1000) return S.fileBytes(bytes);
  if (bytes < 1000 * 1000) return `${(bytes / 1000).toFixed(0)} KB`;
  if (bytes < 1000 * 1000 * 1000) return `${(bytes / 1000 / 1000).toFixed(1)} MB`;
  return `${(bytes / 1000 / 1000 / 1000).toFixed(2)} GB`;
}

/** A file name safe as a download name: no path separators or control characters. */
export function downloadName(name) {
  // eslint-disable-next-line no-control-regex
  const cleaned = String(name).replace(/[\u0000-\u001f\u007f/\\:*?"<>|]/g, "_").replace(/^\.+/, "").trim();
  return cleaned.slice(0, 200) || "file";
}

/** addItem(element) puts a new card in the chat; actions: {accept, decline, cancel}(key). */
export function createFileCards({ addItem, actions }) {
  const cards = new Map(); // key -> {item, parts}

  function build(transfer) {
    const item = el("li", { class: "file-card", "data-file": transfer.key, "data-direction": transfer.direction });
    const title = el("p", { class: "file-name" });
    title.append(icon("file"), el("span", { class: "name" }, transfer.name));
    const who = el("p", { class: "file-meta" });
    const bar = el("progress", { max: String(Math.max(1, transfer.size)), value: "0", "aria-label": S.fileProgress(transfer.name) });
    const status = el("p", { class: "file-status", role: "status" });
    const buttons = el("div", { class: "file-actions" });
    item.append(title, who, bar, status, buttons);
    return { item, who, bar, status, buttons };
  }

  function button(label, kind, onClick) {
    const b = el("button", { type: "button", class: kind }, label);
    b.addEventListener("click", onClick);
    return b;
  }

  function render(transfer) {
    let card = cards.get(transfer.key);
    if (!card) {
      card = build(transfer);
      cards.set(transfer.key, card);
      addItem(card.item, transfer.direction === "in");
    }
    const { item, who, bar, status, buttons } = card;
    item.dataset.state = transfer.state;
    const size = formatBytes(transfer.size);
    who.textContent = transfer.direction === "in" ? S.fileFrom(transfer.peer, size) : S.fileTo(transfer.peer || S.everyone, size);
    bar.value = transfer.done;
    bar.hidden = !ACTIVE.has(transfer.state);
    status.textContent = S.fileState(transfer);
    // The buttons change with the state only: progress alone must not take a focused Cancel away.
    const shown = `${transfer.state}/${Boolean(transfer.url)}`;
    if (card.shown === shown) return;
    card.shown = shown;
    const key = transfer.key;
    const controls = [];
    if (transfer.state === "offered") {
      controls.push(button(S.accept, "primary", () => actions.accept(key)), button(S.decline, "", () => actions.decline(key)));
    }
    if (ACTIVE.has(transfer.state)) controls.push(button(S.cancel, "", () => actions.cancel(key)));
    if (transfer.state === "verified" && transfer.url) {
      const save = el("a", { class: "button primary", href: transfer.url, download: downloadName(transfer.name) }, S.fileSave);
      controls.push(save);
    }
    buttons.replaceChildren(...controls);
  }

  return { render };
}
