// The health of each link of a room call (mesh.js), shown on that person's
// tile: the link's quality (three bars), "Reconnecting…" while it is
// disconnected or restarting ICE, and, when it fails or connects with
// nothing arriving, one short sentence saying why with a Copy report button.
// The policy itself (when to restart ICE, when to give up, what the problem
// is) is the peer link's (peerlink.js), the same as a one-to-one call's; this
// module only shows it and counts the reports. docs/web-client.md, "Group
// calls: link health".

import { S } from "./strings.js";

/** A person cannot copy or read more than this many failure reports per call: also the server's rate. */
const MAX_REPORTS = 5;

/**
 * Follow every link of `mesh` (a RoomCall) onto `grid` (tiles.js).
 * send(msg): to the server (`call-report`); copy(details): puts a report on
 * the clipboard; log(text). Returns {stop(), problem(name)}.
 */
export function watchLinks({ mesh, grid, send, copy, log = () => {} }) {
  const links = new Map(); // name -> {name, link, offerer, problem, stops}
  let reports = 0;

  function added({ name, offerer, link }) {
    const watched = { name, link, offerer, problem: "" };
    links.set(name, watched);
    watched.stops = [
      link.on("quality", ({ word }) => !watched.problem && grid.setQuality(name, word)),
      link.on("state", ({ state }) => stateChanged(watched, state)),
      link.on("failed", ({ problem }) => fail(watched, problem)),
      link.on("silent", () => fail(watched, "one-way-media")),
    ];
  }

  function removed({ name }) {
    const watched = links.get(name);
    if (!watched) return;
    links.delete(name);
    for (const stop of watched.stops) stop();
  }

  function stateChanged(watched, state) {
    if (state === "connected" && watched.problem !== "one-way-media") {
      watched.problem = ""; // a link that connects after all is fine again
      grid.setLinkStatus(watched.name, null);
    } else if (state === "reconnecting" && !watched.problem) {
      grid.setLinkStatus(watched.name, { kind: "reconnecting", text: S.tiles.reconnecting });
    }
  }

  /**
   * Name the link's problem on its tile, once. The server counts a link's
   * failure once: the pair's offerer reports what both sides see; one-way
   * media is seen (and reported) only by the side that receives nothing.
   */
  function fail(watched, problem) {
    if (watched.problem) return;
    watched.problem = problem;
    grid.setQuality(watched.name, "poor"); // not "measuring": it was measured, and failed
    const words = (S.linkProblem[problem] ?? S.linkProblem["connection-lost"])(watched.name);
    log(`${watched.name}: ${problem}`);
    const details = watched.link.report({ peer: watched.name, groupCall: true, problem, words });
    grid.setLinkStatus(watched.name, { kind: "problem", text: words, action: [S.copyReport, () => copy(details)] });
    const seenByBoth = problem !== "one-way-media";
    if ((watched.offerer || !seenByBoth) && reports < MAX_REPORTS) {
      reports += 1;
      send({ type: "call-report", target: watched.name, outcome: "failed", reason: problem });
    }
  }

  const stops = [mesh.on("participant-added", added), mesh.on("participant-removed", removed)];
  return {
    /** Stop following (the call is over). */
    stop() {
      for (const stop of stops) stop();
      for (const name of [...links.keys()]) removed({ name });
    },
    /** The problem code named on `name`'s tile, or "" (test hook). */
    problem: (name) => links.get(name)?.problem ?? "",
  };
}
