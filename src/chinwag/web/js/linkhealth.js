// The health of each link of a room call (mesh.js), shown on that person's
// tile: a connection-quality indicator (stats.js's rating, as for a
// one-to-one call), "Reconnecting…" while the link is disconnected or
// restarting ICE, and, when it cannot connect or connects with nothing
// arriving, one short sentence saying why (diagnosis.js's reasoning, fed by
// callprobe.js) with a Copy report button. docs/web-client.md, "Group calls:
// link health".
//
// Per link: a "failed" link restarts ICE once (the pair's offerer does it, so
// two restarts never cross); one that has not connected connectTimeoutMs after
// it was made, or after its restart, gives up and names its problem. A
// relay-only link that gathered no relay candidate names it at once.

import { createCallProbe } from "./callprobe.js";
import { createQualityMeter } from "./stats.js";
import { S } from "./strings.js";

/** A person cannot copy or read more than this many failure reports per call: also the server's rate. */
const MAX_REPORTS = 5;

/**
 * Follow every link of `mesh` (a RoomCall) onto `grid` (tiles.js).
 * config: the RTCConfiguration of the links ({iceServers, iceTransportPolicy});
 * send(msg): to the server (`call-report`); timing: {iceGraceMs,
 * connectTimeoutMs}; copy(details): puts a report on the clipboard; log(text).
 * Returns {stop(), problem(name)}.
 */
export function watchLinks({ mesh, grid, config, send, timing, copy, log = () => {} }) {
  const links = new Map(); // name -> {name, pc, offerer, probe, timers, meter, ...}
  const relayOnly = config.iceTransportPolicy === "relay";
  let reports = 0;

  function later(link, ms, fn) {
    const id = setTimeout(() => {
      link.timers.delete(id);
      if (links.get(link.name) === link) fn();
    }, ms);
    link.timers.add(id);
  }

  function clearTimers(link) {
    for (const id of link.timers) clearTimeout(id);
    link.timers.clear();
  }

  function added({ name, offerer, pc }) {
    const link = { name, pc, offerer, probe: createCallProbe(pc, config, performance.now()), timers: new Set() };
    link.meter = createQualityMeter({ getPc: () => pc, onRating: (word) => grid.setQuality(name, word) });
    links.set(name, link);
    pc.addEventListener("icegatheringstatechange", () => {
      if (pc.iceGatheringState === "complete" && links.get(name) === link && noRelay(link)) {
        fail(link, link.probe.problem(null));
      }
    });
    later(link, timing.connectTimeoutMs, () => link.connected || giveUp(link));
  }

  /** Relay only, and this side got no relay candidate: no restart can help. */
  function noRelay(link) {
    return relayOnly && link.probe.side().candidates.relay === 0;
  }

  function removed({ name }) {
    const link = links.get(name);
    if (!link) return;
    links.delete(name);
    clearTimers(link);
    link.meter.stop();
  }

  function stateChanged({ name, state }) {
    const link = links.get(name);
    if (!link || link.problem === "connection-lost") return;
    if (state === "connected") connected(link);
    else if (state === "disconnected") {
      link.connected = false;
      grid.setLinkStatus(name, { kind: "reconnecting", text: S.tiles.reconnecting });
      // A short loss often heals by itself; if it does not, look for a new path.
      later(link, timing.iceGraceMs, () => link.pc.connectionState === "disconnected" && restart(link));
    } else if (state === "failed") {
      link.connected = false;
      restart(link);
    }
  }

  function connected(link) {
    clearTimers(link);
    link.connected = true;
    link.restarting = false;
    if (link.problem !== "one-way-media") {
      if (link.problem) link.meter.start(); // a link that came back after all is measured again
      link.problem = "";
      grid.setLinkStatus(link.name, null);
    }
    if (link.watching) return;
    link.watching = true;
    link.meter.start();
    link.probe.watchMedia({
      alive: () => links.get(link.name) === link,
      onFirstFrame: () => {},
      onSilent: () => fail(link, "one-way-media"),
    });
  }

  function restart(link) {
    if (link.problem) return;
    if (noRelay(link)) return fail(link, link.probe.problem(null));
    if (link.restarting) return giveUp(link);
    link.restarting = true;
    log(`${link.name}: ICE restart${link.offerer ? "" : " (waiting for their offer)"}`);
    grid.setLinkStatus(link.name, { kind: "reconnecting", text: S.tiles.reconnecting });
    if (link.offerer) mesh.restartIce(link.name);
    later(link, timing.connectTimeoutMs, () => link.connected || giveUp(link));
  }

  function giveUp(link) {
    fail(link, link.watching ? "connection-lost" : link.probe.problem(null));
  }

  /**
   * Name the link's problem on its tile, once. The server counts a link's
   * failure once: the pair's offerer reports what both sides see; one-way
   * media is seen (and reported) only by the side that receives nothing.
   */
  function fail(link, problem) {
    if (link.problem) return;
    link.problem = problem;
    clearTimers(link);
    link.meter.stop();
    grid.setQuality(link.name, "poor"); // not "measuring": it was measured, and failed
    const words = S.linkProblem[problem](link.name);
    log(`${link.name}: ${problem}`);
    const details = link.probe.report({ peer: link.name, groupCall: true, problem, words });
    grid.setLinkStatus(link.name, { kind: "problem", text: words, action: [S.copyReport, () => copy(details)] });
    const seenByBoth = problem !== "one-way-media";
    if ((link.offerer || !seenByBoth) && reports < MAX_REPORTS) {
      reports += 1;
      send({ type: "call-report", target: link.name, outcome: "failed", reason: problem });
    }
  }

  const stops = [
    mesh.on("participant-added", added),
    mesh.on("participant-removed", removed),
    mesh.on("connection-state", stateChanged),
  ];
  return {
    /** Stop every timer and meter (the call is over). */
    stop() {
      for (const stop of stops) stop();
      for (const link of links.values()) {
        clearTimers(link);
        link.meter.stop();
      }
      links.clear();
    },
    /** The problem code named on `name`'s tile, or "" (test hook). */
    problem: (name) => links.get(name)?.problem ?? "",
  };
}
