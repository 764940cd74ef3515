// hamflex web app: upload with progress, status polling, landmark dragging. No framework, no CDN.
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
        showProgress(s.progress, s.status === "running" ? "analysing…" : s.status);
        if (s.status === "done" || s.status === "failed") window.location = "/sessions/" + s.id;
      });
    };
    request.onerror = () => showError("the upload did not reach the server");
    request.send(data);
  });
}

const session = document.getElementById("session");
if (session && (session.dataset.status === "queued" || session.dataset.status === "running")) {
  pollSession(session.dataset.id, s => {
    if (s.status === "done" || s.status === "failed") window.location.reload();
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
