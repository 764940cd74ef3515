// hamflex web app: upload with progress, status polling, live sessions, landmark dragging. No framework, no CDN.
"use strict";

function pollSession(id, onUpdate) {
  fetch("/api/sessions/" + id).then(r => r.json()).then(s => {
    onUpdate(s);
    if (s.status === "queued" || s.status === "running") setTimeout(() => pollSession(id, onUpdate), 1000);
  });
}

function showProgress(fraction, text) {
  const box = document.getElementById("progress");
  if (box) box.hidden = false;
  const bar = document.querySelector("progress");
  if (bar) bar.value = fraction;
  const label = document.getElementById("progress-text");
  if (label) label.textContent = text;
}

function showError(message) {
  const box = document.getElementById("upload-error");
  box.textContent = message;  // text, never HTML
  box.hidden = false;
}

const upload = document.getElementById("upload");
if (upload) {
  upload.addEventListener("submit", event => {
    event.preventDefault();
    if (!upload.file.files.length) { showError("choose a recording or photo first, or go live"); return; }
    const data = new FormData(upload);
    data.append("person_id", upload.dataset.person);
    const request = new XMLHttpRequest();
    request.open("POST", "/api/sessions");
    request.upload.onprogress = e => { if (e.lengthComputable) showProgress(e.loaded / e.total, "uploading " + Math.round(100 * e.loaded / e.total) + "%"); };
    request.onload = () => {
      const answer = JSON.parse(request.responseText || "{}");
      if (request.status >= 300) { showError(answer.error || "upload refused"); return; }
      showProgress(0, "queued");
      pollSession(answer.id, s => {
        showProgress(s.progress, s.status === "running" ? analysingText(s) : s.status);
        if (s.status === "done" || s.status === "failed") window.location = "/sessions/" + s.id;
      });
    };
    request.onerror = () => showError("the upload did not reach the server");
    request.send(data);
  });
  document.getElementById("live-button").addEventListener("click", () => goLive(upload));
}

function analysingText(s) {
  return s.frames_total ? "analysing: frame " + s.frames_done + " of " + s.frames_total : "analysing…";
}

// Live sessions (docs/web.md, "Live sessions"): one WebSocket per session. The server sends a JSON
// text message per analysed frame, then that frame's overlay as a JPEG; at the end {"type": "ended"}.
// With the browser's camera, each picture goes the other way: 8 bytes of frame time (ms, float64,
// little-endian), then the JPEG. At most MAX_IN_FLIGHT pictures wait for the server: the rest are
// not sent, so the server always analyses a recent picture and no backlog builds up ("every frame":
// all are sent and analysed, however late).
const MAX_IN_FLIGHT = 2;
const LIVE_JPEG_QUALITY = 0.9;

async function goLive(form) {
  const browserCamera = form.camera_kind.value === "browser";
  const protocol = form.protocol.value;
  const withStretch = form.querySelector("input[name=protocol]:checked").parentElement.querySelector("select");
  const body = {person_id: form.dataset.person, protocol, stretch: withStretch ? withStretch.value : null,
                camera: browserCamera ? "browser" : form.camera.value.trim(), max_s: form.max_s.value || null,
                every_frame: form.every_frame.checked};
  if (browserCamera) {  // ask for the camera first: no session is made when the browser gives none
    try { (await navigator.mediaDevices.getUserMedia({video: true, audio: false})).getTracks().forEach(t => t.stop()); }
    catch (error) { showError("the browser gave no camera: " + error.message + " (browsers give it on https or localhost only)"); return; }
  }
  const response = await fetch("/api/sessions/live", {method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)});
  const answer = await response.json();
  if (!response.ok) { showError(answer.error || "the live session did not start"); return; }
  document.getElementById("live-view").hidden = false;
  const socket = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + answer.socket);
  socket.binaryType = "blob";
  const live = {socket, browserCamera, maxInFlight: body.every_frame ? Infinity : MAX_IN_FLIGHT,
                inFlight: [], skipped: 0, sent: 0, lastTimeMs: -Infinity, sending: Promise.resolve(), ended: false, stream: null};
  window.hamflexLive = live;  // for the curious (and the browser test): counts of this session
  socket.onmessage = event => showLive(live, event.data);
  socket.onclose = () => { if (!live.ended) showError("the connection to the live session closed"); };
  document.getElementById("live-stop").onclick = () => socket.send(JSON.stringify({type: "stop"}));
}

async function startCamera(live) {
  // The camera starts when the server is ready for it, so its first frame is the first analysed.
  live.stream = await navigator.mediaDevices.getUserMedia({video: true, audio: false});
  sendCamera(live, live.stream);
}

function showLive(live, data) {
  if (typeof data !== "string") {
    const picture = document.getElementById("live-picture");
    if (picture.src) URL.revokeObjectURL(picture.src);
    picture.src = URL.createObjectURL(data);
    return;
  }
  const message = JSON.parse(data);
  live.last = message;
  document.getElementById("live-counts").textContent = "frames received " + message.frames_received +
    ", analysed " + message.frames_analysed + (live.browserCamera ? ", not sent (the server was busy) " + live.skipped : "");
  if (message.type === "ready") {
    if (live.browserCamera) startCamera(live).catch(error => { showError("the camera stopped: " + error.message); live.socket.send(JSON.stringify({type: "stop"})); });
    return;
  }
  if (message.type === "frame") {
    live.inFlight = live.inFlight.filter(t => t > message.time_ms + 0.5);
    const list = document.getElementById("live-guidance");
    list.replaceChildren(...message.guidance.map(line => { const item = document.createElement("li"); item.textContent = line; return item; }));
  } else if (message.type === "ended") {
    live.ended = true;
    if (live.stream) live.stream.getTracks().forEach(t => t.stop());
    window.location = "/sessions/" + message.id;
  }
}

function sendCamera(live, stream) {
  // Each camera frame the <video> shows, with its time on the stream's own clock (mediaTime, 0 at the
  // camera's first frame: frames a busy page misses leave a gap, not a shift), else a timer.
  const video = document.getElementById("live-camera");
  video.srcObject = stream;
  video.play();
  const canvas = document.createElement("canvas");
  const send = (picture, width, height, timeMs) => {
    if (live.ended || live.socket.readyState !== WebSocket.OPEN || !width) return;
    if (timeMs <= live.lastTimeMs) return;  // the same camera frame again
    if (live.inFlight.length >= live.maxInFlight) { live.skipped += 1; return; }
    live.lastTimeMs = timeMs;
    canvas.width = width; canvas.height = height;
    canvas.getContext("2d").drawImage(picture, 0, 0);
    live.inFlight.push(timeMs);
    const encoded = new Promise(resolve => canvas.toBlob(resolve, "image/jpeg", LIVE_JPEG_QUALITY));
    live.sending = live.sending.then(() => encoded).then(jpeg => {  // encoded side by side, sent in order
      const time = new DataView(new ArrayBuffer(8));
      time.setFloat64(0, timeMs, true);
      live.socket.send(new Blob([time.buffer, jpeg]));
      live.sent += 1;
    });
  };
  if ("requestVideoFrameCallback" in video) {
    const onFrame = (now, frame) => { send(video, video.videoWidth, video.videoHeight, frame.mediaTime * 1000); if (!live.ended) video.requestVideoFrameCallback(onFrame); };
    video.requestVideoFrameCallback(onFrame);
  } else {
    const started = performance.now();
    const timer = setInterval(() => live.ended ? clearInterval(timer) : send(video, video.videoWidth, video.videoHeight, performance.now() - started), 1000 / 30);
  }
}

const session = document.getElementById("session");
if (session && (session.dataset.status === "queued" || session.dataset.status === "running")) {
  pollSession(session.dataset.id, s => {
    if (s.status === "done" || s.status === "failed") window.location.reload();
    else if (!s.live) showProgress(s.progress, s.status === "running" ? analysingText(s) : s.status);
  });
}

const SVG = "http://www.w3.org/2000/svg";

function dragPoints(box, landmarks) {
  const [width, height] = landmarks.size_px;
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", "0 0 " + width + " " + height);
  box.appendChild(svg);
  const points = {};
  for (const joint of ["hip", "knee", "ankle"]) {
    const dot = document.createElementNS(SVG, "circle");
    dot.setAttribute("r", Math.max(6, width / 80));
    dot.setAttribute("class", "joint joint-" + joint);
    dot.dataset.joint = joint;
    svg.appendChild(dot);
    points[joint] = landmarks.points_px[joint].slice();
    dot.setAttribute("cx", points[joint][0]);
    dot.setAttribute("cy", points[joint][1]);
    dot.addEventListener("pointerdown", e => { dot.setPointerCapture(e.pointerId); dot.dragging = true; });
    dot.addEventListener("pointerup", () => { dot.dragging = false; });
    dot.addEventListener("pointermove", e => {
      if (!dot.dragging) return;
      const m = svg.getScreenCTM().inverse();
      const p = new DOMPoint(e.clientX, e.clientY).matrixTransform(m);
      points[joint] = [p.x, p.y];
      dot.setAttribute("cx", p.x);
      dot.setAttribute("cy", p.y);
    });
  }
  return points;
}

document.querySelectorAll(".picture").forEach(box => {
  const url = "/api/sessions/" + box.dataset.session + "/trials/" + box.dataset.trial + "/landmarks";
  fetch(url).then(r => r.ok ? r.json() : null).then(landmarks => {
    if (!landmarks) return;
    const points = dragPoints(box, landmarks);
    const button = document.querySelector(".rescore[data-trial='" + box.dataset.trial + "']");
    button.addEventListener("click", () => {
      fetch(url, {method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(points)})
        .then(r => r.json()).then(answer => { if (answer.error) alert(answer.error); else window.location.reload(); });
    });
  });
});
