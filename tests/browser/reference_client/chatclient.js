// Clean-room stand-in for the tutorial's reference client (see index.html).
// Deliberately old-fashioned: globals, innerHTML for chat, no ringing, the
// whole user list rebuilt on every `userlist`. Only for interop tests.
"use strict";

var socket = null;
var clientId = 0;
var myName = "";
var peerName = null;
var pc = null;

function logLine(text) {
  document.getElementById("log").textContent += text + "\n";
}

function sendJson(msg) {
  socket.send(JSON.stringify(msg));
}

function connect() {
  var params = new URLSearchParams(location.search);
  var port = params.get("port") || "6503";
  var scheme = location.protocol === "https:" ? "wss" : "ws";
  socket = new WebSocket(scheme + "://" + location.hostname + ":" + port, "json");
  socket.onmessage = function (event) {
    var msg = JSON.parse(event.data);
    switch (msg.type) {
      case "id":
        clientId = msg.id;
        sendJson({ type: "username", name: myName, date: Date.now(), id: clientId });
        break;
      case "rejectusername":
        myName = msg.name;
        logLine("name taken; now " + myName);
        break;
      case "userlist":
        showUsers(msg.users);
        break;
      case "message":
        var line = document.createElement("p");
        line.innerHTML = "<b>" + msg.name + "</b>: " + msg.text;
        document.getElementById("chatbox").appendChild(line);
        break;
      case "video-offer":
        answerOffer(msg);
        break;
      case "video-answer":
        pc.setRemoteDescription(msg.sdp).catch(function (e) { logLine("answer failed " + e); });
        break;
      case "new-ice-candidate":
        if (pc) pc.addIceCandidate(msg.candidate).catch(function (e) { logLine("candidate failed " + e); });
        break;
      case "hang-up":
        endCall();
        break;
      default:
        logLine("unknown message type " + msg.type);
    }
  };
}

function showUsers(users) {
  var list = document.getElementById("users");
  while (list.firstChild) list.removeChild(list.firstChild);
  users.forEach(function (name) {
    var item = document.createElement("li");
    item.textContent = name;
    item.addEventListener("click", function () { startCall(name); });
    list.appendChild(item);
  });
}

function makePeerConnection() {
  pc = new RTCPeerConnection({ iceServers: [] });
  pc.onicecandidate = function (event) {
    if (event.candidate) sendJson({ type: "new-ice-candidate", target: peerName, candidate: event.candidate });
  };
  pc.ontrack = function (event) {
    document.getElementById("received_video").srcObject = event.streams[0];
    document.getElementById("hangup-button").disabled = false;
  };
  pc.onnegotiationneeded = function () {
    pc.createOffer()
      .then(function (offer) { return pc.setLocalDescription(offer); })
      .then(function () {
        sendJson({ type: "video-offer", name: myName, target: peerName, sdp: pc.localDescription });
      })
      .catch(function (e) { logLine("offer failed " + e); });
  };
  pc.oniceconnectionstatechange = function () {
    var state = pc && pc.iceConnectionState;
    if (state === "failed" || state === "closed" || state === "disconnected") endCall();
  };
}

function openMedia() {
  return navigator.mediaDevices.getUserMedia({ audio: true, video: true }).then(function (stream) {
    document.getElementById("local_video").srcObject = stream;
    stream.getTracks().forEach(function (track) { pc.addTrack(track, stream); });
  });
}

function startCall(name) {
  if (pc || name === myName) return;
  peerName = name;
  makePeerConnection();
  openMedia().catch(function (e) { logLine("media failed " + e); endCall(); });
}

function answerOffer(msg) {
  peerName = msg.name;
  var fresh = !pc;
  if (fresh) makePeerConnection();
  pc.setRemoteDescription(msg.sdp)
    .then(function () { return fresh ? openMedia() : null; })
    .then(function () { return pc.createAnswer(); })
    .then(function (answer) { return pc.setLocalDescription(answer); })
    .then(function () {
      sendJson({ type: "video-answer", name: myName, target: peerName, sdp: pc.localDescription });
    })
    .catch(function (e) { logLine("answering failed " + e); endCall(); });
}

function endCall() {
  if (!pc) return;
  [document.getElementById("local_video"), document.getElementById("received_video")].forEach(
    function (video) {
      if (video.srcObject) video.srcObject.getTracks().forEach(function (t) { t.stop(); });
      video.srcObject = null;
    }
  );
  pc.close();
  pc = null;
  peerName = null;
  document.getElementById("hangup-button").disabled = true;
}

function hangUp() {
  var target = peerName;
  endCall();
  sendJson({ type: "hang-up", name: myName, target: target });
}

window.addEventListener("load", function () {
  document.getElementById("login").onclick = function () {
    myName = document.getElementById("name").value;
    connect();
  };
  document.getElementById("send").onclick = function () {
    var input = document.getElementById("text");
    sendJson({ type: "message", text: input.value, id: clientId, date: Date.now() });
    input.value = "";
  };
  document.getElementById("hangup-button").onclick = hangUp;
});
