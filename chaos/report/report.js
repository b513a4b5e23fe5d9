/* The report page: a canvas timeline of every operation, fault bands, the counterexample,
 * and latency / throughput plots that follow the timeline's window.
 *
 * The data is one JSON document of parallel arrays (see chaos/report/data.py). Only the
 * visible window is drawn: each row's operations are sorted and non-overlapping, so a binary
 * search finds the first visible one, and operations narrower than a pixel are merged into
 * one pixel column. A 100,000-operation history therefore costs about as much per frame as
 * the pixels on screen, not the operations in the file.
 *
 * Every piece of user data reaches the page through textContent or canvas text: nothing here
 * parses a string as HTML.
 */
(function () {
  "use strict";

  var raw = JSON.parse(document.getElementById("chaos-data").textContent);
  var O = raw.ops;
  var N = O.id.length;
  var unit = raw.unit;
  var SPAN = Math.max(raw.span, 1);
  var tables = raw.tables;

  var call = Float64Array.from(O.c);
  var end = Float64Array.from(O.e);
  var lane = Int32Array.from(O.lane);
  var status = Uint8Array.from(O.s);
  var fIdx = Int32Array.from(O.f);
  var kIdx = Int32Array.from(O.k);
  var pIdx = Int32Array.from(O.p);
  var errIdx = Int32Array.from(O.err);
  var role = Uint8Array.from(O.role);
  var nLanes = raw.lanes.length;

  var STATUS = ["ok", "fail", "info"];
  var FILL = ["#6db6fe", "#feb5da", "#ffaa26"];
  var EDGE = ["#3a8fd9", "#d9709f", "#cc7f00"];
  var PREFIX = "#5b3cc4", FAILED = "#e0001b", FAULT = "rgba(120,120,120,0.16)", FAULT_EDGE = "#8a8a8a";
  var ROLE_NAME = ["", "linearizable prefix", "cannot be placed", "concurrent with the failure"];

  // Each row's operations in call order; their ends are ascending too (a process has one call
  // outstanding at a time, and a row holds one process after another).
  var laneOps = [];
  (function () {
    var counts = new Int32Array(nLanes), fill = new Int32Array(nLanes), i;
    for (i = 0; i < N; i++) counts[lane[i]]++;
    for (i = 0; i < nLanes; i++) laneOps.push(new Int32Array(counts[i]));
    for (i = 0; i < N; i++) laneOps[lane[i]][fill[lane[i]]++] = i;
  })();
  var posOfId = new Map();
  for (var q = 0; q < N; q++) posOfId.set(O.id[q], q);

  var F = raw.faults;
  var nFaults = F.start.length;
  var ces = raw.counterexamples;
  var activeCe = ces.length ? 0 : -1;
  var keyFilter = -1;
  var showFaults = true;
  var selected = -1;
  var view = { t0: 0, t1: SPAN };
  var stats = { drawnOps: 0, drawnHighlights: 0, drawnFailed: 0, drawnFaults: 0, frames: 0, drawMs: [] };

  // ------------------------------------------------------------------ formatting

  function fmtDur(d) {
    if (unit !== "ns") return (Math.round(d * 10) / 10) + " ev";
    var a = Math.abs(d);
    if (a < 1e3) return d.toFixed(0) + " ns";
    if (a < 1e6) return (d / 1e3).toFixed(a < 1e4 ? 2 : 1) + " µs";
    if (a < 1e9) return (d / 1e6).toFixed(a < 1e7 ? 3 : a < 1e8 ? 2 : 1) + " ms";
    if (a < 600e9) return (d / 1e9).toFixed(a < 1e10 ? 3 : 2) + " s";
    var s = Math.round(d / 1e9);
    return Math.floor(s / 60) + "m" + String(s % 60).padStart(2, "0") + "s";
  }

  function fmtTick(t, step) {
    if (unit !== "ns") return String(Math.round(t));
    var digits;
    if (step >= 1e9) { digits = Math.max(0, -Math.floor(Math.log10(step / 1e9))); return (t / 1e9).toFixed(digits) + "s"; }
    if (step >= 1e6) { digits = Math.max(0, -Math.floor(Math.log10(step / 1e6))); return (t / 1e6).toFixed(digits) + "ms"; }
    if (step >= 1e3) { digits = Math.max(0, -Math.floor(Math.log10(step / 1e3))); return (t / 1e3).toFixed(digits) + "µs"; }
    return t.toFixed(0) + "ns";
  }

  function niceStep(range, target) {
    var raw = range / Math.max(1, target);
    var mag = Math.pow(10, Math.floor(Math.log10(raw)));
    var r = raw / mag;
    var nice = r < 1.5 ? 1 : r < 3.5 ? 2 : r < 7.5 ? 5 : 10;
    return Math.max(nice * mag, unit === "ns" ? 1 : 1);
  }

  function jsonText(v) {
    if (v === null || v === undefined) return "nil";
    if (typeof v === "string") return v;
    try { return JSON.stringify(v); } catch (e) { return String(v); }
  }

  function opLabel(i) {
    var parts = [tables.f[fIdx[i]]];
    var key = tables.key[kIdx[i]];
    if (key) parts.push(key);
    var v = O.v[i];
    if (v !== null && v !== undefined) parts.push(jsonText(v));
    if (status[i] === 0 && O.o[i] !== null && JSON.stringify(O.o[i]) !== JSON.stringify(v)) parts.push("→ " + jsonText(O.o[i]));
    else if (status[i] === 0 && O.o[i] === null && (v === null || v === undefined)) parts.push("→ nil");
    return parts.join(" ");
  }

  // ------------------------------------------------------------------ search helpers

  function firstEndAtLeast(arr, t) { // arr: op indices with ascending ends
    var lo = 0, hi = arr.length;
    while (lo < hi) { var mid = (lo + hi) >> 1; if (end[arr[mid]] < t) lo = mid + 1; else hi = mid; }
    return lo;
  }
  function lowerBound(values, t) {
    var lo = 0, hi = values.length;
    while (lo < hi) { var mid = (lo + hi) >> 1; if (values[mid] < t) lo = mid + 1; else hi = mid; }
    return lo;
  }

  var byEnd = null, endSorted = null;
  function ensureByEnd() {
    if (byEnd) return;
    byEnd = new Int32Array(N);
    for (var i = 0; i < N; i++) byEnd[i] = i;
    byEnd.sort(function (a, b) { return end[a] - end[b]; });
    endSorted = new Float64Array(N);
    for (var j = 0; j < N; j++) endSorted[j] = end[byEnd[j]];
  }

  // ------------------------------------------------------------------ elements and layout

  // taller rows while there are few of them, so bar labels stay readable
  var GUTTER = 112, AXIS = 22, NEM = 14, ROW = nLanes <= 24 ? 22 : 16, BAR = ROW - 6, MAX_H = 560;
  var scroller = document.getElementById("timeline-scroll");
  var canvas = document.getElementById("timeline");
  var spacer = document.getElementById("timeline-spacer");
  var ctx = canvas.getContext("2d");
  var overview = document.getElementById("overview");
  var octx = overview.getContext("2d");
  var latCanvas = document.getElementById("latency-chart");
  var thrCanvas = document.getElementById("throughput-chart");
  var tooltip = document.getElementById("tooltip");
  var rangeLabel = document.getElementById("view-range");
  var dpr = 1, cw = 0, ch = 0, overviewImage = null;

  function layout() {
    dpr = window.devicePixelRatio || 1;
    cw = Math.max(200, scroller.clientWidth);
    var content = AXIS + NEM + nLanes * ROW + 8;
    ch = Math.min(content, MAX_H);
    scroller.style.height = ch + "px";
    spacer.style.height = Math.max(0, content - ch) + "px";
    sizeCanvas(canvas, cw, ch);
    sizeCanvas(overview, cw, 36);
    var chartW = Math.max(200, latCanvas.clientWidth);
    sizeCanvas(latCanvas, chartW, 220);
    sizeCanvas(thrCanvas, chartW, 220);
    overviewImage = null;
  }

  function sizeCanvas(c, w, h) {
    c.width = Math.round(w * dpr);
    c.height = Math.round(h * dpr);
    c.style.width = w + "px";
    c.style.height = h + "px";
  }

  function xOf(t) { return GUTTER + (t - view.t0) * (cw - GUTTER) / (view.t1 - view.t0); }
  function tOf(x) { return view.t0 + (x - GUTTER) * (view.t1 - view.t0) / (cw - GUTTER); }
  function laneTop(l) { return AXIS + NEM + l * ROW - scroller.scrollTop; }

  // ------------------------------------------------------------------ timeline

  function drawTimeline() {
    var t0 = view.t0, t1 = view.t1, W = cw - GUTTER, sx = W / (t1 - t0);
    var top = AXIS + NEM;
    var scrollY = scroller.scrollTop;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, cw, ch);
    ctx.font = "11px system-ui, sans-serif";
    ctx.textBaseline = "alphabetic";

    // fault bands, behind everything, across all rows; their names in the fault row
    stats.drawnFaults = 0;
    if (showFaults && nFaults) {
      var lastCol = -1;
      for (var f = 0; f < nFaults; f++) {
        var fs = F.start[f], fe = F.end[f];
        if (fe < t0 || fs > t1) continue;
        var x0 = Math.max(GUTTER, GUTTER + (fs - t0) * sx), x1 = Math.min(cw, GUTTER + (fe - t0) * sx);
        if (x1 - x0 < 1) { // an instantaneous fault: a tick in the fault row, a faint line below
          var col = x0 | 0;
          if (col === lastCol) continue;
          lastCol = col;
          ctx.fillStyle = "rgba(120,120,120,0.13)";
          ctx.fillRect(col, AXIS + NEM, 1, ch - AXIS - NEM);
          ctx.fillStyle = "#6b6b6b";
          ctx.fillRect(col - 0.5, AXIS + 2, 2, NEM - 4);
        } else {
          ctx.fillStyle = FAULT;
          ctx.fillRect(x0, AXIS, x1 - x0, ch - AXIS);
          ctx.fillStyle = "#b5b5b5";
          ctx.fillRect(x0, AXIS + 1, x1 - x0, NEM - 3);
          if (x1 - x0 > 40) {
            ctx.fillStyle = "#333";
            clippedText(F.names[F.name[f]] + (F.detail[f] ? " " + F.detail[f] : ""), x0 + 3, AXIS + NEM - 4, x1 - x0 - 6);
          }
        }
        stats.drawnFaults++;
      }
    }

    // a faint red column behind each operation that could not be placed, across every row
    if (activeCe >= 0) {
      var placed = ces[activeCe].failed;
      ctx.fillStyle = "rgba(224,0,27,0.08)";
      for (var g = 0; g < placed.length; g++) {
        var gi = placed[g];
        if (end[gi] < t0 || call[gi] > t1) continue;
        var gx0 = Math.max(GUTTER, GUTTER + (call[gi] - t0) * sx), gx1 = Math.min(cw, GUTTER + (end[gi] - t0) * sx);
        ctx.fillRect(gx0 - 2, top, Math.max(5, gx1 - gx0 + 4), ch - top);
      }
    }

    ctx.save();
    ctx.beginPath();
    ctx.rect(GUTTER, top, W, ch - top);
    ctx.clip();
    var firstLane = Math.max(0, Math.floor(scrollY / ROW));
    var lastLane = Math.min(nLanes - 1, Math.floor((scrollY + ch - top) / ROW));
    var highlights = [];
    var drawn = 0, colX = -1, colMask = 0, colRole = 0, y = 0;

    function flush() {
      if (colX < 0) return;
      var s = colMask & 2 ? 1 : colMask & 4 ? 2 : 0; // a failure stays visible when merged
      ctx.fillStyle = FILL[s];
      ctx.fillRect(colX, y, 1, BAR);
      if (colRole) highlights.push(-1 - colX, y, colRole);
      colX = -1; colMask = 0; colRole = 0;
    }

    for (var l = firstLane; l <= lastLane; l++) {
      var arr = laneOps[l];
      y = top + l * ROW - scrollY + (ROW - BAR) / 2;
      if (l % 2 === 1) { ctx.fillStyle = "rgba(0,0,0,0.025)"; ctx.fillRect(GUTTER, y - (ROW - BAR) / 2, W, ROW); }
      for (var j = firstEndAtLeast(arr, t0); j < arr.length; j++) {
        var i = arr[j], c = call[i];
        if (c > t1) break;
        if (keyFilter >= 0 && kIdx[i] !== keyFilter) continue;
        var bx0 = GUTTER + (c - t0) * sx, bx1 = GUTTER + (end[i] - t0) * sx;
        drawn++;
        if (bx1 - bx0 < 1.5) {
          var px = bx0 | 0;
          if (px !== colX) { flush(); colX = px; }
          colMask |= 1 << status[i];
          if (role[i]) colRole |= 1 << role[i];
          continue;
        }
        flush();
        var cx0 = Math.max(bx0, GUTTER - 2), cx1 = Math.min(bx1, cw + 2), w = cx1 - cx0;
        ctx.fillStyle = FILL[status[i]];
        ctx.fillRect(cx0, y, w, BAR);
        if (w > 4) {
          ctx.strokeStyle = EDGE[status[i]];
          ctx.lineWidth = 1;
          ctx.strokeRect(cx0 + 0.5, y + 0.5, w - 1, BAR - 1);
        }
        if (w > 36) {
          ctx.fillStyle = "#1d1f23";
          clippedText(opLabel(i), Math.max(cx0, GUTTER) + 3, y + BAR / 2 + 4, Math.min(cx1, cw) - Math.max(cx0, GUTTER) - 5);
        }
        if (role[i] || i === selected) highlights.push(i, y, 0);
      }
      flush();
    }

    // counterexample outlines on top of the bars
    var nh = 0, nf = 0;
    for (var h = 0; h < highlights.length; h += 3) {
      var what = highlights[h], hy = highlights[h + 1];
      if (what < 0) { // a merged pixel column holding counterexample operations
        var hx = -1 - what, mask = highlights[h + 2];
        if (mask & 4) { ctx.fillStyle = FAILED; ctx.fillRect(hx - 1, hy - 2, 3, BAR + 4); nf++; }
        else if (mask & 2) { ctx.fillStyle = PREFIX; ctx.fillRect(hx, hy + BAR, 1, 2); }
        nh++;
        continue;
      }
      var r = role[what];
      var ox0 = Math.max(xOf(call[what]), GUTTER - 3), ox1 = Math.min(xOf(end[what]), cw + 3);
      if (what === selected) {
        ctx.strokeStyle = "#111"; ctx.lineWidth = 2;
        ctx.strokeRect(ox0 - 2, hy - 3, ox1 - ox0 + 4, BAR + 6);
      }
      if (r === 2) {
        ctx.strokeStyle = FAILED; ctx.lineWidth = 2.5;
        ctx.strokeRect(ox0 - 1, hy - 1.5, Math.max(3, ox1 - ox0 + 2), BAR + 3);
        nf++;
      } else if (r === 1) {
        ctx.strokeStyle = PREFIX; ctx.lineWidth = 1.5;
        ctx.strokeRect(ox0, hy - 0.5, Math.max(2, ox1 - ox0), BAR + 1);
      } else if (r === 3) {
        ctx.strokeStyle = PREFIX; ctx.lineWidth = 1; ctx.setLineDash([3, 2]);
        ctx.strokeRect(ox0, hy - 0.5, Math.max(2, ox1 - ox0), BAR + 1);
        ctx.setLineDash([]);
      }
      if (r) nh++;
    }
    drawLinearization();
    ctx.restore();
    stats.drawnOps = drawn;
    stats.drawnHighlights = nh;
    stats.drawnFailed = nf;

    // failed operations marked on the axis, visible whatever the rows scrolled to
    if (activeCe >= 0) {
      var failed = ces[activeCe].failed;
      for (var m = 0; m < failed.length; m++) {
        var fi = failed[m];
        if (end[fi] < t0 || call[fi] > t1) continue;
        var mx = Math.max(GUTTER, Math.min(cw - 1, xOf((call[fi] + end[fi]) / 2)));
        ctx.fillStyle = FAILED;
        ctx.beginPath();
        ctx.moveTo(mx - 5, AXIS - 9); ctx.lineTo(mx + 5, AXIS - 9); ctx.lineTo(mx, AXIS - 1); ctx.closePath();
        ctx.fill();
      }
    }
    drawAxis(ctx, GUTTER, cw, AXIS, ch);
    drawGutter(firstLane, lastLane, top, scrollY);
    canvas.dataset.drawnOps = String(drawn);
    canvas.dataset.highlighted = String(nh);
    canvas.dataset.failedDrawn = String(nf);
    canvas.dataset.faultsDrawn = String(stats.drawnFaults);
  }

  function clippedText(text, x, y, maxW) {
    if (maxW < 8) return;
    var approx = Math.floor(maxW / 6.2);
    if (text.length > approx) text = text.slice(0, Math.max(1, approx - 1)) + "…";
    ctx.fillText(text, x, y, maxW);
  }

  // Porcupine's picture of a linearizable prefix: a point in each operation where it can take
  // effect, joined in linearization order, then a dashed line to what could not be placed.
  function drawLinearization() {
    if (activeCe < 0) return;
    var ce = ces[activeCe], pts = ce.points, pre = ce.prefix;
    if (!pre.length && !ce.failed.length) return;
    var from = Math.max(0, lowerBound(pts, view.t0) - 1);
    var to = Math.min(pre.length, lowerBound(pts, view.t1) + 1);
    if (to - from > 4000) return; // too dense to read: the outlines say enough at this zoom
    ctx.strokeStyle = PREFIX; ctx.fillStyle = PREFIX; ctx.lineWidth = 1.25;
    ctx.beginPath();
    for (var j = from; j < to; j++) {
      var i = pre[j], x = xOf(pts[j]), y = laneTop(lane[i]) + ROW / 2;
      if (j === from) ctx.moveTo(x, y); else ctx.lineTo(x, y);
    }
    ctx.stroke();
    for (var k = from; k < to; k++) {
      var ii = pre[k];
      ctx.beginPath();
      ctx.arc(xOf(pts[k]), laneTop(lane[ii]) + ROW / 2, 2.5, 0, 6.2832);
      ctx.fill();
    }
    if (pre.length && to === pre.length) {
      var last = pre[pre.length - 1], lx = xOf(pts[pts.length - 1]), ly = laneTop(lane[last]) + ROW / 2;
      ctx.strokeStyle = FAILED; ctx.setLineDash([4, 3]); ctx.lineWidth = 1.5;
      for (var f = 0; f < ce.failed.length; f++) {
        var fi = ce.failed[f];
        ctx.beginPath();
        ctx.moveTo(lx, ly);
        ctx.lineTo(xOf(call[fi]), laneTop(lane[fi]) + ROW / 2);
        ctx.stroke();
      }
      ctx.setLineDash([]);
    }
  }

  function drawAxis(c, left, right, axisH, height) {
    var step = niceStep(view.t1 - view.t0, (right - left) / 110);
    var first = Math.ceil(view.t0 / step) * step;
    c.fillStyle = "#fff";
    c.fillRect(0, 0, right, axisH);
    c.strokeStyle = "#dde1e6"; c.fillStyle = "#6b7078"; c.lineWidth = 1;
    c.font = "11px system-ui, sans-serif";
    for (var t = first; t <= view.t1; t += step) {
      var x = Math.round(left + (t - view.t0) * (right - left) / (view.t1 - view.t0)) + 0.5;
      c.beginPath(); c.moveTo(x, axisH - 5); c.lineTo(x, height); c.globalAlpha = 0.5; c.stroke(); c.globalAlpha = 1;
      c.fillText(fmtTick(t, step), x + 3, axisH - 8);
    }
    c.beginPath(); c.moveTo(left, axisH - 0.5); c.lineTo(right, axisH - 0.5); c.stroke();
  }

  function drawGutter(firstLane, lastLane, top, scrollY) {
    ctx.fillStyle = "#f6f7f9";
    ctx.fillRect(0, AXIS, GUTTER - 4, ch - AXIS);
    ctx.fillStyle = "#6b7078";
    ctx.font = "11px system-ui, sans-serif";
    ctx.fillText("faults", 6, AXIS + NEM - 3);
    ctx.save();
    ctx.beginPath(); ctx.rect(0, top, GUTTER, ch - top); ctx.clip();
    for (var l = firstLane; l <= lastLane; l++) {
      var procs = raw.lanes[l];
      var label = "p" + procs[0] + (procs.length > 1 ? ", p" + procs[1] : "") + (procs.length > 2 ? " +" + (procs.length - 2) : "");
      ctx.fillText(label, 6, top + l * ROW - scrollY + ROW / 2 + 4, GUTTER - 12);
    }
    ctx.restore();
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, GUTTER, AXIS);
  }

  // ------------------------------------------------------------------ overview strip

  function buildOverview() {
    var w = cw, h = 36, cols = Math.max(1, Math.floor(w - GUTTER));
    var off = document.createElement("canvas");
    off.width = Math.round(w * dpr); off.height = Math.round(h * dpr);
    var c = off.getContext("2d");
    c.setTransform(dpr, 0, 0, dpr, 0, 0);
    var counts = [new Float64Array(cols), new Float64Array(cols), new Float64Array(cols)];
    var max = 1, i;
    for (i = 0; i < N; i++) {
      var col = Math.min(cols - 1, Math.floor(call[i] / SPAN * cols));
      var v = ++counts[status[i]][col];
      if (v > max) max = v;
    }
    c.fillStyle = "#f6f7f9"; c.fillRect(0, 0, w, h);
    c.fillStyle = "#6b7078"; c.font = "11px system-ui, sans-serif";
    c.fillText("whole run", 6, 22);
    for (var f = 0; f < nFaults; f++) {
      var fx0 = GUTTER + F.start[f] / SPAN * cols, fx1 = GUTTER + F.end[f] / SPAN * cols;
      c.fillStyle = "rgba(120,120,120,0.25)";
      c.fillRect(fx0, 0, Math.max(1, fx1 - fx0), h);
    }
    for (var x = 0; x < cols; x++) {
      var base = h;
      for (var s = 0; s < 3; s++) {
        var n = counts[s][x];
        if (!n) continue;
        var bh = Math.max(1, (n / max) * (h - 4));
        c.fillStyle = EDGE[s];
        c.fillRect(GUTTER + x, base - bh, 1, bh);
        base -= bh;
      }
    }
    for (var e = 0; e < ces.length; e++) {
      for (var k = 0; k < ces[e].failed.length; k++) {
        c.fillStyle = FAILED;
        c.fillRect(GUTTER + call[ces[e].failed[k]] / SPAN * cols - 1, 0, 3, h);
      }
    }
    overviewImage = off;
  }

  function drawOverview() {
    if (!overviewImage) buildOverview();
    octx.setTransform(1, 0, 0, 1, 0, 0);
    octx.clearRect(0, 0, overview.width, overview.height);
    octx.drawImage(overviewImage, 0, 0);
    octx.setTransform(dpr, 0, 0, dpr, 0, 0);
    var cols = cw - GUTTER;
    var x0 = GUTTER + view.t0 / SPAN * cols, x1 = GUTTER + view.t1 / SPAN * cols;
    octx.fillStyle = "rgba(29,31,35,0.10)";
    octx.fillRect(x0, 0, Math.max(2, x1 - x0), 36);
    octx.strokeStyle = "#1d1f23"; octx.lineWidth = 1;
    octx.strokeRect(x0 + 0.5, 0.5, Math.max(2, x1 - x0) - 1, 35);
  }

  // ------------------------------------------------------------------ charts

  var CL = 64, CR = 12, CT = 10, CB = 24;

  function chartFrame(c, w, h) {
    c.setTransform(dpr, 0, 0, dpr, 0, 0);
    c.clearRect(0, 0, w, h);
    c.font = "11px system-ui, sans-serif";
    if (showFaults) {
      var sx = (w - CL - CR) / (view.t1 - view.t0), lastCol = -1;
      for (var f = 0; f < nFaults; f++) {
        if (F.end[f] < view.t0 || F.start[f] > view.t1) continue;
        var x0 = Math.max(CL, CL + (F.start[f] - view.t0) * sx), x1 = Math.min(w - CR, CL + (F.end[f] - view.t0) * sx);
        if (x1 - x0 < 1) { // instantaneous: a tick along the top edge
          if ((x0 | 0) === lastCol) continue;
          lastCol = x0 | 0;
          c.fillStyle = "#8a8a8a"; c.fillRect(lastCol, CT, 1, 7);
        } else {
          c.fillStyle = FAULT; c.fillRect(x0, CT, x1 - x0, h - CT - CB);
        }
      }
    }
  }

  function chartXAxis(c, w, h) {
    var step = niceStep(view.t1 - view.t0, (w - CL - CR) / 110);
    c.strokeStyle = "#dde1e6"; c.fillStyle = "#6b7078"; c.lineWidth = 1;
    for (var t = Math.ceil(view.t0 / step) * step; t <= view.t1; t += step) {
      var x = Math.round(CL + (t - view.t0) * (w - CL - CR) / (view.t1 - view.t0)) + 0.5;
      c.beginPath(); c.moveTo(x, h - CB); c.lineTo(x, h - CB + 4); c.stroke();
      c.fillText(fmtTick(t, step), x + 2, h - 8);
    }
    c.beginPath(); c.moveTo(CL, h - CB + 0.5); c.lineTo(w - CR, h - CB + 0.5); c.moveTo(CL - 0.5, CT); c.lineTo(CL - 0.5, h - CB); c.stroke();
  }

  var latMin = Infinity, latMax = 0;
  for (var z = 0; z < N; z++) {
    var d = end[z] - call[z];
    if (d > 0 && d < latMin) latMin = d;
    if (d > latMax) latMax = d;
  }
  if (!isFinite(latMin)) { latMin = 1; latMax = 10; }
  var logLo = Math.floor(Math.log10(latMin)), logHi = Math.max(logLo + 1, Math.ceil(Math.log10(Math.max(latMax, 1))));

  var latLog = new Float32Array(N); // log10 latency of each operation, computed once
  for (var zz = 0; zz < N; zz++) latLog[zz] = Math.log10(Math.max(end[zz] - call[zz], latMin));

  function drawLatency() {
    var w = latCanvas.width / dpr, h = latCanvas.height / dpr, c = latCanvas.getContext("2d");
    chartFrame(c, w, h);
    var pw = Math.max(1, Math.floor(w - CL - CR)), ph = Math.max(1, Math.floor(h - CT - CB));
    var seen = new Uint8Array(pw * ph);
    var sx = pw / (view.t1 - view.t0), sy = ph / (logHi - logLo);
    var from = lowerBound(call, view.t0), to = lowerBound(call, view.t1 + 1e-9);
    var rare = [];
    // one pass: ok points now, the rarer outcomes afterwards so they stay on top
    c.fillStyle = EDGE[0];
    for (var i = from; i < to; i++) {
      if (keyFilter >= 0 && kIdx[i] !== keyFilter) continue;
      var px = ((call[i] - view.t0) * sx) | 0;
      var py = ph - 1 - (((latLog[i] - logLo) * sy) | 0);
      if (px < 0 || px >= pw || py < 0 || py >= ph) continue;
      var s = status[i];
      if (s !== 0) { rare.push(i, px, py); continue; }
      var cell = py * pw + px;
      if (seen[cell]) continue;
      seen[cell] = 1;
      c.fillRect(CL + px, CT + py, 2, 2);
    }
    for (var r = 0; r < rare.length; r += 3) {
      var cellR = rare[r + 2] * pw + rare[r + 1], bit = 1 << status[rare[r]];
      if (seen[cellR] & bit) continue;
      seen[cellR] |= bit;
      c.fillStyle = EDGE[status[rare[r]]];
      c.fillRect(CL + rare[r + 1], CT + rare[r + 2], 2, 2);
    }
    if (activeCe >= 0) {
      var failed = ces[activeCe].failed;
      c.strokeStyle = FAILED; c.lineWidth = 2;
      for (var k = 0; k < failed.length; k++) {
        var fi = failed[k];
        if (call[fi] < view.t0 || call[fi] > view.t1) continue;
        c.beginPath();
        c.arc(CL + (call[fi] - view.t0) * sx, CT + ph - (Math.log10(Math.max(end[fi] - call[fi], latMin)) - logLo) * sy, 5, 0, 6.2832);
        c.stroke();
      }
    }
    c.strokeStyle = "#dde1e6"; c.fillStyle = "#6b7078";
    for (var e = logLo; e <= logHi; e++) {
      var y = CT + ph - (e - logLo) * sy + 0.5;
      c.beginPath(); c.moveTo(CL, y); c.lineTo(w - CR, y); c.globalAlpha = 0.6; c.stroke(); c.globalAlpha = 1;
      c.fillText(fmtDur(Math.pow(10, e)), 4, y + 4);
    }
    chartXAxis(c, w, h);
  }

  function drawThroughput() {
    ensureByEnd();
    var w = thrCanvas.width / dpr, h = thrCanvas.height / dpr, c = thrCanvas.getContext("2d");
    chartFrame(c, w, h);
    var pw = w - CL - CR, ph = h - CT - CB;
    var nb = Math.max(10, Math.min(300, Math.floor(pw / 5)));
    var bw = (view.t1 - view.t0) / nb;
    var counts = [new Float64Array(nb), new Float64Array(nb), new Float64Array(nb)];
    var from = lowerBound(endSorted, view.t0), to = lowerBound(endSorted, view.t1 + 1e-9);
    for (var j = from; j < to; j++) {
      var i = byEnd[j];
      if (keyFilter >= 0 && kIdx[i] !== keyFilter) continue;
      var b = Math.min(nb - 1, Math.floor((end[i] - view.t0) / bw));
      counts[status[i]][b]++;
    }
    var perSecond = unit === "ns" ? 1e9 / bw : 1;
    var total = new Float64Array(nb), max = 0;
    for (var k = 0; k < nb; k++) {
      total[k] = (counts[0][k] + counts[1][k] + counts[2][k]) * perSecond;
      if (total[k] > max) max = total[k];
    }
    max = max > 0 ? max * 1.1 : 1;
    function line(values, scale, color, width) {
      c.strokeStyle = color; c.lineWidth = width;
      c.beginPath();
      for (var k = 0; k < nb; k++) {
        var x = CL + (k + 0.5) * pw / nb, y = CT + ph - values[k] * scale / max * ph;
        if (k === 0) c.moveTo(x, y); else c.lineTo(x, y);
      }
      c.stroke();
    }
    line(total, 1, "#1d1f23", 1.5);
    line(counts[0], perSecond, EDGE[0], 1.25);
    line(counts[1], perSecond, EDGE[1], 1.25);
    line(counts[2], perSecond, EDGE[2], 1.25);
    var step = niceStep(max, 4);
    c.strokeStyle = "#dde1e6"; c.fillStyle = "#6b7078"; c.lineWidth = 1;
    for (var v = 0; v <= max; v += step) {
      var y = Math.round(CT + ph - v / max * ph) + 0.5;
      c.beginPath(); c.moveTo(CL, y); c.lineTo(w - CR, y); c.globalAlpha = 0.6; c.stroke(); c.globalAlpha = 1;
      c.fillText(v >= 1000 ? (v / 1000).toFixed(v >= 1e4 ? 0 : 1) + "k" : String(Math.round(v * 10) / 10), 4, y + 4);
    }
    c.fillText(unit === "ns" ? "ops/s" : "ops/bucket", w - CR - 70, CT + 10);
    chartXAxis(c, w, h);
  }

  // ------------------------------------------------------------------ frame scheduling

  var pending = false;
  function redraw() {
    if (pending) return;
    pending = true;
    requestAnimationFrame(frame);
  }
  function frame() {
    pending = false;
    var began = performance.now();
    drawTimeline();
    var t1 = performance.now();
    drawOverview();
    var t2 = performance.now();
    drawLatency();
    var t3 = performance.now();
    drawThroughput();
    var t4 = performance.now();
    stats.partMs = { timeline: t1 - began, overview: t2 - t1, latency: t3 - t2, throughput: t4 - t3 };
    rangeLabel.textContent = fmtDur(view.t0) + " – " + fmtDur(view.t1) + " (" + fmtDur(view.t1 - view.t0) + " shown)";
    var took = performance.now() - began;
    stats.frames++;
    stats.drawMs.push(took);
    if (stats.drawMs.length > 200) stats.drawMs.shift();
  }

  // ------------------------------------------------------------------ navigation

  function setView(t0, t1) {
    var minSpan = unit === "ns" ? 200 : 0.5;
    var span = Math.max(minSpan, Math.min(t1 - t0, SPAN * 1.05));
    var pad = SPAN * 0.025;
    if (t0 < -pad) t0 = -pad;
    if (t0 + span > SPAN + pad) t0 = SPAN + pad - span;
    view.t0 = t0; view.t1 = t0 + span;
    redraw();
  }
  function zoomAt(factor, t) {
    setView(t - (t - view.t0) * factor, t + (view.t1 - t) * factor);
  }
  function panBy(px) {
    var dt = px * (view.t1 - view.t0) / (cw - GUTTER);
    setView(view.t0 + dt, view.t1 + dt);
  }
  function scrollToLane(l) {
    var y = l * ROW, visible = ch - AXIS - NEM;
    if (y < scroller.scrollTop || y + ROW > scroller.scrollTop + visible) scroller.scrollTop = Math.max(0, y - visible / 2);
  }
  function showRange(lo, hi) {
    var span = Math.max(hi - lo, unit === "ns" ? 1000 : 1);
    setView(lo - span * 0.12, hi + span * 0.12);
  }

  function focusCounterexample(index) {
    if (index < 0 || index >= ces.length) return;
    activeCe = index;
    var ce = ces[index];
    var keyPos = ce.key === "" ? -1 : tables.key.indexOf(ce.key);
    keyFilter = keyPos;
    keySelect.value = String(keyPos);
    var shown = ce.failed.concat(ce.prefix.slice(-6));
    for (var k = 0; k < ce.involved.length; k++) shown.push(ce.involved[k]);
    if (!shown.length) return;
    var lo = Infinity, hi = -Infinity;
    for (var i = 0; i < shown.length; i++) {
      lo = Math.min(lo, call[shown[i]]);
      hi = Math.max(hi, end[shown[i]]);
    }
    showRange(lo, hi);
    if (ce.failed.length) scrollToLane(lane[ce.failed[0]]);
  }

  function gotoOp(id) {
    var i = posOfId.get(id);
    if (i === undefined) return;
    selected = i;
    if (keyFilter >= 0 && kIdx[i] !== keyFilter) { keyFilter = -1; keySelect.value = "-1"; }
    var d = Math.max(end[i] - call[i], unit === "ns" ? 1000 : 1);
    showRange(call[i] - d * 4, end[i] + d * 4);
    scrollToLane(lane[i]);
    scroller.scrollIntoView({ block: "nearest" });
  }

  var drag = null;
  function startDrag(e, target) {
    if (e.button !== 0) return;
    drag = { x: e.clientX, y: e.clientY, target: target, moved: false };
    canvas.classList.add("dragging");
    e.preventDefault();
  }
  window.addEventListener("mousemove", function (e) {
    if (!drag) return;
    var dx = e.clientX - drag.x, dy = e.clientY - drag.y;
    if (Math.abs(dx) + Math.abs(dy) > 2) drag.moved = true;
    drag.x = e.clientX; drag.y = e.clientY;
    if (drag.target === "overview") { centerOverview(e); return; }
    panBy(-dx);
    if (drag.target === "timeline" && dy) scroller.scrollTop -= dy;
  });
  window.addEventListener("mouseup", function () { drag = null; canvas.classList.remove("dragging"); });

  function wheel(e, left, width) {
    e.preventDefault();
    var delta = e.deltaMode === 1 ? 16 : e.deltaMode === 2 ? 400 : 1;
    if (e.shiftKey || Math.abs(e.deltaX) > Math.abs(e.deltaY)) {
      panBy((e.shiftKey ? e.deltaY : e.deltaX) * delta);
      return;
    }
    var rect = e.currentTarget.getBoundingClientRect();
    var x = e.clientX - rect.left;
    var t = view.t0 + Math.max(0, x - left) * (view.t1 - view.t0) / width;
    zoomAt(Math.exp(e.deltaY * delta * 0.0015), t);
  }

  canvas.addEventListener("wheel", function (e) { wheel(e, GUTTER, cw - GUTTER); }, { passive: false });
  canvas.addEventListener("mousedown", function (e) { hideTooltip(); startDrag(e, "timeline"); });
  [latCanvas, thrCanvas].forEach(function (c) {
    c.addEventListener("wheel", function (e) { wheel(e, CL, c.width / dpr - CL - CR); }, { passive: false });
    c.addEventListener("mousedown", function (e) { startDrag(e, "chart"); });
  });
  function centerOverview(e) {
    var rect = overview.getBoundingClientRect();
    var t = (e.clientX - rect.left - GUTTER) / (cw - GUTTER) * SPAN;
    var span = view.t1 - view.t0;
    setView(t - span / 2, t + span / 2);
  }
  overview.addEventListener("mousedown", function (e) { startDrag(e, "overview"); centerOverview(e); });
  scroller.addEventListener("scroll", redraw, { passive: true });

  document.addEventListener("keydown", function (e) {
    if (e.target && (e.target.tagName === "INPUT" || e.target.tagName === "SELECT")) return;
    var mid = (view.t0 + view.t1) / 2;
    if (e.key === "+" || e.key === "=") zoomAt(0.6, mid);
    else if (e.key === "-" || e.key === "_") zoomAt(1 / 0.6, mid);
    else if (e.key === "0") setView(0, SPAN);
    else if (e.key === "c") focusCounterexample(activeCe);
    else if (e.key === "ArrowLeft") panBy(-(cw - GUTTER) / 5);
    else if (e.key === "ArrowRight") panBy((cw - GUTTER) / 5);
    else return;
    e.preventDefault();
  });
  document.getElementById("zoom-in").addEventListener("click", function () { zoomAt(0.6, (view.t0 + view.t1) / 2); });
  document.getElementById("zoom-out").addEventListener("click", function () { zoomAt(1 / 0.6, (view.t0 + view.t1) / 2); });
  document.getElementById("zoom-reset").addEventListener("click", function () { setView(0, SPAN); });
  var ceButton = document.getElementById("zoom-ce");
  if (ces.length) {
    ceButton.hidden = false;
    ceButton.addEventListener("click", function () { focusCounterexample(Math.max(0, activeCe)); });
  }
  document.getElementById("show-faults").addEventListener("change", function (e) { showFaults = e.target.checked; overviewImage = null; redraw(); });

  var keySelect = document.getElementById("key-filter");
  (function () {
    var limit = Math.min(tables.key.length, 2000);
    for (var k = 0; k < limit; k++) {
      var option = document.createElement("option");
      option.value = String(k);
      option.textContent = tables.key[k] === "" ? "(no key)" : tables.key[k];
      keySelect.appendChild(option);
    }
    if (tables.key.length <= 1) keySelect.disabled = true;
  })();
  keySelect.addEventListener("change", function () { keyFilter = parseInt(keySelect.value, 10); redraw(); });

  Array.prototype.forEach.call(document.querySelectorAll("button.ce-focus"), function (b) {
    b.addEventListener("click", function () {
      var checkIndex = parseInt(b.getAttribute("data-check"), 10);
      for (var i = 0; i < ces.length; i++) if (ces[i].check === checkIndex) focusCounterexample(i);
      scroller.scrollIntoView({ block: "center" });
    });
  });
  Array.prototype.forEach.call(document.querySelectorAll("button.goto"), function (b) {
    b.addEventListener("click", function () { gotoOp(parseInt(b.getAttribute("data-op-id"), 10)); });
  });

  // ------------------------------------------------------------------ hover details

  function opAt(x, y) {
    var top = AXIS + NEM;
    if (x < GUTTER || y < top) return -1;
    var l = Math.floor((y - top + scroller.scrollTop) / ROW);
    if (l < 0 || l >= nLanes) return -1;
    var arr = laneOps[l], t = tOf(x), tol = 3 * (view.t1 - view.t0) / (cw - GUTTER);
    var best = -1, bestDist = Infinity;
    for (var j = firstEndAtLeast(arr, t - tol); j < arr.length; j++) {
      var i = arr[j];
      if (call[i] > t + tol) break;
      if (keyFilter >= 0 && kIdx[i] !== keyFilter) continue;
      var dist = t < call[i] ? call[i] - t : t > end[i] ? t - end[i] : 0;
      if (dist < bestDist || (dist === bestDist && role[i] > (best >= 0 ? role[best] : 0))) { best = i; bestDist = dist; }
    }
    return best;
  }

  function faultAt(x, y) {
    if (!showFaults || y < AXIS || y > AXIS + NEM || x < GUTTER) return -1;
    var t = tOf(x), tol = 3 * (view.t1 - view.t0) / (cw - GUTTER);
    for (var f = 0; f < nFaults; f++) if (F.start[f] <= t + tol && F.end[f] >= t - tol) return f;
    return -1;
  }

  function line(text, cls) {
    var div = document.createElement("div");
    div.className = "tt-line" + (cls ? " " + cls : "");
    div.textContent = text;
    return div;
  }

  function opDetails(i) {
    var rows = [line("#" + O.id[i] + "  " + tables.f[fIdx[i]] + "  " + STATUS[status[i]], "tt-title")];
    rows.push(line("process " + tables.process[pIdx[i]] + (tables.key[kIdx[i]] ? "   key " + tables.key[kIdx[i]] : "")));
    rows.push(line("value: " + jsonText(O.v[i])));
    if (status[i] === 0) rows.push(line("output: " + jsonText(O.o[i])));
    rows.push(line("invoked at " + fmtDur(call[i]) + (status[i] === 2 ? ", gave up at " : ", completed at ") + fmtDur(end[i])));
    rows.push(line((status[i] === 2 ? "waited " : "latency ") + fmtDur(end[i] - call[i])));
    if (status[i] === 2) rows.push(line("outcome unknown: it may take effect at any time after its invoke, or never"));
    if (errIdx[i] >= 0) rows.push(line("error: " + tables.error[errIdx[i]]));
    if (role[i]) rows.push(line(ROLE_NAME[role[i]], role[i] === 2 ? "tt-role-failed" : "tt-role-prefix"));
    return rows;
  }

  function showTooltip(rows, clientX, clientY) {
    tooltip.replaceChildren.apply(tooltip, rows);
    tooltip.hidden = false;
    var w = tooltip.offsetWidth, h = tooltip.offsetHeight;
    var x = clientX + 14, y = clientY + 14;
    if (x + w > window.innerWidth - 8) x = clientX - w - 14;
    if (y + h > window.innerHeight - 8) y = clientY - h - 14;
    tooltip.style.left = Math.max(4, x) + "px";
    tooltip.style.top = Math.max(4, y) + "px";
  }
  function hideTooltip() { tooltip.hidden = true; }

  canvas.addEventListener("mousemove", function (e) {
    if (drag) return;
    var rect = canvas.getBoundingClientRect(), x = e.clientX - rect.left, y = e.clientY - rect.top;
    var i = opAt(x, y);
    if (i >= 0) { showTooltip(opDetails(i), e.clientX, e.clientY); canvas.dataset.hoverOp = String(O.id[i]); return; }
    var f = faultAt(x, y);
    if (f >= 0) {
      showTooltip([
        line("fault: " + F.names[F.name[f]], "tt-title"),
        line(F.detail[f] || ""),
        line(F.start[f] === F.end[f] ? "at " + fmtDur(F.start[f]) : fmtDur(F.start[f]) + " – " + fmtDur(F.end[f]) + (F.open[f] ? " (never ended)" : "")),
      ], e.clientX, e.clientY);
      return;
    }
    hideTooltip();
  });
  canvas.addEventListener("mouseleave", hideTooltip);

  // ------------------------------------------------------------------ start

  function opRect(id) {
    var i = posOfId.get(id);
    if (i === undefined) return null;
    var rect = canvas.getBoundingClientRect();
    var x0 = Math.max(GUTTER, xOf(call[i])), x1 = Math.min(cw, xOf(end[i]));
    var y = laneTop(lane[i]) + (ROW - BAR) / 2;
    return { x: rect.left + x0, y: rect.top + y, width: Math.max(1, x1 - x0), height: BAR, visible: x1 >= x0 && y >= AXIS + NEM && y + BAR <= ch };
  }

  layout();
  if (ces.length) focusCounterexample(0);
  frame();
  if (typeof ResizeObserver === "function") {
    var lastWidth = scroller.clientWidth;
    new ResizeObserver(function () {
      if (scroller.clientWidth === lastWidth) return;
      lastWidth = scroller.clientWidth;
      layout();
      redraw();
    }).observe(scroller);
  }
  window.chaosReport = {
    stats: stats,
    view: view,
    operations: N,
    counterexamples: ces.length,
    opRect: opRect,
    setView: setView,
    drawNow: function () { frame(); return stats.partMs; },
    setKey: function (k) { keyFilter = k; keySelect.value = String(k); redraw(); },
    focusCounterexample: focusCounterexample,
    gotoOp: gotoOp,
    readyMs: performance.now(),
  };
  document.documentElement.dataset.ready = "1";
})();
