// A WebSocket to the chinwag server that reconnects by itself.
//
// Status goes "connecting" -> "connected"; after a drop it is "reconnecting"
// while retrying with exponential backoff, and "offline" when the browser says
// it has no network or several attempts in a row failed (it keeps retrying).
// "elsewhere" (close code 4001: the session was resumed on another
// connection) is final: no retry.

const FIRST_DELAY_MS = 250;
const MAX_DELAY_MS = 5000;
const ATTEMPTS_BEFORE_OFFLINE = 6;
const TAKEN_OVER = 4001; // close code: the session moved to another connection (protocol.md)
// Close codes after which coming back would be refused: a host removed us, or did not let us in.
const SENT_OFF = new Map([
  [4003, "removed"],
  [4004, "denied"],
]);

/** The WebSocket URL of the server that served this page (same host and port). */
export function defaultSocketUrl(location = window.location) {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}/ws`;
}

/**
 * Open a reconnecting socket.
 * onMessage(msg) gets every parsed JSON object; onStatus(status) every status
 * change; onOpen() (optional) each time a connection, first or later, opens.
 * Returns {send(msg) -> boolean, close()}; send returns false when not connected.
 */
export function createSocket({ url, onMessage, onStatus, onOpen = () => {}, log = () => {} }) {
  let ws = null;
  let failures = 0;
  let retryTimer = null;
  let closedByUs = false;
  let status = "";

  function setStatus(next) {
    if (next === status) return;
    log(`socket ${status || "-"} -> ${next}`);
    status = next;
    onStatus(next);
  }

  function connect() {
    retryTimer = null;
    setStatus(failures === 0 && !ws ? "connecting" : statusWhileRetrying());
    const socket = new WebSocket(url, "json");
    ws = socket;
    // Events of a socket we have already replaced are ignored.
    socket.onopen = () => {
      if (ws !== socket) return;
      failures = 0;
      setStatus("connected");
      onOpen();
    };
    socket.onmessage = (event) => {
      if (ws !== socket) return;
      let msg;
      try {
        msg = JSON.parse(event.data);
      } catch {
        log("socket: frame is not JSON, ignored");
        return;
      }
      if (msg && typeof msg === "object") onMessage(msg);
    };
    socket.onclose = (event) => {
      if (ws !== socket || closedByUs) return;
      log(`socket closed (${event.code})`);
      if (event.code === TAKEN_OVER) {
        // Our session was resumed on another connection: coming back would fight it.
        setStatus("elsewhere");
        return;
      }
      if (SENT_OFF.has(event.code)) {
        closedByUs = true;
        setStatus(SENT_OFF.get(event.code));
        return;
      }
      failures += 1;
      setStatus(statusWhileRetrying());
      scheduleRetry();
    };
  }

  function statusWhileRetrying() {
    const offline = !navigator.onLine || failures >= ATTEMPTS_BEFORE_OFFLINE;
    return offline ? "offline" : "reconnecting";
  }

  function scheduleRetry() {
    if (retryTimer !== null) return;
    const backoff = Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** Math.max(0, failures - 1));
    // Jitter spreads the reconnects of many clients after a server restart.
    const delay = backoff * (0.75 + Math.random() * 0.5);
    retryTimer = setTimeout(connect, delay);
  }

  function retryNow() {
    if (closedByUs || status === "elsewhere" || (ws && ws.readyState !== WebSocket.CLOSED)) return;
    clearTimeout(retryTimer);
    retryTimer = null;
    connect();
  }

  function wentOffline() {
    if (status !== "connected") setStatus("offline");
  }

  window.addEventListener("online", retryNow);
  window.addEventListener("offline", wentOffline);

  connect();

  return {
    send(msg) {
      if (!ws || ws.readyState !== WebSocket.OPEN) return false;
      ws.send(JSON.stringify(msg));
      return true;
    },
    close() {
      closedByUs = true;
      clearTimeout(retryTimer);
      window.removeEventListener("online", retryNow);
      window.removeEventListener("offline", wentOffline);
      if (ws) ws.close(1000);
      setStatus("offline");
    },
  };
}
