// Test page: the tile grid over one fake-camera stream, driven by the test
// through window.tilesTest.

import { createTileGrid } from "/web/js/tiles.js";

const grid = createTileGrid(document.getElementById("grid"));
const stream = await navigator.mediaDevices.getUserMedia({ video: true, audio: false });

/** Show exactly `names` (the first is us), each playing the fake camera. */
function show(names) {
  for (const name of grid.names()) grid.remove(name);
  names.forEach((name, index) => {
    grid.add(name, { self: index === 0 });
    grid.setStream(name, stream);
  });
}

window.tilesTest = Object.freeze({
  show,
  setMediaState: (name, state) => grid.setMediaState(name, state),
  setSpeaking: (name) => grid.setSpeaking(name),
  pinned: () => grid.pinned(),
});
