// The page: open a video, draw boxes (editor.js), run the tracker and show its frames as they stream in,
// then play the result back with the score plot (plot.js) and offer the downloads. Talks to server.py only.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { info: null, video: null, results: [], run: null, playing: null, total: null };
let editor = null;

async function api(path, options = {}) {
  const response = await fetch(path, options);
  const data = await response.json().catch(() => ({ error: `the server answered ${response.status}` }));
  if (!response.ok) throw new Error(data.error || data.detail || `the server answered ${response.status}`);
  return data;
}

function showMessage(text, kind = "error") {
  const box = $("message");
  box.textContent = text;
  box.className = kind === "error" ? "" : kind;
  box.hidden = !text;
}

function setState(name) {
  document.body.dataset.state = name;
  const busy = name === "running" || name === "paused" || name === "starting";
  const editing = name === "ready";
  $("run").disabled = !(editing && editor.boxes.length);
  $("pause").disabled = !busy;
  $("pause").textContent = name === "paused" ? "Resume" : "Pause";
  $("stop").disabled = !busy;
  $("edit").disabled = busy || editing || !state.video;
  for (const id of ["open-demo", "open-named", "upload", "start-frame", "prev-frame", "next-frame", "max-frames"]) {
    $(id).disabled = busy;
  }
  $("tracker").disabled = busy;
  $("hint").hidden = !(editing || name === "idle");
  $("play").disabled = busy;
  $("scrub").disabled = busy;
  editor.enabled = editing;
  if (editing) editor.draw(); // otherwise the canvas shows the run's frames

}

function fillTrackerForm(info) {
  $("weights").textContent = `weights: ${info.weights}`;
  for (const name of info.presets) $("updates").add(new Option(name, name));
  for (const name of info.backends) $("backend").add(new Option(name, name, false, name === info.backend));
  for (const [name, field] of Object.entries(info.fields)) {
    const label = document.createElement("label");
    const input = document.createElement("input");
    Object.assign(input, { type: "number", id: `field-${name}`, placeholder: "weights'", step: "any" });
    input.dataset.field = name;
    label.append(`${field.label} `, input);
    $("fields").append(label);
  }
  $("open-demo").hidden = !info.demo;
  $("open-named").parentElement.hidden = !info.videos;
}

async function init() {
  editor = new BoxEditor($("canvas"), boxesChanged);
  try {
    state.info = await api("/api/info");
  } catch (error) {
    showMessage(`cannot reach the server: ${error.message}`);
    return;
  }
  fillTrackerForm(state.info);
  if (state.info.videos) {
    const { videos } = await api("/api/videos");
    for (const name of videos) $("video-list").append(new Option(name));
  }
  $("open-demo").onclick = () => openVideo(api("/api/open", json({ source: "demo" })));
  $("open-named").onclick = () => openVideo(api("/api/open", json({ source: "videos", name: $("video-name").value })));
  $("upload").onchange = upload;
  $("start-frame").onchange = () => loadFrame(Number($("start-frame").value));
  $("prev-frame").onclick = () => stepFrame(-1);
  $("next-frame").onclick = () => stepFrame(1);
  $("run").onclick = startRun;
  $("pause").onclick = () => control(document.body.dataset.state === "paused" ? "resume" : "pause");
  $("stop").onclick = () => control("stop");
  $("edit").onclick = editBoxes;
  $("play").onclick = togglePlay;
  $("scrub").oninput = () => showResult(Number($("scrub").value));
  window.addEventListener("resize", () => state.results.length && drawScorePlot($("plot"), state.results, null));
  setState("idle");
}

function json(body) {
  return { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) };
}

async function upload() {
  const file = $("upload").files[0];
  if (!file) return;
  if (file.size > state.info.max_upload_bytes) {
    showMessage(`upload '${file.name}' is larger than the limit of ${state.info.max_upload_bytes / 1e6} MB`);
    return;
  }
  showMessage(`uploading ${file.name} ...`, "info");
  await openVideo(api(`/api/upload?filename=${encodeURIComponent(file.name)}`, { method: "POST", body: file }));
  $("upload").value = "";
}

async function openVideo(request) {
  try {
    const video = await request;
    state.video = video;
    showMessage("");
    const frames = video.frames === null ? "? frames" : `${video.frames} frames`;
    $("video-label").textContent = `${video.label}: ${frames}, ${video.fps.toFixed(2)} fps, ` +
      `${video.size[1]}x${video.size[0]}`;
    $("start-frame").value = video.start_frame;
    $("max-frames").value = video.max_frames === null ? "" : video.max_frames;
    $("results").hidden = true;
    editor.setBoxes([]);
    await loadFrame(video.start_frame);
  } catch (error) {
    showMessage(error.message);
  }
}

function stepFrame(delta) {
  const index = Math.max(0, Number($("start-frame").value) + delta);
  $("start-frame").value = index;
  loadFrame(index);
}

async function loadFrame(index) {
  if (!state.video) return;
  const response = await fetch(`/api/frame/${state.video.id}/${index}`);
  if (!response.ok) {
    const data = await response.json().catch(() => ({}));
    showMessage(data.error || `frame ${index} cannot be shown`);
    return;
  }
  const image = new Image();
  image.src = URL.createObjectURL(await response.blob());
  await image.decode();
  editor.setImage(image);
  $("results").hidden = true;
  setState("ready");
}

function boxesChanged(boxes) {
  const list = $("box-list");
  list.replaceChildren();
  boxes.forEach((box, k) => {
    const item = document.createElement("li");
    item.style.color = PALETTE[k % PALETTE.length] === "#00ff00" ? "#0a9d2e" : PALETTE[k % PALETTE.length];
    const remove = Object.assign(document.createElement("button"), { type: "button", textContent: "delete" });
    remove.onclick = () => editor.remove(k);
    item.append(box.map((v) => Math.round(v)).join(","), remove);
    list.append(item);
  });
  list.dataset.boxes = JSON.stringify(boxes);
  $("run").disabled = !(document.body.dataset.state === "ready" && boxes.length);
}

function runRequest() {
  const number = (id) => ($(id).value === "" ? null : Number($(id).value));
  const fields = {};
  for (const input of $("fields").querySelectorAll("input")) {
    if (input.value !== "") fields[input.dataset.field] = Number(input.value);
  }
  return {
    video: state.video.id, boxes: editor.boxes, start_frame: number("start-frame"), max_frames: number("max-frames"),
    backend: $("backend").value, settings: $("settings").value, updates: $("updates").value,
    update_interval: number("update-interval"), update_threshold: number("update-threshold"), fields,
    write_video: $("write-video").checked,
  };
}

async function startRun() {
  stopPlayback();
  state.results = [];
  state.total = null;
  $("results").hidden = true;
  $("downloads").replaceChildren();
  showMessage("");
  setState("starting");
  let response;
  try {
    response = await fetch("/api/track", json(runRequest()));
    if (!response.ok) throw new Error((await response.json().catch(() => ({}))).error || `error ${response.status}`);
  } catch (error) {
    showMessage(error.message);
    setState("ready");
    return;
  }
  let ended = false;
  try {
    ended = await readEvents(response.body.getReader());
  } catch (error) {
    showMessage(`the stream broke off: ${error.message}`);
  }
  if (!ended) {
    showMessage("the connection to the server was lost before the run ended");
    setState("error");
  }
}

// Reads the run's JSON lines until the end event; true once it came.
async function readEvents(reader) {
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return false;
    buffer += decoder.decode(value, { stream: true });
    let newline;
    while ((newline = buffer.indexOf("\n")) >= 0) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + 1);
      if (line.trim() && handleEvent(JSON.parse(line))) return true;
    }
  }
}

// One event of the run; true for the last one.
function handleEvent(event) {
  if (event.type === "status") $("status").textContent = `${event.message} ...`;
  else if (event.type === "start") {
    state.total = event.frames;
    $("results").hidden = false; // the score plot grows as the frames come
    setState("running");
  } else if (event.type === "paused") setState("paused");
  else if (event.type === "resumed") setState("running");
  else if (event.type === "frame") {
    state.results.push({ index: event.index, boxes: event.boxes, scores: event.scores, jpeg: event.jpeg });
    showFrame(event.jpeg);
    const score = event.scores.map((s) => (s === null ? "-" : s.toFixed(2))).join(" ");
    const total = state.total === null ? "" : `/${state.total}`;
    $("status").innerHTML = "";
    $("status").append(`frame ${event.count}${total} (#${event.index}) · score ${score} · `,
      Object.assign(document.createElement("span"), { id: "fps", textContent: event.fps.toFixed(1) }), " fps");
    if (event.count % 10 === 0) drawScorePlot($("plot"), state.results, null);
  } else if (event.type === "end") {
    finishRun(event);
    return true;
  }
  return false;
}

let shownFrame = 0;
function showFrame(jpeg) {
  const ticket = ++shownFrame;
  const image = new Image();
  image.src = `data:image/jpeg;base64,${jpeg}`;
  image.decode().then(() => {
    if (ticket !== shownFrame) return; // a later frame was decoded first
    const canvas = $("canvas");
    if (canvas.width !== image.naturalWidth) [canvas.width, canvas.height] = [image.naturalWidth, image.naturalHeight];
    canvas.getContext("2d").drawImage(image, 0, 0);
  }, () => {});
}

function finishRun(event) {
  const fps = event.fps === null ? "" : `, ${event.fps.toFixed(1)} fps (tracker)`;
  const score = event.mean_score === null ? "" : `, mean score ${event.mean_score.toFixed(2)}`;
  if (event.state === "error") showMessage(event.message);
  const verb = { done: "tracked", stopped: "stopped after", error: "failed after" }[event.state];
  $("status").textContent = `${verb} ${event.frames} frames${fps}${score}`;
  for (const name of event.downloads) {
    const link = Object.assign(document.createElement("a"), { href: `/api/download/${name}`, textContent: name });
    link.download = name;
    $("downloads").append(link);
  }
  if (state.results.length) {
    $("results").hidden = false;
    $("scrub").max = state.results.length - 1;
    $("scrub").value = state.results.length - 1;
    showResult(state.results.length - 1);
  }
  setState(event.state);
}

function showResult(k) {
  const result = state.results[k];
  if (!result) return;
  showFrame(result.jpeg);
  $("scrub").value = k;
  const score = result.scores.map((s) => (s === null ? "-" : s.toFixed(2))).join(" ");
  $("scrub-label").textContent = `frame #${result.index} · score ${score}`;
  drawScorePlot($("plot"), state.results, k);
}

function togglePlay() {
  if (state.playing) return stopPlayback();
  let k = Number($("scrub").value);
  if (k >= state.results.length - 1) k = 0;
  $("play").textContent = "Pause";
  state.playing = setInterval(() => {
    showResult(k);
    if (++k >= state.results.length) stopPlayback();
  }, 1000 / Math.min(Math.max(state.video.fps, 1), 60));
}

function stopPlayback() {
  clearInterval(state.playing);
  state.playing = null;
  $("play").textContent = "Play";
}

async function control(action) {
  try {
    await api("/api/control", json({ action }));
  } catch (error) {
    showMessage(error.message);
  }
}

async function editBoxes() {
  stopPlayback();
  await loadFrame(Number($("start-frame").value));
}

window.addEventListener("DOMContentLoaded", init);
