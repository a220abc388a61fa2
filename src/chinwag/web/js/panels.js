// The people and chat panels beside the call. Idle, both are shown (on a
// phone, one under the other). In a call the video gets the room: the panels
// fold away and the Chat and People buttons open them (on a phone, chat opens
// as a sheet over the call). The Chat button carries the unread count.

import { S } from "./strings.js";
import { byId, show } from "./ui.js";

/** Wire the panel toggles. onChatShown() runs when the chat comes into view. */
export function createPanels({ onChatShown }) {
  const app = byId("app");
  const chatPanel = byId("chat-panel");
  const buttons = { chat: byId("chat-button"), people: byId("people-button") };
  const badge = byId("chat-unread");

  function isOpen(name) {
    return app.dataset[`panel${name[0].toUpperCase()}${name.slice(1)}`] === "open";
  }

  function set(name, open) {
    app.dataset[`panel${name[0].toUpperCase()}${name.slice(1)}`] = open ? "open" : "closed";
    buttons[name].setAttribute("aria-expanded", String(open));
    buttons[name].dataset.active = String(open);
    if (name === "chat" && open) onChatShown();
  }

  function toggle(name) {
    set(name, !isOpen(name));
  }

  buttons.chat.addEventListener("click", () => toggle("chat"));
  buttons.people.addEventListener("click", () => toggle("people"));
  for (const button of document.querySelectorAll("[data-close-panel]")) {
    button.addEventListener("click", () => set(button.dataset.closePanel, false));
  }
  // Escape in an open panel during a call folds it away.
  for (const name of ["chat", "people"]) {
    byId(`${name}-panel`).addEventListener("keydown", (event) => {
      if (event.key === "Escape" && document.body.dataset.callState !== "idle") set(name, false);
    });
  }

  return {
    toggleChat: () => toggle("chat"),
    togglePeople: () => toggle("people"),
    /**
     * A call starts: fold both panels so the video is as large as it can be;
     * the chat stays if the person is typing in it.
     */
    enterCall() {
      set("chat", chatPanel.contains(document.activeElement));
      set("people", false);
    },
    /** Back to idle: both panels shown again. */
    leaveCall() {
      set("chat", true);
      set("people", true);
    },
    /** Is the chat on screen now? */
    chatVisible: () => chatPanel.getClientRects().length > 0,
    setUnread(count) {
      badge.textContent = count > 99 ? "99+" : String(count);
      buttons.chat.title = count > 0 ? `${S.chat} (C), ${S.unreadBadge(count)}` : `${S.chat} (C)`;
      show(badge, count > 0);
    },
  };
}
