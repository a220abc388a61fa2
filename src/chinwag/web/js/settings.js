// The settings sheet (camera, microphone, theme, ringtone, relay only,
// diagnostics) and the help dialog. Choices that outlive the page are saved
// in localStorage; device choice follows the tracks in use.

import { listDevices } from "./media.js";
import { saved } from "./store.js";
import { byId, el } from "./ui.js";

/** Open `dialog` as a modal; its [data-close-dialog] buttons and Escape close it. */
export function wireDialog(dialog) {
  for (const button of dialog.querySelectorAll("[data-close-dialog]")) {
    button.addEventListener("click", () => dialog.close());
  }
  // A click on the backdrop (outside the sheet's box) closes it too.
  dialog.addEventListener("click", (event) => {
    if (event.target === dialog) dialog.close();
  });
  return {
    toggle() {
      if (dialog.open) dialog.close();
      else dialog.showModal();
    },
  };
}

function applyTheme(theme) {
  if (theme === "light" || theme === "dark") document.documentElement.dataset.theme = theme;
  else delete document.documentElement.dataset.theme;
}

/**
 * Create the settings. params: the page's URL parameters (relay=1).
 * Returns {openSettings(), toggleHelp(), relayOnly(), chosenDevices(),
 * showDevicesInUse(stream), onDeviceChange(fn), refreshDevices()}.
 */
export function createSettings(params) {
  const settings = wireDialog(byId("settings-dialog"));
  const help = wireDialog(byId("help-dialog"));
  const pickers = { video: byId("camera-select"), audio: byId("mic-select") };
  const inUse = { video: "", audio: "" };
  const relay = byId("relay-only");
  const ring = byId("ring-sound");
  const theme = byId("theme-select");
  const prejoin = byId("prejoin-setting");
  let deviceChanged = () => {};

  relay.checked = params.get("relay") === "1" || saved.get("relayOnly", false);
  relay.addEventListener("change", () => saved.set("relayOnly", relay.checked));
  ring.checked = saved.get("ringSound", true);
  ring.addEventListener("change", () => saved.set("ringSound", ring.checked));
  prejoin.checked = saved.get("prejoin", true);
  prejoin.addEventListener("change", () => saved.set("prejoin", prejoin.checked));
  // The pre-join screen can change it too ("Join straight away next time"): read it again on opening.
  for (const id of ["settings-button", "call-settings-button"]) {
    byId(id).addEventListener("click", () => (prejoin.checked = saved.get("prejoin", true)));
  }
  theme.value = saved.get("theme", "system");
  applyTheme(theme.value);
  theme.addEventListener("change", () => {
    saved.set("theme", theme.value);
    applyTheme(theme.value);
  });
  for (const [kind, select] of Object.entries(pickers)) {
    select.addEventListener("change", () => {
      inUse[kind] = select.value;
      deviceChanged(kind, select.value);
    });
  }

  async function refreshDevices() {
    const { cameras, microphones } = await listDevices().catch(() => ({ cameras: [], microphones: [] }));
    const fill = (kind, devices) => {
      const select = pickers[kind];
      const keep = inUse[kind] || select.value;
      select.replaceChildren(...devices.map((d) => el("option", { value: d.id }, d.label)));
      if (devices.some((d) => d.id === keep)) select.value = keep;
    };
    fill("video", cameras);
    fill("audio", microphones);
  }

  refreshDevices();
  navigator.mediaDevices?.addEventListener?.("devicechange", refreshDevices);
  byId("settings-button").addEventListener("click", settings.toggle);
  byId("call-settings-button").addEventListener("click", settings.toggle);
  byId("help-button").addEventListener("click", help.toggle);

  return {
    toggleSettings: settings.toggle,
    toggleHelp: help.toggle,
    relayOnly: () => relay.checked,
    chosenDevices: () => ({ videoId: pickers.video.value || undefined, audioId: pickers.audio.value || undefined }),
    /** Point each picker at the device its track comes from. */
    showDevicesInUse(stream) {
      for (const track of stream.getTracks()) {
        const id = track.getSettings().deviceId;
        if (!id || !(track.kind in pickers)) continue;
        inUse[track.kind] = id;
        const select = pickers[track.kind];
        if ([...select.options].some((option) => option.value === id)) select.value = id;
      }
    },
    /** fn(kind, deviceId) runs when a person picks another device. */
    onDeviceChange(fn) {
      deviceChanged = fn;
    },
    refreshDevices,
  };
}
