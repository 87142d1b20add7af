// Box editor on a canvas: drag on empty space to draw a box, drag a box to move it, drag a corner to resize
// it, Delete/Backspace removes the selected box. Boxes are [x, y, w, h], top-left, in frame pixels (whole
// numbers once a drag ends); the canvas holds the frame at its own size and CSS scales it to the page.
"use strict";

// One RGB colour per target, as seqtrack.io.annotate.PALETTE draws them in the video.
const PALETTE = ["#00ff00", "#ff4040", "#40a0ff", "#ffdc00", "#ff00ff", "#00ffff", "#ff8c00", "#aa5aff",
  "#8cff8c", "#ffffff"];
const MIN_SIDE = 4; // pixels: a shorter drag is a click, not a box
const MAX_BOXES = 10;

class BoxEditor {
  constructor(canvas, onChange) {
    this.canvas = canvas;
    this.context = canvas.getContext("2d");
    this.onChange = onChange;
    this.image = null;
    this.boxes = [];
    this.selected = -1;
    this.enabled = false;
    this.drag = null; // {mode: "new" | "move" | corner name, box index, start point, box at start}
    canvas.addEventListener("mousedown", (event) => this.down(event));
    window.addEventListener("mousemove", (event) => this.move(event));
    window.addEventListener("mouseup", (event) => this.up(event));
    canvas.addEventListener("keydown", (event) => this.key(event));
  }

  // Show a frame (an Image or ImageBitmap); the canvas takes the frame's size in pixels.
  setImage(image) {
    this.image = image;
    this.canvas.width = image.naturalWidth || image.width;
    this.canvas.height = image.naturalHeight || image.height;
    this.draw();
  }

  setBoxes(boxes) {
    this.boxes = boxes.map((box) => box.slice());
    this.selected = this.boxes.length ? 0 : -1;
    this.draw();
    this.onChange(this.boxes);
  }

  remove(index) {
    this.boxes.splice(index, 1);
    this.selected = Math.min(this.selected, this.boxes.length - 1);
    this.draw();
    this.onChange(this.boxes);
  }

  // Mouse position in frame pixels (the canvas may be shown smaller or larger than the frame).
  point(event) {
    const rect = this.canvas.getBoundingClientRect();
    const x = ((event.clientX - rect.left) * this.canvas.width) / rect.width;
    const y = ((event.clientY - rect.top) * this.canvas.height) / rect.height;
    return [Math.min(Math.max(x, 0), this.canvas.width), Math.min(Math.max(y, 0), this.canvas.height)];
  }

  // Grab radius of a corner handle, in frame pixels (about 8 screen pixels whatever the scale).
  handleRadius() {
    const rect = this.canvas.getBoundingClientRect();
    return (8 * this.canvas.width) / Math.max(rect.width, 1);
  }

  // What is under [x, y]: a corner of the selected box first, then the top-most box containing the point.
  hit(x, y) {
    const radius = this.handleRadius();
    const order = this.boxes.map((_, k) => k).reverse();
    if (this.selected >= 0) order.unshift(this.selected);
    for (const k of order) {
      const [bx, by, bw, bh] = this.boxes[k];
      const corners = { nw: [bx, by], ne: [bx + bw, by], sw: [bx, by + bh], se: [bx + bw, by + bh] };
      for (const [name, [cx, cy]] of Object.entries(corners)) {
        if (Math.abs(x - cx) <= radius && Math.abs(y - cy) <= radius) return { mode: name, index: k };
      }
    }
    for (const k of order) {
      const [bx, by, bw, bh] = this.boxes[k];
      if (x >= bx && x <= bx + bw && y >= by && y <= by + bh) return { mode: "move", index: k };
    }
    return null;
  }

  down(event) {
    if (!this.enabled || !this.image || event.button !== 0) return;
    event.preventDefault();
    this.canvas.focus();
    const [x, y] = this.point(event);
    const found = this.hit(x, y);
    if (found) {
      this.selected = found.index;
      this.drag = { ...found, start: [x, y], box: this.boxes[found.index].slice() };
    } else if (this.boxes.length < MAX_BOXES) {
      this.boxes.push([x, y, 0, 0]);
      this.selected = this.boxes.length - 1;
      this.drag = { mode: "new", index: this.selected, start: [x, y], box: [x, y, 0, 0] };
    }
    this.draw();
  }

  move(event) {
    if (!this.drag) {
      if (this.enabled && event.target === this.canvas) {
        const found = this.hit(...this.point(event));
        const cursors = { move: "move", nw: "nwse-resize", se: "nwse-resize", ne: "nesw-resize", sw: "nesw-resize" };
        this.canvas.style.cursor = found ? cursors[found.mode] : "crosshair";
      }
      return;
    }
    const [x, y] = this.point(event);
    const [dx, dy] = [x - this.drag.start[0], y - this.drag.start[1]];
    const [bx, by, bw, bh] = this.drag.box;
    let corners; // [x1, y1, x2, y2]
    if (this.drag.mode === "new") corners = [this.drag.start[0], this.drag.start[1], x, y];
    else if (this.drag.mode === "move") {
      const nx = Math.min(Math.max(bx + dx, 0), this.canvas.width - bw);
      const ny = Math.min(Math.max(by + dy, 0), this.canvas.height - bh);
      corners = [nx, ny, nx + bw, ny + bh];
    } else {
      corners = [bx, by, bx + bw, by + bh];
      if (this.drag.mode.includes("w")) corners[0] = bx + dx;
      if (this.drag.mode.includes("e")) corners[2] = bx + bw + dx;
      if (this.drag.mode.includes("n")) corners[1] = by + dy;
      if (this.drag.mode.includes("s")) corners[3] = by + bh + dy;
    }
    const [x1, x2] = [Math.min(corners[0], corners[2]), Math.max(corners[0], corners[2])];
    const [y1, y2] = [Math.min(corners[1], corners[3]), Math.max(corners[1], corners[3])];
    this.boxes[this.drag.index] = [x1, y1, x2 - x1, y2 - y1];
    this.draw();
  }

  up() {
    if (!this.drag) return;
    const index = this.drag.index;
    const [x, y, w, h] = this.boxes[index];
    // Whole pixels: what the page shows, what the run uses, what `seqtrack track --box` would be given.
    const x1 = Math.round(x), y1 = Math.round(y);
    this.boxes[index] = [x1, y1, Math.round(x + w) - x1, Math.round(y + h) - y1];
    if (this.boxes[index][2] < MIN_SIDE || this.boxes[index][3] < MIN_SIDE) {
      if (this.drag.mode === "new") this.boxes.splice(index, 1);
      else this.boxes[index] = this.drag.box;
      this.selected = this.boxes.length - 1;
    }
    this.drag = null;
    this.draw();
    this.onChange(this.boxes);
  }

  key(event) {
    if (!this.enabled || this.selected < 0) return;
    if (event.key === "Delete" || event.key === "Backspace") {
      event.preventDefault();
      this.remove(this.selected);
    }
  }

  draw() {
    const ctx = this.context;
    ctx.clearRect(0, 0, this.canvas.width, this.canvas.height);
    if (this.image) ctx.drawImage(this.image, 0, 0);
    const scale = this.canvas.width / Math.max(this.canvas.getBoundingClientRect().width, 1);
    ctx.lineWidth = 2 * scale;
    this.boxes.forEach(([x, y, w, h], k) => {
      ctx.strokeStyle = PALETTE[k % PALETTE.length];
      ctx.setLineDash(k === this.selected ? [] : [6 * scale, 4 * scale]);
      ctx.strokeRect(x, y, w, h);
      if (k !== this.selected || !this.enabled) return;
      ctx.fillStyle = ctx.strokeStyle;
      const r = 4 * scale;
      for (const [cx, cy] of [[x, y], [x + w, y], [x, y + h], [x + w, y + h]]) ctx.fillRect(cx - r, cy - r, 2 * r, 2 * r);
    });
    ctx.setLineDash([]);
  }
}

window.BoxEditor = BoxEditor;
window.PALETTE = PALETTE;
