// Every word the page shows, in one place, so a translation is one new file
// of the same shape. Static text in index.html names a key here through
// data-text (text content), data-title (tooltip), data-label (aria-label) and
// data-placeholder; applyStrings() fills them in at start-up.
//
// Entries are strings, or functions of the values they mention.

export const S = Object.freeze({
  appName: "chinwag",
  // sign-in
  signInTitle: "Sign in",
  signInLead: "Pick a name others will see. No account needed.",
  yourName: "Your name",
  signIn: "Sign in",
  nameEmpty: "Type a name first: it is how others find you and call you.",
  nameTaken: (asked, assigned) => `The name ${asked} was taken; you are ${assigned}.`,
  renamedNote: (asked, name) => `${asked} was taken, so you are ${name}.`,
  signedInAs: "Signed in as",
  accountMenu: "Account",
  changeName: "Change name",
  newName: "New name",
  save: "Save",
  signOut: "Sign out",
  // connection status
  status: {
    connecting: "Connecting…",
    connected: "Connected",
    reconnecting: "Reconnecting…",
    offline: "Offline",
    elsewhere: "Signed in elsewhere",
    removed: "Removed from the room",
    denied: "Not let in",
  },
  // people
  online: "Online",
  peopleList: "People online; choose a name to call",
  you: "you",
  inACall: "in a call",
  callPerson: (name) => `Call ${name}`,
  callPersonBusy: (name) => `Call ${name} (in a call)`,
  audioCallPerson: (name) => `Audio call with ${name}`,
  selfLabel: (name) => `${name} (you)`,
  aloneHere: "Nobody else is online yet. Share this page's address with someone to talk.",
  missedCalls: "Missed calls",
  callBack: "Call back",
  callBackLabel: (name) => `Call ${name} back`,
  dismiss: "Dismiss",
  // idle stage
  idleTitle: "The Lobby",
  idleHint:
    "Everyone who opens this server without a room link arrives here. Choose a name to call one person " +
    "(the phone button calls without video), start a group call with everyone in the Lobby, or open a room of your own below.",
  waitingTitle: "Waiting for others",
  waitingLead: "Nobody else is in this call yet. Send them this link:",
  joinedCall: (n) => `${n} joined the call`,
  leftCall: (n) => `${n} left the call`,
  // ringing
  isCalling: (name) => `${name} is calling`,
  calling: (name) => `Calling ${name}…`,
  ringingNow: "Ringing",
  accept: "Accept",
  decline: "Decline",
  cancel: "Cancel",
  acceptHint: "Alt+Shift+A accepts, Alt+Shift+D declines",
  ringTitle: (name) => `Ringing: ${name} is calling`,
  notifyTitle: "Incoming call",
  notifyBody: (name) => `${name} is calling you on chinwag`,
  // call screen
  callArea: "Call",
  callControls: "Call controls",
  videoOf: (name) => `Video of ${name}`,
  videoOfOther: "Video of the other person",
  yourCamera: "Your own camera",
  yourScreen: "Your shared screen",
  callDuration: "Call duration",
  connectingPhase: "Connecting…",
  reconnectingPhase: "Reconnecting…",
  micMuted: "Microphone muted",
  cameraOffIndicator: "Camera off",
  sharingScreen: "Sharing screen",
  speaking: "Speaking",
  youAreMuted: "You are muted",
  mute: "Mute",
  unmute: "Unmute",
  cameraOff: "Camera off",
  cameraOn: "Camera on",
  shareScreen: "Share screen",
  stopSharing: "Stop sharing",
  chat: "Chat",
  people: "People",
  fullscreen: "Full screen",
  exitFullscreen: "Exit full screen",
  pip: "Pop out",
  stats: "Stats",
  settings: "Settings",
  help: "Shortcuts",
  more: "More",
  moreActions: "More call actions",
  copyInvite: "Copy invite link",
  hangUp: "Hang up",
  close: "Close",
  dragSelfView: "Your own camera; drag to move it",
  quality: { good: "Connection: good", fair: "Connection: fair", poor: "Connection: poor", unknown: "Connection: measuring" },
  unreadBadge: (n) => `${n} unread`,
  // stats panel
  statsTitle: "Call statistics",
  statRows: {
    route: "Route",
    rtt: "Round-trip time",
    in: "Receiving",
    out: "Sending",
    resolution: "Resolution",
    fps: "Frame rate",
    lost: "Packets lost",
  },
  notConnected: "not connected",
  // call outcomes (notices)
  declined: {
    declined: (n) => `${n} declined`,
    busy: (n) => `${n} is busy in another call`,
    "no-media": (n) => `${n} has no camera or microphone that works`,
    "permission-denied": (n) => `${n} could not use their camera or microphone (permission denied)`,
    "in-use": (n) => `${n}'s camera or microphone is in use by another application`,
  },
  hungUp: (n, length) => `${n} hung up${length ? ` · call lasted ${length}` : ""}`,
  peerLeft: (n) => `${n} left; the call ended`,
  peerFailed: (n) => `The connection to ${n} failed; the call ended`,
  callEnded: (n, length) => `Call with ${n} ended${length ? ` · ${length}` : ""}`,
  noAnswer: (n) => `No answer from ${n}`,
  missedCallFrom: (n) => `Missed call from ${n}`,
  triedToCall: (n) => `${n} tried to call you while you were in a call`,
  notOnline: (n) => `${n} is not online`,
  finishCallFirst: "Finish the current call first.",
  offlineNoCall: "You are offline: calls can start again once the server is back.",
  connectionLost: (n) => `The connection to ${n} was lost`,
  // per-call diagnosis (diagnosis.js codes): one sentence each, naming the cause
  callProblem: {
    "credentials-refused": (n) =>
      `The call with ${n} could not connect: the relay refused the credentials ` +
      "(the server's TURN secret does not match the relay's). Tell the server's operator.",
    unreachable: (n) =>
      `The call with ${n} could not connect: the relay server did not answer ` +
      "(a firewall may block it, or it is down). Tell the server's operator.",
    "no-turn": (n) =>
      `The call with ${n} could not connect: it needed a relay, and the server has no relay (TURN) configured. Tell the server's operator.`,
    "no-path": (n) =>
      `Could not connect to ${n}: no network path was found between you. ` +
      "A firewall may block it; try again, or turn on Relay only in Settings.",
  },
  nothingArrives: (n) => `Connected, but nothing is arriving from ${n}: their audio and video do not reach you.`,
  nothingReaches: (n) => `Connected, but ${n} receives nothing from you: your audio and video do not reach them.`,
  copyReport: "Copy report",
  reportCopied: "Report copied: paste it to whoever helps you.",
  reportNotCopied: (why) => `The report could not be copied: ${why}`,
  setupFailed: (why) => `The call could not be set up: ${why}`,
  serverLost: "The connection to the server was lost",
  peerReconnecting: (n) => `${n} lost their connection; waiting for them to come back…`,
  rejoining: (n) => `Bringing back your call with ${n}…`,
  // a device failed in a call (media.js openCallMedia): go on with what still works?
  continueWith: (problem, offer) =>
    `${problem} ` +
    {
      "video-only": "Continue with video only?",
      "audio-only": "Continue with audio only?",
      "listen-only": "Continue without sending, listening only?",
    }[offer],
  offerLabels: { "video-only": "Video only", "audio-only": "Audio only", "listen-only": "Listen only" },
  shareFailed: (why) => `Screen sharing did not start: ${why}`,
  switchFailed: (why) => `Could not switch: ${why}`,
  // notifications permission
  notifyOffer: "Get a notification when someone calls while this tab is in the background?",
  notifyAllow: "Turn on",
  notifyLater: "Not now",
  notifyBlocked: "Notifications are blocked for this site; calls still ring while the tab is open.",
  // one device's failure, named (deviceerrors.js); kind: "audio", "video" or "both"
  device: {
    denied: (kind) => `${capital(deviceWord(kind))} permission was refused: here is how to allow it.`,
    "in-use": (kind) =>
      `The ${deviceWord(kind)} ${kind === "both" ? "are" : "is"} in use by another application (or cannot be started).`,
    "not-found": (kind) => `No ${deviceWord(kind, "or")} was found.`,
    insecure: () =>
      "This page is not a secure context (it needs HTTPS), so the browser hides the camera and microphone.",
    failed: (kind, why) => `The ${deviceWord(kind)} could not be started${why ? ` (${why})` : ""}.`,
  },
  howToAllow: {
    chrome:
      "In Chrome: click the icon at the left of the address bar (a padlock, or a crossed-out camera), " +
      "set Camera and Microphone to Allow, then press Try again.",
    edge:
      "In Edge: click the padlock at the left of the address bar, choose Permissions for this site, " +
      "set Camera and Microphone to Allow, then press Try again.",
    firefox:
      "In Firefox: click the crossed-out camera or microphone in the address bar, remove the block " +
      "(“Blocked temporarily”), then press Try again.",
    safari: "In Safari: choose Safari > Settings for This Website, set Camera and Microphone to Allow, then press Try again.",
    other: "Allow the camera and microphone for this site in the browser's site settings, then press Try again.",
  },
  // the pre-join screen (prejoin.js)
  prejoin: {
    callTitle: (n) => `Call ${n}`,
    audioCallTitle: (n) => `Audio call with ${n}`,
    acceptTitle: (n) => `${n} is calling`,
    acceptAudioTitle: (n) => `${n} is calling (audio call)`,
    groupTitle: (room) => `Join the group call in ${room}`,
    lead: "Check how you look and sound, then join.",
    opening: "Opening your camera and microphone…",
    preview: "Preview of your camera",
    cameraOffPreview: "Your camera is off",
    level: "Microphone level",
    speaker: "Speaker",
    testSpeaker: "Test speaker",
    micOn: "Microphone on",
    micOff: "Microphone off",
    cameraOn: "Camera on",
    cameraOff: "Camera off",
    audioOnly: "Audio only (no camera)",
    skip: "Join straight away next time (Settings can bring this check back)",
    join: "Join",
    call: "Call",
    accept: "Join the call",
    joinVideoOnly: "Join with video only",
    joinAudioOnly: "Join with audio only",
    joinListenOnly: "Join to listen only",
    retry: "Try again",
    cancel: "Cancel",
  },
  prejoinSetting: "Check camera and microphone before each call",
  // the check page (/check, check.js)
  check: {
    title: "Check",
    back: "Back to chinwag",
    heading: "Check your camera and connection",
    lead:
      "This page opens your camera and microphone, asks the server for its relay settings, and makes a short " +
      "call to itself through the relay. Nothing is sent to anyone else.",
    checking: "Checking…",
    again: "Check again",
    mediaTitle: "Camera and microphone",
    mediaWorks: "Camera and microphone work.",
    devices: "Cameras and microphones",
    cameraKind: "camera",
    microphoneKind: "microphone",
    networkTitle: "Network",
    routesCaption: "Ways this browser can be reached",
    route: "Route",
    result: "Result",
    routes: {
      host: "Direct on this network (host)",
      srflx: "Through your router (server-reflexive)",
      relay: (transport, url) => `Relay over ${transport} (${url})`,
      turn: "Relay (TURN)",
      found: "found",
      none: "none",
      noSrflx: "none (no STUN server, or UDP blocked)",
      works: "works",
      fails: (errors) => `fails${errors ? `: ${errors}` : ""}`,
      noneConfigured: "none configured",
    },
    callTitle: "Call through the relay",
    waitingNetwork: "Waiting for the network check…",
    calling: "Calling itself through the relay…",
    flowed: (route) => `Media flowed through the relay (${route}).`,
    noFlow: "No media crossed the relay.",
    skipped: "Skipped: no relay works.",
    also: (words) => `Also: ${words}`,
    reportTitle: "Report",
    reportLead: "Send this to the server's operator if something is wrong.",
    copied: "Copied.",
    selected: "Selected: press Ctrl+C (or ⌘C) to copy.",
  },
  // chat
  chatTitle: "Chat",
  messages: "Messages",
  message: "Message",
  writeMessage: "Write a message",
  writeMessageOffline: "Offline: messages wait and go out when you are back",
  send: "Send",
  to: "To",
  everyone: "Everyone",
  privateTo: (n) => `Privately to ${n}`,
  privateFrom: (n) => `Private from ${n}`,
  privateLabel: (n) => `Private message to ${n}`,
  privateBadge: "Private",
  newMessages: "New messages",
  jumpToNew: "Jump to new messages",
  loadEarlier: "Load earlier messages",
  loadingEarlier: "Loading earlier messages…",
  conversationStart: "Start of the conversation",
  earlierFailed: "Earlier messages could not be loaded just now; try again in a moment.",
  joined: (n) => `${n} joined`,
  left: (n) => `${n} left`,
  renamedTo: (a, b) => `${a} is now ${b}`,
  pending: "Waiting to send…",
  outboxFull: "Too many messages are waiting to send; this one was not kept.",
  notDelivered: (n) => `${n} is not online; your private message was not delivered.`,
  sendFile: "Send a file",
  fileBytes: (n) => `${n} bytes`,
  fileProgress: (name) => `Progress of ${name}`,
  fileFrom: (n, size) => `From ${n} · ${size}`,
  fileTo: (n, size) => `To ${n} · ${size}`,
  fileSave: "Save",
  fileTooLarge: (size, limit) => `This file is too large to send (${size}; the limit is ${limit}).`,
  fileOffline: "You are offline; the file was not offered.",
  fileState(t) {
    const mine = t.direction === "out";
    switch (t.state) {
      case "offered": return "Wants to send you this file.";
      case "waiting": {
        const got = (t.receivers ?? []).filter((r) => r.state === "verified").map((r) => r.name).sort();
        return got.length ? `Sent to ${got.join(", ")} (verified). Others may still accept.` : "Waiting for someone to accept…";
      }
      case "connecting": return "Connecting…";
      case "sending": return "Sending…";
      case "receiving": return "Receiving…";
      case "checking": return "Checking…";
      case "verified": return mine ? "Sent and verified." : "Received and verified (SHA-256).";
      case "declined":
        if (t.error === "too-large") return mine ? "Refused: over the receiver's size limit." : "Refused: the file is over the size limit.";
        return mine ? "Declined." : "You declined this file.";
      case "cancelled": return t.error === "too-large" ? "Cancelled: more bytes than offered." : "Cancelled.";
      default:
        if (t.error === "checksum") return "Failed: the file arrived damaged (SHA-256 mismatch) and was discarded.";
        if (t.error === "gone") return mine ? `Not sent: ${t.peer} is not online.` : `Not received: ${t.peer} is no longer online. Ask them to send it again.`;
        return "Failed: the connection was lost.";
    }
  },
  youLabel: "You",
  // rooms
  lobbyName: "Lobby",
  roomLabel: "Room",
  copyLink: "Copy link",
  linkCopied: (url) => `Link copied: ${url}`,
  linkCopyByHand: "Copy this link by hand (Ctrl+C or long press):",
  roomLink: "Link to this room",
  joiningRoom: (room) => `You are joining the room ${room}.`,
  roomPassword: "Room password",
  roomPasswordLead: (room) => `${room} is locked. Type its password to go in.`,
  join: "Join",
  backToLobby: "Back to the Lobby",
  publicRooms: "Public rooms",
  noPublicRooms: "No public rooms right now. Open one below and tick “List publicly”.",
  roomCount: (n) => (n === 1 ? "1 person" : `${n} people`),
  roomEntry: (room, n) => `${room}, ${n === 1 ? "1 person" : `${n} people`}`,
  nowInRoom: (room) => `You are now in ${room}`,
  newRoom: "New room",
  newRoomLead: "A room has its own people, chat and group call. Share its link to invite others.",
  roomName: "Room name",
  roomTitle: "Title (optional)",
  roomPasswordOptional: "Password (optional)",
  listPublicly: "List publicly on the Lobby page",
  createRoom: "Open the room",
  roomNameEmpty: "Type a name for the room first.",
  roomErrors: {
    "bad-room": "That room name cannot be used: 1 to 64 characters, without < > & \" '.",
    "no-such-room": "There is no such room on this server.",
    "room-password-required": "This room is locked: type its password.",
    "room-password-wrong": "That password is wrong; try again.",
    "room-call-full": "The group call is full.",
    "in-call": "Hang up your call first.",
    "not-in-call": "You are not in this room's call.",
    "rate-limited": "Too many tries; wait a few seconds and try again.",
    banned: "You were removed from this room and cannot come back while it is open.",
    "room-closed": "This room is locked: nobody new may come in. Ask the host for an invite link.",
    "invite-invalid": "This invite link does not work: it is damaged, or for another room.",
    "invite-expired": "This invite link has expired. Ask the host for a new one.",
    "invite-used": "This invite link was for one person and has been used.",
    "invite-revoked": "The host withdrew this invite link.",
    forbidden: "Only the room's host or a moderator can do that.",
  },
  // hosts, moderators and guests (hosts.js, hostpanel.js)
  hosts: {
    roles: { host: "host", moderator: "moderator" },
    hand: "hand raised",
    handNumber: (n) => `✋ ${n}`,
    handLabel: (n) => `hand raised, ${n} in line`,
    raiseHand: "Raise hand",
    lowerHand: "Lower hand",
    reactions: "Reactions",
    react: (emoji) => `React ${emoji}`,
    personActions: (name) => `Actions for ${name}`,
    makeModerator: "Make moderator",
    makeHost: "Make host",
    makeGuest: "Make guest",
    mute: "Mute",
    stopCamera: "Stop camera",
    stopScreen: "Stop screen share",
    lowerTheirHand: "Lower hand",
    remove: "Remove",
    removeAndBan: "Remove and keep out",
    confirmRemove: (name) => `Remove ${name} from the room?`,
    hostTools: "Host tools",
    entry: "Who may come in",
    entries: { open: "Anyone with the link", waiting: "Waiting room: I let people in", locked: "Locked: nobody new" },
    waitingTitle: (n) => `Waiting to come in (${n})`,
    admit: "Admit",
    deny: "Deny",
    admitLabel: (name) => `Admit ${name}`,
    denyLabel: (name) => `Deny ${name}`,
    muteAll: "Mute everyone",
    endCall: "End call for everyone",
    lowerHands: "Lower all hands",
    invites: "Invite link",
    inviteRole: "They join as",
    inviteRoles: { guest: "Guest", moderator: "Moderator" },
    inviteExpiry: "Link works for",
    expiries: { 3600: "1 hour", 86400: "1 day", 604800: "7 days" },
    inviteSingle: "One person only",
    invitePassLock: "Lets them in even when the room is locked",
    createInvite: "Create link",
    inviteReady: "Invite link (copy it):",
    inviteCopied: "Invite link copied",
    breakouts: "Breakout rooms",
    breakoutCount: "How many",
    openBreakouts: "Open breakout rooms",
    assignRandom: "Assign at random",
    assignTo: (name) => `Room for ${name}`,
    mainRoom: "Main room",
    breakoutNumber: (n) => `Breakout ${n}`,
    startBreakouts: "Move everyone",
    broadcast: "Message to every breakout room",
    sendBroadcast: "Send to all rooms",
    closeBreakouts: "Bring everyone back",
    backToMain: (room) => `Back to ${room}`,
    waitingCardTitle: "Waiting for the host to let you in",
    waitingCardLead: (room) => `You asked to join ${room}. The host has been told; this page goes in by itself.`,
    leaveWaiting: "Leave",
    removedTitle: "You were removed from the room",
    deniedTitle: "The host did not let you in",
    sentOffLead: "You can close this page.",
    // what happened, said to the room (a `moderation` message)
    said: {
      remove: (by, who, ban) => `${who} was removed by ${by}${ban ? " and cannot come back" : ""}`,
      admit: (by, who) => `${who} was let in by ${by}`,
      deny: (by, who) => `${who} was not let in by ${by}`,
      role: (by, who, role) => `${by} made ${who} ${role === "guest" ? "a guest" : `a ${role}`}`,
      entry: (by, entry) =>
        entry === "locked" ? `${by} locked the room` : entry === "waiting" ? `${by} turned on the waiting room` : `${by} opened the room`,
      muteYou: (by) => `${by} muted you. You can unmute yourself.`,
      muteAll: (by) => `${by} muted everyone`,
      muteOne: (by, who) => `${by} muted ${who}`,
      cameraYou: (by) => `${by} stopped your camera`,
      screenYou: (by) => `${by} stopped your screen share`,
      cameraOne: (by, who) => `${by} stopped ${who}'s camera`,
      screenOne: (by, who) => `${by} stopped ${who}'s screen share`,
      cameraAll: (by) => `${by} stopped everyone's camera`,
      screenAll: (by) => `${by} stopped every screen share`,
      endCall: (by) => `${by} ended the call for everyone`,
      lowerHands: (by) => `${by} lowered all hands`,
      lowerHand: (by, who) => `${by} lowered ${who}'s hand`,
      promote: (who) => `${who} is the host now`,
      say: (by, text) => (by ? `${by} to all rooms: ${text}` : `Announcement: ${text}`),
      breakoutOpen: (by, n) => `${by} opened ${n} breakout rooms`,
      breakoutStart: (by) => `${by} moved everyone to their breakout rooms`,
      breakoutClose: (by) => `${by} brought everyone back`,
      server: "the server",
    },
  },
  // recording a group call (recording.js)
  recording: "Recording",
  record: "Record",
  stopRecording: "Stop recording",
  you: "You",
  callIsRecorded: (by) => `This call is being recorded (started by ${by}).`,
  recordingSince: (by, since) =>
    `Recording since ${since.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })}, started by ${by}`,
  recordingStarted: (by) => `${by} started recording this call. Everyone in it is recorded.`,
  recordingStopped: (by, reason) =>
    reason === "left"
      ? `Recording stopped: ${by} left the call.`
      : reason
        ? "Recording stopped: the media server could not go on recording."
        : `${by} stopped the recording.`,
  recordTitle: "Record this call?",
  recordLead:
    "Everyone in the call is told and asked whether they stay, and people who join later see it before they join. The recording is saved on this server. Make sure everyone agrees.",
  startRecording: "Start recording",
  recordedTitle: "This call is being recorded",
  recordedLead: (by) => `${by} started recording. If you stay in the call, you agree to be recorded.`,
  leaveRecordedCall: "Leave call",
  stayRecorded: "Stay in the call",
  recordingErrors: {
    "recordings-off": "This server does not record calls.",
    "already-recording": "This call is already being recorded.",
    "not-recording": "This call is not being recorded.",
    "not-sfu-call": "Recording starts once the call is on the media server (more people than a small call).",
    "not-in-call": "Join the call to record it.",
  },
  // group calls
  startCall: "Start a group call in this room",
  joinCall: (n) => `Join the group call (${n} in it)`,
  roomIdleTitle: (room) => `Welcome to ${room}`,
  roomIdleHint:
    "This room has its own people, chat and group call. Start a group call in this room, " +
    "or choose a name to call one person. Copy the link to invite others.",
  inGroupCall: "In the group call",
  leaveCall: "Leave call",
  youLeftCall: "You left the group call",
  callFullFor: (n) => `The group call is full (${n} people).`,
  leaveGroupFirst: "Leave the group call first.",
  groupCallOf: (room) => `Group call in ${room}`,
  tiles: {
    you: (name) => `${name} (you)`,
    pin: (name) => `Pin ${name}`,
    pinButton: "Pin",
    muted: "Muted",
    cameraOff: "Camera off",
    screen: "Sharing screen",
    speaking: "Speaking",
    reconnecting: "Reconnecting…",
    hand: (place) => `✋ ${place}`,
    reaction: (name, emoji) => `${name}: ${emoji}`,
  },
  // a room call's link that fails (linkhealth.js, diagnosis.js codes): one short sentence on the tile
  linkProblem: {
    "credentials-refused": (n) => `Can't reach ${n}: the relay refused the credentials`,
    unreachable: (n) => `Can't reach ${n}: the relay server did not answer`,
    "no-turn": (n) => `Can't reach ${n}: a relay is needed and the server has none`,
    "no-path": (n) => `Can't reach ${n}: no network path between you`,
    "connection-lost": (n) => `Lost the connection to ${n}`,
    "one-way-media": (n) => `Nothing is arriving from ${n}`,
  },
  // settings
  settingsTitle: "Settings",
  camera: "Camera",
  microphone: "Microphone",
  ringSound: "Play a ringtone for incoming calls",
  relayOnly: "Relay only (send media through the TURN server; hides your address)",
  checkLink: "Check your camera and connection",
  theme: "Theme",
  themes: { system: "Same as the system", light: "Light", dark: "Dark" },
  diagnostics: "Diagnostics",
  debugLog: "Debug log",
  // shortcuts
  shortcutsTitle: "Keyboard shortcuts",
  shortcutsLead: "Single keys work when you are not typing in a text field.",
  shortcutList: [
    ["M", "Mute or unmute"],
    ["V", "Camera on or off"],
    ["S", "Share screen or stop"],
    ["F", "Full screen"],
    ["C", "Show or hide the chat"],
    ["P", "Show or hide the people"],
    ["?", "This list"],
    ["Alt+Shift+A", "Accept a call"],
    ["Alt+Shift+D", "Decline a call"],
    ["Alt+Shift+H", "Hang up"],
    ["Enter", "Send a message"],
    ["Shift+Enter", "New line in a message"],
    ["Escape", "Close a dialog or panel"],
  ],
  keyColumn: "Keys",
  actionColumn: "Action",
});

/** "microphone", "camera", or both joined by `and` ("camera and microphone"). */
function deviceWord(kind, and = "and") {
  if (kind === "both") return `camera ${and} microphone`;
  return kind === "audio" ? "microphone" : "camera";
}

function capital(text) {
  return text[0].toUpperCase() + text.slice(1);
}

/** Fill every data-text / data-title / data-label / data-placeholder under root. */
export function applyStrings(root = document) {
  const fill = (attribute, apply) => {
    for (const element of root.querySelectorAll(`[data-${attribute}]`)) {
      const value = lookup(element.getAttribute(`data-${attribute}`));
      if (typeof value === "string") apply(element, value);
    }
  };
  fill("text", (e, v) => (e.textContent = v));
  fill("title", (e, v) => (e.title = v));
  fill("label", (e, v) => e.setAttribute("aria-label", v));
  fill("placeholder", (e, v) => (e.placeholder = v));
}

/** S["a.b"] for dotted keys ("status.connected"). */
export function lookup(key) {
  return key.split(".").reduce((node, part) => node?.[part], S);
}
