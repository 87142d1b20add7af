// The score over time: one line per target (the tracker's confidence, 0..40 scale; the init frame has none),
// and a cursor at the frame being shown.
"use strict";

function drawScorePlot(canvas, results, cursor) {
  const ctx = canvas.getContext("2d");
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth || canvas.width, height = canvas.clientHeight || canvas.height;
  canvas.width = Math.round(width * ratio);
  canvas.height = Math.round(height * ratio);
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.clearRect(0, 0, width, height);
  const pad = { left: 40, right: 10, top: 10, bottom: 22 };
  const plotW = width - pad.left - pad.right, plotH = height - pad.top - pad.bottom;
  const scores = results.flatMap((r) => r.scores.filter((s) => s !== null));
  const top = Math.max(1, ...scores) * 1.1;
  const last = Math.max(results.length - 1, 1);
  const xAt = (k) => pad.left + (k / last) * plotW;
  const yAt = (s) => pad.top + plotH - (s / top) * plotH;

  ctx.strokeStyle = "#d5dae0";
  ctx.fillStyle = "#66707c";
  ctx.font = "11px system-ui, sans-serif";
  ctx.lineWidth = 1;
  for (const s of [0, top / 2, top]) {
    ctx.beginPath();
    ctx.moveTo(pad.left, yAt(s));
    ctx.lineTo(pad.left + plotW, yAt(s));
    ctx.stroke();
    ctx.fillText(s.toFixed(1), 4, yAt(s) + 4);
  }
  ctx.fillText("score", pad.left + 4, pad.top + 10);
  if (results.length) {
    ctx.fillText(`frame ${results[0].index}`, pad.left, height - 6);
    const end = `frame ${results[results.length - 1].index}`;
    ctx.fillText(end, pad.left + plotW - ctx.measureText(end).width, height - 6);
  }
  const targets = results.length ? results[0].scores.length : 0;
  for (let t = 0; t < targets; t++) {
    ctx.strokeStyle = window.PALETTE[t % window.PALETTE.length] === "#00ff00" ? "#0a9d2e" : window.PALETTE[t % 10];
    ctx.lineWidth = 1.5;
    ctx.beginPath();
    let drawing = false;
    results.forEach((r, k) => {
      const s = r.scores[t];
      if (s === null) { drawing = false; return; }
      if (drawing) ctx.lineTo(xAt(k), yAt(s));
      else ctx.moveTo(xAt(k), yAt(s));
      drawing = true;
    });
    ctx.stroke();
  }
  if (cursor !== null && cursor >= 0 && results.length) {
    ctx.strokeStyle = "#1f6feb";
    ctx.beginPath();
    ctx.moveTo(xAt(cursor), pad.top);
    ctx.lineTo(xAt(cursor), pad.top + plotH);
    ctx.stroke();
  }
}

window.drawScorePlot = drawScorePlot;
