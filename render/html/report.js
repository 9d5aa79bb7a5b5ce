"use strict";
(function () {
  var $ = function (id) { return document.getElementById(id); };
  var M = JSON.parse($("synfin-meta").textContent);
  var G = M.geom, lang = M.lang, ROW = 26;

  // Packed numbers: unsigned and zigzag varints, as Go's encoding/binary
  // writes them, read from a string of bytes (atob's) at r.i.
  function uv(r) {
    var v = 0, mul = 1, c;
    do { c = r.s.charCodeAt(r.i++); v += (c & 0x7f) * mul; mul *= 128; } while (c & 0x80);
    return v;
  }
  function sv(r) { var u = uv(r); return u % 2 ? -(u + 1) / 2 : u / 2; }

  // The list: every connection's entry, read from the chunks' list
  // elements (listChunk in data.go) into one array per field.
  var N = M.conns, fields = ["id", "t0", "du", "bc", "bs", "ic", "is", "fc", "fs", "p", "an", "ns", "cp", "sp", "ca", "sa"];
  var L = {};
  fields.forEach(function (f) { L[f] = f === "ca" || f === "sa" ? new Array(N) : new Float64Array(N); });
  var chunkOf = new Int32Array(N), posOf = new Int32Array(N), nums = fields.slice(2, 14).map(function (f) { return L[f]; });
  var lists = document.querySelectorAll("script.synfin-list"), details = document.querySelectorAll("script.synfin-detail");
  for (var ci = 0, k = 0; ci < lists.length; ci++) {
    var part = JSON.parse(lists[ci].textContent), r = { s: atob(part.b), i: 0 }, id = 0, t0 = 0;
    for (var j = 0; j < part.n; j++, k++) {
      id += sv(r); t0 += sv(r);
      L.id[k] = id; L.t0[k] = t0;
      for (var f = 0; f < 12; f++) nums[f][k] = uv(r);
      L.ca[k] = part.a[uv(r)]; L.sa[k] = part.a[uv(r)];
      chunkOf[k] = ci; posOf[k] = j;
    }
  }
  var byID = {};
  for (var k = 0; k < N; k++) byID[L.id[k]] = k;
  var shown = [], selected = -1, sortKey = "start", sortDir = 1;

  // Messages: the same catalogue and placeholder rules as package explain.
  function lookup(key) {
    var e = M.cat[key];
    if (!e) return null;
    return lang === "zh" ? e[1] : e[0];
  }
  function fill(tmpl, args) {
    return tmpl.replace(/\{([^{}]*)\}/g, function (all, name) {
      if (!(name in args)) return all;
      var v = args[name];
      if (v.indexOf("@@") === 0) return list(v.slice(2));
      if (v.charAt(0) === "@") return t([v.slice(1)]);
      return v;
    });
  }
  function list(v) {
    return v.split("\x1f").map(function (part) {
      var f = part.split("\x1e"), m = [f[0]];
      for (var i = 1; i < f.length; i++) {
        var j = f[i].indexOf("=");
        m.push(f[i].slice(0, j), f[i].slice(j + 1));
      }
      return t(m);
    }).join(lookup("w.list"));
  }
  // t formats a message given as [key, name, value, ...].
  function t(m) {
    var tmpl = lookup(m[0]);
    if (tmpl === null) return "[" + m[0] + "]";
    var args = {};
    for (var i = 1; i + 1 < m.length; i += 2) args[m[i]] = m[i + 1];
    return fill(tmpl, args);
  }
  // tm formats a message as the report packs it: [shape, value, ...].
  function tm(m) {
    var sh = M.shapes[m[0]], out = [sh[0]];
    for (var i = 1; i < sh.length; i++) out.push(sh[i], m[i]);
    return t(out);
  }
  function w(key) { return t([key]); }
  function name(kind, n) { var s = lookup(kind + "." + n); return s === null ? n : s; }
  function anomalies(mask) {
    var out = [];
    for (var a = 0; a < M.anomalies.length; a++) if (mask & (1 << a)) out.push(M.anomalies[a]);
    return out;
  }
  function names(kind, ns) { return ns.map(function (n) { return name(kind, n); }).join(lookup("w.list")); }
  function esc(s) {
    return String(s).replace(/[&<>"]/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" }[c];
    });
  }
  function addr(a, p) { return (a.indexOf(":") >= 0 ? "[" + a + "]" : a) + ":" + p; }
  // dur is explain.Dur of us microseconds.
  function trim(x, prec) { var s = x.toFixed(prec); return s.indexOf(".") >= 0 ? s.replace(/0+$/, "").replace(/\.$/, "") : s; }
  function dur(us) {
    var neg = us < 0 ? "-" : "";
    us = Math.abs(us);
    if (us < 1e3) return neg + Math.floor(us) + " µs";
    if (us < 1e6) return neg + trim(us / 1e3, 3) + " ms";
    if (us < 6e7) return neg + trim(us / 1e6, 3) + " s";
    return neg + trim(us / 1e6, 1) + " s";
  }
  function pad(n, w) { var s = String(n); while (s.length < w) s = "0" + s; return s; }
  // clock is explain.TimeOfDay of us microseconds since the epoch.
  function clock(us) {
    var d = new Date(Math.floor(us / 1e3));
    return pad(d.getUTCHours(), 2) + ":" + pad(d.getUTCMinutes(), 2) + ":" + pad(d.getUTCSeconds(), 2) + "." + pad(us % 1e6, 6);
  }

  // A connection's details, read from its chunk when it is selected
  // (appendDetail in data.go): rows and segments packed, then perhaps
  // messages as JSON.
  var cache = { ci: -1, lines: null };
  function conn(k) {
    var ci = chunkOf[k];
    if (cache.ci !== ci) cache = { ci: ci, lines: details[ci].textContent.split("\n") };
    var line = cache.lines[posOf[k] + 1], sp = line.indexOf(" ");
    var d = sp < 0 ? {} : JSON.parse(line.slice(sp + 1)), r = { s: atob(sp < 0 ? line : line.slice(0, sp)), i: 0 };
    var nsegs = uv(r), nrows = uv(r), rows = [], segs = [];
    d.ini = [uv(r), uv(r)];
    var st = d.ini.slice();
    for (var i = 0; i < nrows; i++) {
      var b = uv(r), row = { kind: b >> 2, ch: b & 3, seg: -1 };
      if (row.ch & 1) st[0] = uv(r);
      if (row.ch & 2) st[1] = uv(r);
      row.cs = st[0]; row.ss = st[1];
      if (row.kind === 5) row.gap = uv(r);
      if (row.kind === 7) d.dr = [uv(r), uv(r)];
      rows.push(row);
    }
    var exact = uv(r), base = [uv(r), uv(r)], f = 0, tt = L.t0[k], next = [0, 0], ack = [0, 0], win = [0, 0];
    for (i = 0; i < nsegs; i++) {
      var code = uv(r), fl = M.flags[Math.floor(code / 6)], dir = Math.floor(code / 3) % 2, ph = code % 3;
      f += sv(r); tt += sv(r);
      var q = (next[dir] + sv(r)) >>> 0, hasAck = fl.indexOf(".") >= 0, a = -1;
      if (hasAck) { a = (ack[dir] + sv(r)) >>> 0; ack[dir] = a; }
      win[dir] += sv(r);
      var len = uv(r);
      next[dir] = q + len + (/[SF]/.test(fl) ? 1 : 0);
      segs.push({ i: i, frame: f, t: tt, dir: dir, fl: fl, q: q, a: a, l: len, w: win[dir], an: 0, ph: ph,
        seq: (base[dir] + q) >>> 0, ack: hasAck ? (base[1 - dir] + a) >>> 0 : -1,
        notes: d.n ? d.n[i] : null, changes: d.c ? d.c[i] : null });
    }
    for (i = uv(r); i > 0; i--) { var at = uv(r); segs[at].an = uv(r); }
    if (!exact) segs.forEach(function (s) { s.seq = uv(r); var ak = uv(r); if (s.a >= 0) s.ack = ak; });
    // What the time-sequence graph takes from tsg.Compute (appendGraph).
    d.gx = [0, 1].map(function () {
      var m = {}, j = 0, sacks = [], tt = 0, lo = 0, n;
      for (n = uv(r); n > 0; n--) { j += uv(r); m[j] = uv(r); }
      for (n = uv(r); n > 0; n--) { tt += sv(r); lo += sv(r); sacks.push({ t: tt / 1e6, lo: lo, hi: lo + sv(r) }); }
      var vals = [1e6, 1].map(function (div) {
        var out = [];
        tt = 0;
        for (var n = uv(r); n > 0; n--) { tt += sv(r); out.push({ t: tt / 1e6, v: uv(r) / div }); }
        return out;
      });
      return { m: m, sacks: sacks, rtt: vals[0], throughput: vals[1] };
    });
    // The rows' segments, breaks' lengths and the phases' spans of rows.
    var si = 0, ph = [];
    rows.forEach(function (row, n) {
      if (row.kind < 4) row.seg = si++;
      else if (row.kind === 7) { row.seg = d.dr[0]; si = d.dr[1] + 1; }
      else if (row.kind === 4) row.gap = segs[si].t - segs[si - 1].t;
      if (row.seg < 0) return;
      var p = segs[row.seg].ph, last = ph[ph.length - 1];
      if (last && last[0] === p) last[2] = n;
      else ph.push([p, last ? last[2] + 1 : 0, n]);
    });
    d.segs = segs; d.rows = rows; d.ph = ph; d.k = k;
    return d;
  }

  // Filters, sorting and the list, drawn only where visible.
  function options(sel, values, anyKey, label) {
    var cur = sel.value;
    sel.innerHTML = "";
    var o = document.createElement("option");
    o.value = ""; o.textContent = w(anyKey); sel.appendChild(o);
    values.forEach(function (v, i) {
      var o = document.createElement("option");
      o.value = String(i); o.textContent = label(v); sel.appendChild(o);
    });
    sel.value = cur;
  }
  var sorts = {
    start: function (a, b) { return L.t0[a] - L.t0[b] || L.id[a] - L.id[b]; },
    dur: function (a, b) { return L.du[a] - L.du[b] || L.id[a] - L.id[b]; },
    bytes: function (a, b) { return L.bc[a] + L.bs[a] - L.bc[b] - L.bs[b] || L.id[a] - L.id[b]; },
    state: function (a, b) { return L.fc[a] - L.fc[b] || L.fs[a] - L.fs[b] || L.p[a] - L.p[b] || L.id[a] - L.id[b]; },
    id: function (a, b) { return L.id[a] - L.id[b]; }
  };
  function applyFilter() {
    var q = $("q").value.trim().toLowerCase(), port = $("f-port").value.trim(),
      p = $("f-pattern").value, s = $("f-state").value, an = $("f-anom").value;
    var pn = p === "" ? -1 : +p, sn = s === "" ? -1 : +s, am = an === "" ? 0 : an === "any" ? -1 : 1 << +an, po = port === "" ? -1 : +port;
    shown = [];
    for (var k = 0; k < N; k++) {
      if (pn >= 0 && L.p[k] !== pn) continue;
      if (sn >= 0 && L.fc[k] !== sn && L.fs[k] !== sn) continue;
      if (am && !(L.an[k] & am)) continue;
      if (po >= 0 && L.cp[k] !== po && L.sp[k] !== po) continue;
      if (q && String(L.id[k]) !== q && (addr(L.ca[k], L.cp[k]) + " " + addr(L.sa[k], L.sp[k])).toLowerCase().indexOf(q) < 0) continue;
      shown.push(k);
    }
    var cmp = sorts[sortKey];
    shown.sort(sortDir > 0 ? cmp : function (a, b) { return cmp(b, a); });
    $("rows-inner").style.height = shown.length * ROW + "px";
    $("count").textContent = t(["ui.conns", "n", String(shown.length), "total", String(N)]);
    $("count").setAttribute("data-shown", shown.length);
    $("count").setAttribute("data-total", N);
    drawRows();
  }
  function header() {
    var o = [];
    [["id", "ui.col.seg"], ["start", "ui.col.start"], ["dur", "ui.col.dur"], ["bytes", "ui.col.bytes"], ["", "ui.col.client"],
      ["", "ui.col.server"], ["state", "ui.col.final"], ["", "ui.col.teardown"], ["", "lg.anomaly"]].forEach(function (h, i) {
      var arrow = h[0] === sortKey ? (sortDir > 0 ? " ▲" : " ▼") : "";
      o.push('<span class="c' + i + (h[0] ? ' sort" data-sort="' + h[0] : "") + '">' + esc(w(h[1])) + arrow + "</span>");
    });
    $("cols").innerHTML = o.join("");
  }
  function drawRows() {
    var box = $("rows"), top = box.scrollTop, h = box.clientHeight || 400;
    var from = Math.max(0, Math.floor(top / ROW) - 10), to = Math.min(shown.length, Math.ceil((top + h) / ROW) + 10);
    var html = [];
    for (var i = from; i < to; i++) {
      var k = shown[i], an = anomalies(L.an[k]);
      html.push('<div class="crow' + (k === selected ? " sel" : "") + '" data-id="' + L.id[k] + '" style="top:' + i * ROW + 'px">' +
        '<span class="c0">' + L.id[k] + '</span><span class="c1">' + clock(L.t0[k]) + '</span><span class="c2">' + dur(L.du[k]) +
        '</span><span class="c3">' + L.bc[k] + " / " + L.bs[k] + '</span><span class="c4">' + esc(addr(L.ca[k], L.cp[k])) +
        '</span><span class="c5">' + esc(addr(L.sa[k], L.sp[k])) + '</span><span class="c6">' + M.states[L.fc[k]] + " / " + M.states[L.fs[k]] +
        '</span><span class="c7"><span class="pill p-' + M.patterns[L.p[k]] + '">' + esc(name("pn", M.patterns[L.p[k]])) + "</span></span>" +
        '<span class="c8">' + (an.length ? '<span class="pill an" title="' + esc(names("ann", an)) + '">⚠ ' + an.length + "</span>" : "") + "</span></div>");
    }
    $("rows-inner").innerHTML = html.join("");
  }

  // The ladder, drawn from package ladder's model with the SVG writer's
  // geometry.
  var classes = ["normal", "retrans", "rst", "warn"];
  function rowH(c, r) {
    switch (r.kind) {
      case 4: case 5: return G.rowBreak;
      case 6: return G.rowLost;
      case 8: return G.rowEnd;
      case 7: return G.arrowY + 14 * c.dm.length;
    }
    return G.rowSeg + (c.segs[r.seg].an ? G.rowMark : 0);
  }
  function band(s) {
    switch (M.states[s]) {
      case "SYN-SENT": case "SYN-RECEIVED": return 1;
      case "ESTABLISHED": return 2;
      case "FIN-WAIT-1": case "FIN-WAIT-2": case "CLOSE-WAIT": case "CLOSING": case "LAST-ACK": return 3;
      case "TIME-WAIT": return 4;
    }
    return 0;
  }
  function label(s) {
    return s.fl + " " + s.q + (s.l > 0 ? ":" + ((s.q + s.l) >>> 0) + "(" + s.l + ")" : "") + (s.a >= 0 ? " ack " + s.a : "");
  }
  function ladder(c) {
    var o = [], cx = G.clientX, sx = G.serverX, mid = (cx + sx) / 2, W = G.width, k = c.k;
    var ys = [], phaseAt = {}, phaseY = [], y = G.head;
    c.ph.forEach(function (p) { phaseAt[p[1]] = p; });
    c.rows.forEach(function (r, i) {
      if (phaseAt[i]) { phaseY.push(y); y += G.phase; }
      ys.push(y); y += rowH(c, r);
    });
    var H = y + 8 - 40, ini = c.ini;
    o.push('<svg xmlns="http://www.w3.org/2000/svg" width="' + W + '" height="' + H + '" viewBox="0 0 ' + W + " " + H + '">');
    o.push("<style>text{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px;fill:#111827}.head{font-weight:bold}.state{font-size:11px;font-weight:bold}.t{fill:#6b7280;font-size:11px}.mark{fill:#b91c1c;font-size:11px}.phase{font-size:11px;font-weight:bold;fill:#1d4ed8}.brk{fill:#4b5563;font-size:11px}.lost{fill:#6b7280;font-style:italic;font-size:11px}.lbl{font-size:11px}line.hit{stroke:transparent;stroke-width:14}</style><defs>");
    M.classes.forEach(function (col, i) {
      if (classes[i] === "rst") o.push('<marker id="h-rst" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="9" markerHeight="9" orient="auto-start-reverse"><path d="M1 1L9 9M9 1L1 9" stroke="' + col + '" stroke-width="2"/></marker>');
      else o.push('<marker id="h-' + classes[i] + '" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" orient="auto-start-reverse"><path d="M0 0L10 5L0 10z" fill="' + col + '"/></marker>');
    });
    o.push('</defs><g transform="translate(0,-40)">');
    o.push('<text class="head" x="' + cx + '" y="68" text-anchor="middle">' + esc(w("w.client") + " " + addr(L.ca[k], L.cp[k])) + "</text>");
    o.push('<text class="head" x="' + sx + '" y="68" text-anchor="middle">' + esc(w("w.server") + " " + addr(L.sa[k], L.sp[k])) + "</text>");
    o.push('<text class="state" x="' + (cx - 12) + '" y="94" text-anchor="end">' + M.states[ini[0]] + "</text>");
    o.push('<text class="state" x="' + (sx + 12) + '" y="94">' + M.states[ini[1]] + "</text>");
    [cx, sx].forEach(function (x, side) {
      var start = G.head - 8, st = ini[side];
      c.rows.forEach(function (r, i) {
        var now = side ? r.ss : r.cs, changed = (r.ch >> side) & 1;
        if (now === st && !(changed && r.seg >= 0)) return;
        var at = ys[i] + G.arrowY + G.slant / 2;
        o.push('<rect x="' + (x - G.bandW / 2) + '" y="' + start + '" width="' + G.bandW + '" height="' + (at - start) + '" fill="' + M.bands[band(st)] + '"><title>' + M.states[st] + "</title></rect>");
        start = at; st = now;
      });
      var end = ys[ys.length - 1] + 10;
      o.push('<rect x="' + (x - G.bandW / 2) + '" y="' + start + '" width="' + G.bandW + '" height="' + (end - start) + '" fill="' + M.bands[band(st)] + '"><title>' + M.states[st] + "</title></rect>");
      o.push('<line x1="' + (x - 14) + '" y1="' + end + '" x2="' + (x + 14) + '" y2="' + end + '" stroke="#374151"/>');
    });
    c.ph.forEach(function (p, i) {
      var top = phaseY[i], last = p[2], bot = ys[last] + rowH(c, c.rows[last]) - 6;
      o.push('<text class="phase" x="12" y="' + (top + 13) + '">' + esc(w("w.phase." + M.phases[p[0]])) + "</text>");
      o.push('<path d="M10 ' + (top + 16) + "H4V" + bot + 'H10" fill="none" stroke="#1d4ed8"/>');
    });
    c.rows.forEach(function (r, i) {
      var y = ys[i];
      if (r.kind < 4) {
        var s = c.segs[r.seg], ay = y + G.arrowY, x1 = cx + G.bandW / 2, x2 = sx - G.bandW / 2;
        if (s.dir === 1) { var tmp = x1; x1 = x2; x2 = tmp; }
        var cl = classes[r.kind], col = M.classes[r.kind];
        o.push('<g class="seg c-' + cl + '" data-seg="' + s.frame + '">');
        o.push('<rect class="selbg" x="' + (cx + 8) + '" y="' + (y + 1) + '" width="' + (sx - cx - 16) + '" height="' + (rowH(c, r) - 2) + '" fill="transparent"/>');
        o.push('<text class="t" x="12" y="' + (ay + 8) + '">#' + s.frame + '</text><text class="t" x="60" y="' + (ay + 8) + '">' + esc(since(c, s)) + "</text>");
        o.push('<line x1="' + x1 + '" y1="' + ay + '" x2="' + x2 + '" y2="' + (ay + G.slant) + '" stroke="' + col + '" stroke-width="1.5"' + (cl === "retrans" ? ' stroke-dasharray="6 4"' : "") + ' marker-end="url(#h-' + cl + ')"/>');
        o.push('<line class="hit" x1="' + x1 + '" y1="' + ay + '" x2="' + x2 + '" y2="' + (ay + G.slant) + '"/>');
        o.push('<text class="lbl" x="' + mid + '" y="' + (y + 10) + '" text-anchor="middle" fill="' + col + '">' + esc(label(s)) + "</text>");
        if (s.an) o.push('<text class="mark" x="' + mid + '" y="' + (ay + G.slant + 14) + '" text-anchor="middle">⚠ ' + esc(names("ann", anomalies(s.an))) + "</text>");
        o.push("</g>");
      } else if (r.kind === 4 || r.kind === 5) {
        var m = y + G.rowBreak / 2;
        [cx, sx].forEach(function (x) {
          o.push('<rect x="' + (x - G.bandW) + '" y="' + (m - 4) + '" width="' + 2 * G.bandW + '" height="8" fill="#ffffff"/>');
          o.push('<path d="M' + (x - 10) + " " + (m - 3) + "l5 -3l5 3l5 -3l5 3M" + (x - 10) + " " + (m + 5) + 'l5 -3l5 3l5 -3l5 3" fill="none" stroke="#4b5563"/>');
        });
        o.push('<text class="brk" x="' + mid + '" y="' + (m + 4) + '" text-anchor="middle">' + esc("⋯ " + (r.kind === 5 ? t(["lg.timewait", "dur", dur(r.gap)]) : dur(r.gap)) + " ⋯") + "</text>");
      } else if (r.kind === 6) {
        o.push('<text class="lost" x="' + mid + '" y="' + (y + 15) + '" text-anchor="middle">✂ ' + esc(w("lg.lost")) + "</text>");
      } else if (r.kind === 7) {
        o.push('<g class="data"><rect x="' + (cx + G.bandW) + '" y="' + (y + 4) + '" width="' + (sx - cx - 2 * G.bandW) + '" height="' + (14 * c.dm.length + 4) + '" fill="#f9fafb" stroke="#9ca3af" stroke-dasharray="4 3"/>');
        c.dm.forEach(function (m, j) {
          o.push('<text class="lbl" x="' + mid + '" y="' + (y + 16 + 14 * j) + '" text-anchor="middle">' + esc((j === 0 ? "⋯ " : "") + tm(m) + (j === 0 ? " ⋯" : "")) + "</text>");
        });
        o.push('<text class="t" x="12" y="' + (y + 16) + '">#' + c.segs[c.dr[0]].frame + '</text><text class="t" x="12" y="' + (y + 2 + 14 * c.dm.length) + '">#' + c.segs[c.dr[1]].frame + "</text></g>");
      } else {
        o.push('<text class="t" x="12" y="' + (y + 18) + '">' + esc(w("lg.end")) + "</text>");
        o.push('<text class="state" x="' + (cx - 12) + '" y="' + (y + 18) + '" text-anchor="end">' + M.states[r.cs] + "</text>");
        o.push('<text class="state" x="' + (sx + 12) + '" y="' + (y + 18) + '">' + M.states[r.ss] + "</text>");
      }
      if (r.kind < 4 || r.kind === 7) {
        var ay2 = y + G.arrowY + G.slant / 2 + 4;
        if (r.ch & 1) o.push('<text class="state" x="' + (cx - 12) + '" y="' + ay2 + '" text-anchor="end">' + M.states[r.cs] + "</text>");
        if (r.ch & 2) o.push('<text class="state" x="' + (sx + 12) + '" y="' + ay2 + '">' + M.states[r.ss] + "</text>");
      }
    });
    o.push("</g></svg>");
    return o.join("");
  }
  function since(c, s) { var d = s.t - c.segs[0].t; return d === 0 ? "0" : dur(d); }

  function ul(ms) {
    return "<ul>" + ms.map(function (m) { return "<li>" + esc(tm(m)) + "</li>"; }).join("") + "</ul>";
  }
  function segTable(c) {
    var o = ['<table id="segtable"><thead><tr>'];
    ["seg", "time", "dir", "flags", "seq", "ack", "len", "phase", "states", "notes"].forEach(function (k) {
      o.push("<th>" + esc(w("ui.col." + k)) + "</th>");
    });
    o.push("</tr></thead><tbody>");
    var after = {};
    c.rows.forEach(function (r) { if (r.kind < 4) after[r.seg] = M.states[r.cs] + " / " + M.states[r.ss]; });
    c.segs.forEach(function (s, i) {
      if (c.dr && i >= c.dr[0] && i <= c.dr[1]) {
        if (i === c.dr[0]) o.push('<tr class="more"><td colspan="10">' + esc(t(["ui.more", "n", String(c.dr[1] - c.dr[0] + 1)])) + "</td></tr>");
        return;
      }
      var dir = s.dir === 0 ? w("w.client") + " → " + w("w.server") : w("w.server") + " → " + w("w.client");
      var notes = (s.changes || []).map(function (ch) {
        var side = ch[0] === 0 ? "@w.client" : "@w.server";
        return '<div class="chg">' + esc(t(["tl.change", "side", side, "from", M.states[ch[1]], "to", M.states[ch[2]], "how", ch[3] ? "@w.sends" : "@w.recv", "why", tm(ch[4])])) + "</div>";
      }).concat((s.notes || []).map(function (m) {
        return "<div" + (M.shapes[m[0]][0] === "x.anomaly" ? ' class="warn"' : "") + ">" + esc(tm(m)) + "</div>";
      }));
      if (!s.notes && s.an) notes.push('<div class="warn">⚠ ' + esc(names("ann", anomalies(s.an))) + "</div>");
      o.push('<tr data-seg="' + s.frame + '"><td class="num">#' + s.frame + '</td><td class="num">' + esc(clock(s.t)) + "<br>+" + esc(since(c, s)) +
        "</td><td>" + esc(dir) + '</td><td class="num">[' + esc(s.fl) + ']</td><td class="num">' + s.q + ' <span class="abs">[' + s.seq + "]</span></td>" +
        '<td class="num">' + (s.a < 0 ? "" : s.a + ' <span class="abs">[' + s.ack + "]</span>") + '</td><td class="num">' + s.l +
        "</td><td>" + esc(w("w.phase." + M.phases[s.ph])) + '</td><td class="num states">' + (after[i] || "") + "</td><td>" + notes.join("") + "</td></tr>");
    });
    o.push("</tbody></table>");
    return o.join("");
  }

  // The time-sequence graph: tsg.Graph (its JSON's names) of c, its
  // segments' ranges, ACK, window and zero-window points from the
  // segments, as tsg.Compute takes them (numbers unwrapped from each
  // flow's base; a reset acknowledges nothing), its marks, SACK blocks,
  // RTT and throughput as the report packed them from tsg.Compute.
  function graph(c) {
    if (c.g) return c.g;
    var t0 = c.segs[0].t, last = [0, 0], g = { flows: [0, 1].map(function (d) {
      var x = c.gx[d];
      return { bytes: 0, segs: [], acks: [], windows: [], zero: [], sacks: x.sacks, rtt: x.rtt, throughput: x.throughput };
    }) };
    var rel = function (d, v) { last[d] += (v - (last[d] >>> 0)) | 0; return last[d]; };
    c.segs.forEach(function (s) {
      var t = (s.t - t0) / 1e6, f = g.flows[s.dir], lo = rel(s.dir, s.q);
      f.segs.push({ t: t, seg: s.frame, lo: lo, hi: lo + s.l + (s.fl.indexOf("S") >= 0 ? 1 : 0) + (s.fl.indexOf("F") >= 0 ? 1 : 0), len: s.l, flags: s.fl });
      f.bytes += s.l;
      if (s.a < 0 || s.fl.indexOf("R") >= 0) return;
      var r = g.flows[1 - s.dir], a = rel(1 - s.dir, s.a);
      r.acks.push({ t: t, seq: a });
      r.windows.push({ t: t, seq: a + s.w });
      if (s.w === 0) r.zero.push({ t: t, seq: a });
    });
    g.flows.forEach(function (f, d) {
      Object.keys(c.gx[d].m).forEach(function (j) {
        var m = c.gx[d].m[j], sg = f.segs[j];
        sg.retrans = !!(m & 1); sg.ooo = !!(m & 2); sg.probe = !!(m & 4);
      });
    });
    return (c.g = g);
  }
  // tsg draws one flow of the graph as tsg.WriteSVG does, with its
  // colours and words, but every point: segments as bars over their range
  // (marked ones thicker, beside), the ACK and window lines as steps
  // (the window cut a quarter above the rest), SACK blocks, Z at zero
  // windows; throughput and RTT beside it over the same time. Each layer
  // says how many points it draws (data-n).
  var TC = { data: "#111827", retrans: "#dc2626", ooo: "#db2777", synfin: "#ea580c", ack: "#16a34a", win: "#ca8a04", sack: "#7c3aed", zero: "#c026d3", tput: "#dc2626", rtt: "#2563eb" };
  function tw(k) { return M.tsg[k][lang === "zh" ? 1 : 0]; }
  function num(v) {
    var a = Math.abs(v);
    return a >= 1e9 ? trim(v / 1e9, 3) + "G" : a >= 1e6 ? trim(v / 1e6, 3) + "M" : a >= 1e4 ? trim(v / 1e3, 3) + "k" : trim(v, 3);
  }
  function tsg(c, dir) {
    var g = graph(c), f = g.flows[dir], W = 1090, H = 400, l = 70, pw = 620, tp = 24, ph = 320, sx = l + pw + 70, sw = 300, sh = 120, t1 = 0;
    g.flows.forEach(function (fl) { fl.segs.forEach(function (s) { t1 = Math.max(t1, s.t); }); });
    if (t1 === 0) t1 = 1e-3;
    var lo = Infinity, hi = -Infinity, top = -Infinity;
    var ext = function (a, b) { lo = Math.min(lo, a); hi = Math.max(hi, b); };
    f.segs.forEach(function (s) { ext(s.lo, s.hi); });
    f.acks.forEach(function (p) { ext(p.seq, p.seq); });
    f.sacks.forEach(function (b) { ext(b.lo, b.hi); });
    f.windows.forEach(function (p) { top = Math.max(top, p.seq); });
    if (lo === Infinity) lo = hi = 0;
    hi = Math.max(hi, Math.min(top, hi + (hi - lo) / 4));
    if (hi === lo) hi = lo + 1;
    var X = function (t, x0, w) { return ((x0 || l) + t / t1 * (w || pw)).toFixed(1); };
    var Y = function (q) { return (tp + ph - (q - lo) / (hi - lo) * ph).toFixed(1); };
    var layer = function (cls, color, width, d, n) {
      return '<path class="' + cls + '" data-n="' + n + '" d="' + (d || "M0 0") + '" stroke="' + color + '" stroke-width="' + width + '" fill="none"/>';
    };
    var steps = function (cls, color, ps) {
      return layer(cls, color, 1, ps.map(function (p, i) { return (i ? "H" + X(p.t) + "V" : "M" + X(p.t) + " ") + Y(p.seq); }).join("") + (ps.length ? "H" + (l + pw) : ""), ps.length);
    };
    var bars = { data: [], retrans: [], ooo: [], synfin: [] };
    f.segs.forEach(function (s) {
      var k = s.retrans ? "retrans" : s.ooo ? "ooo" : s.probe || s.hi - s.lo > s.len ? "synfin" : "data", y1 = +Y(s.lo), y2 = +Y(s.hi);
      if (y1 - y2 < 2) { y1 += 1; y2 -= 1; }
      bars[k].push("M" + (+X(s.t) + (k === "data" ? 0 : 1.5)).toFixed(1) + " " + y1.toFixed(1) + "V" + y2.toFixed(1));
    });
    var frame = function (x, y, w, h, xl, yl, ymin, ymax) {
      return '<rect x="' + x + '" y="' + y + '" width="' + w + '" height="' + h + '" fill="#fff" stroke="#9ca3af"/>' +
        '<text x="' + x + '" y="' + (y + h + 14) + '">0</text><text x="' + (x + w) + '" y="' + (y + h + 14) + '" text-anchor="end">' + num(t1) + "</text>" +
        '<text x="' + (x - 4) + '" y="' + (y + h) + '" text-anchor="end">' + num(ymin) + '</text><text x="' + (x - 4) + '" y="' + (y + 10) + '" text-anchor="end">' + num(ymax) + "</text>" +
        '<text x="' + (x + w / 2) + '" y="' + (y + h + 28) + '" text-anchor="middle">' + esc(xl) + '</text><text x="' + x + '" y="' + (y - 6) + '">' + esc(yl) + "</text>";
    };
    var side = function (cls, vs, y0, label, color, mul, dots) {
      var vmax = 0;
      vs.forEach(function (v) { vmax = Math.max(vmax, v.v * mul); });
      var top = vmax || 1, Yv = function (v) { return (y0 + sh - v * mul / top * sh).toFixed(1); };
      var d = vs.map(function (v, i) {
        var x = X(v.t, sx, sw), y = +Yv(v.v);
        return dots ? "M" + x + " " + (y + 1).toFixed(1) + "V" + (y - 1).toFixed(1) : (i ? "L" : "M") + x + " " + y.toFixed(1);
      }).join("");
      return frame(sx, y0, sw, sh, "", label, 0, vmax) + layer(cls, color, dots ? 2 : 1, d, vs.length);
    };
    var zero = f.zero.map(function (p) {
      return '<text x="' + X(p.t) + '" y="' + (+Y(p.seq) - 3).toFixed(1) + '" style="fill:' + TC.zero + ';font-weight:bold" text-anchor="middle">Z</text>';
    });
    var o = ['<svg id="tsg-svg" xmlns="http://www.w3.org/2000/svg" width="' + W + '" height="' + H + '" viewBox="0 0 ' + W + " " + H + '" data-dir="' + dir + '">',
      "<style>text{font:11px ui-monospace,Menlo,Consolas,monospace;fill:#374151}</style>",
      frame(l, tp, pw, ph, tw("time"), tw("seq"), lo, hi),
      f.bytes ? "" : '<text x="' + (l + 10) + '" y="' + (tp + 20) + '">' + esc(tw("none")) + "</text>",
      '<clipPath id="tsg-clip"><rect x="' + (l - 3) + '" y="' + (tp - 12) + '" width="' + (pw + 6) + '" height="' + (ph + 15) + '"/></clipPath><g clip-path="url(#tsg-clip)">',
      steps("win", TC.win, f.windows), steps("ack", TC.ack, f.acks),
      layer("seg", TC.data, 1, bars.data.join(""), bars.data.length), layer("retrans", TC.retrans, 2, bars.retrans.join(""), bars.retrans.length),
      layer("ooo", TC.ooo, 2, bars.ooo.join(""), bars.ooo.length), layer("synfin", TC.synfin, 2, bars.synfin.join(""), bars.synfin.length),
      layer("sack", TC.sack, 2, f.sacks.map(function (b) { return "M" + (+X(b.t) + 2.5).toFixed(1) + " " + Y(b.lo) + "V" + Y(b.hi); }).join(""), f.sacks.length),
      '<g class="zero" data-n="' + zero.length + '">' + zero.join("") + "</g></g>",
      side("tput", f.throughput, tp, tw("tput"), TC.tput, 1, false), side("rtt", f.rtt, tp + sh + 70, tw("rtt"), TC.rtt, 1000, true),
      "</svg>"];
    var legend = ["data", "retrans", "ooo", "synfin", "ack", "win", "sack", "zero"].map(function (k) {
      return '<span><i style="background:' + TC[k] + '"></i>' + esc(tw(k)) + "</span>";
    }).join(" ");
    var pick = [0, 1].map(function (d) {
      return '<button data-tsg="' + d + '"' + (d === dir ? ' class="on"' : "") + ">" + esc(t(["ui.tsg.dir", "side", d ? "@w.server" : "@w.client", "bytes", String(d ? L.bs[c.k] : L.bc[c.k])])) + "</button>";
    }).join(" ");
    return '<div class="tsg-pick">' + pick + '</div><div class="legend">' + legend + "</div>" + o.join("");
  }

  var cur = null, tsgDir = 0;
  function showConn(k) {
    selected = k;
    var d = $("detail");
    if (k < 0) { d.innerHTML = '<p class="hint">' + esc(w("ui.pick")) + "</p>"; drawRows(); return; }
    if (!cur || cur.k !== k) { cur = conn(k); tsgDir = L.bs[k] > L.bc[k] ? 1 : 0; }
    var c = cur, id = String(L.id[k]);
    var verdict = c.v ? ul(c.v) : "<ul><li>" + esc(t(["lg.verdict", "pattern", "@pn." + M.patterns[L.p[k]], "c", M.states[L.fc[k]], "s", M.states[L.fs[k]]])) + "</li>" +
      (L.an[k] ? "<li>⚠ " + esc(names("ann", anomalies(L.an[k]))) + "</li>" : "") + '<li class="hint">' + esc(t(["ui.unexplained", "id", id])) + "</li></ul>";
    d.innerHTML = "<h2>" + esc(t(["hdr.title", "id", id, "client", addr(L.ca[k], L.cp[k]), "server", addr(L.sa[k], L.sp[k])])) + "</h2>" + (c.h ? ul(c.h) : "") +
      "<h3>" + esc(w("v.title")) + "</h3>" + verdict +
      "<h3>" + esc(w("ui.ladder")) + '</h3><div id="ladder">' + ladder(c) + "</div>" +
      "<h3>" + esc(w("ui.tsg")) + '</h3><div id="tsg">' + tsg(c, tsgDir) + "</div>" +
      "<h3>" + esc(w("ui.segments")) + "</h3>" + segTable(c) +
      (c.x && c.x.length ? "<h3>" + esc(w("miss.title")) + "</h3>" + ul(c.x) : "") +
      (c.s ? "<h3>" + esc(w("sum.title")) + "</h3>" + ul(c.s) : "");
    d.setAttribute("data-conn", id);
    drawRows();
  }
  function select(seg, scroll) {
    document.querySelectorAll("#detail .sel").forEach(function (e) { e.classList.remove("sel"); });
    var g = document.querySelector('#ladder g.seg[data-seg="' + seg + '"]'),
      tr = document.querySelector('#segtable tr[data-seg="' + seg + '"]');
    if (g) g.classList.add("sel");
    if (tr) tr.classList.add("sel");
    var target = scroll === "row" ? tr : g;
    if (target && target.scrollIntoView) target.scrollIntoView({ block: "nearest" });
  }

  // The summary (summary.Page): its numbers, its findings with their
  // explanations in both languages, and its own words (sw), as the text
  // of synfin summary shows them; names of teardowns and anomalies are the
  // catalogue's. Each count is a span.n in an li whose data-key is the
  // name the JSON gives, so that what the page shows can be checked.
  var S = JSON.parse($("synfin-summary").textContent);
  function sw(key, args) {
    var e = S.words[key], s = e ? e[lang === "zh" ? 1 : 0] : "[" + key + "]";
    return s.replace(/\{(\w+)\}/g, function (all, n) { return args && n in args ? String(args[n]) : all; });
  }
  function li(key, label, n, more, filter) {
    return '<li data-key="' + esc(key) + '"' + (filter ? ' data-filter="' + filter + '"' : "") + '><span class="k">' + esc(label) +
      '</span> <span class="n">' + esc(n) + "</span>" + (more || "") + "</li>";
  }
  function box(cls, head, items) {
    return '<div class="box ' + cls + '"><h3>' + esc(head) + "</h3>" +
      (items.length ? "<ul>" + items.join("") + "</ul>" : '<p class="hint">' + esc(sw("w.none")) + "</p>") + "</div>";
  }
  function dist(cls, head, d) {
    if (!d.n) return box(cls, head, []);
    return box(cls, head, [["p50", 50], ["p90", 90], ["p99", 99], ["max"]].map(function (q) {
      return li(q[0], q[1] ? sw("w.pct", { p: q[1] }) : sw("w.max"), dur(Math.round(d[q[0]] * 1e6)));
    }));
  }
  function hosts(cls, key, hs) {
    return box(cls, sw(key), hs.map(function (h) {
      return li(h.addr, h.addr, h.conns, h.over ? " (" + esc(sw("w.over", { n: h.over })) + ")" : "");
    }));
  }
  function utc(sec) { return new Date(sec * 1e3).toISOString().slice(0, 19).replace("T", " "); }
  function finding(f) {
    var head = sw("k." + f.kind) + (f.addr ? "  " + f.addr : "") + (f.span ? "  " + sw("w.at", { t: utc(f.t), span: f.span }) : "");
    var ids = f.conns.map(function (id) { return '<a href="#conn=' + id + '" data-conn="' + id + '">' + id + "</a>"; }).join(" ") +
      (f.more ? " " + esc(sw("w.more", { n: f.more })) : "");
    var parts = sw("w.conns").split("{ids}");
    return '<div class="finding" data-kind="' + esc(f.kind) + '" data-count="' + f.count + '"><h4>' + esc(head) + "</h4><p>" +
      esc(f.texts[lang === "zh" ? 1 : 0]) + '</p><p class="ids">' + esc(parts[0]) + ids + esc(parts[1] || "") + "</p></div>";
  }
  function summary() {
    if (S === null) return;
    var o = ["<h2>" + esc(w("ui.summary") + " · " + sw("h.title", { n: S.conns })) + '</h2><div class="findings"><h3>' + esc(sw("h.findings")) + "</h3>" +
      (S.findings.length ? S.findings.map(finding).join("") : '<p class="hint">' + esc(sw("w.none")) + "</p>") + '</div><div class="boxes">',
      box("sum-teardown", sw("h.teardown"), S.teardown.map(function (c) {
        return li(c.name, name("pn", c.name), c.conns, "", "f-pattern:" + M.patterns.indexOf(c.name));
      })),
      box("sum-final", sw("h.final"), S.final.map(function (c) { return li(c.name, c.name, c.conns); })),
      box("sum-anomalies", sw("h.anomalies"), S.anomalies.map(function (a) {
        return li(a.name, name("ann", a.name), a.conns, ' (<span class="count">' + a.count + "</span>)", "f-anom:" + M.anomalies.indexOf(a.name));
      })),
      dist("sum-rtt", sw("h.rtt", { n: S.handshake_rtt.n }), S.handshake_rtt), dist("sum-duration", sw("h.duration"), S.duration),
      hosts("sum-cli-conns", "h.cliConns", S.clients.by_conns), hosts("sum-cli-fail", "h.cliFail", S.clients.by_failures),
      hosts("sum-srv-conns", "h.srvConns", S.servers.by_conns), hosts("sum-srv-fail", "h.srvFail", S.servers.by_failures),
      "</div>"];
    if (S.left_out) o.push('<p class="hint">' + esc(sw("w.leftout", { n: S.left_out })) + "</p>");
    if (S.skipped) o.push('<p class="hint">' + esc(sw("w.skipped", { n: S.skipped })) + "</p>");
    var s = $("summary");
    s.innerHTML = o.join("");
    s.hidden = false;
  }
  // pick selects connection id in the list, shown whatever the filters.
  function pick(id) {
    var k = byID[id];
    if (k === undefined) return;
    if (shown.indexOf(k) < 0) {
      ["q", "f-port", "f-pattern", "f-state", "f-anom"].forEach(function (f) { $(f).value = ""; });
      applyFilter();
    }
    $("rows").scrollTop = Math.max(0, shown.indexOf(k) * ROW - 2 * ROW);
    showConn(k);
    history.replaceState(null, "", "#conn=" + id);
  }

  function setLang(l) {
    lang = l;
    document.documentElement.lang = l;
    $("lang-en").classList.toggle("on", l === "en");
    $("lang-zh").classList.toggle("on", l === "zh");
    $("title").textContent = w("ui.title") + (M.title ? ": " + M.title : "");
    $("q").placeholder = w("ui.search");
    $("f-port").placeholder = w("ui.port");
    options($("f-pattern"), M.patterns, "ui.pattern", function (v) { return name("pn", v); });
    options($("f-state"), M.states, "ui.state", function (v) { return v; });
    options($("f-anom"), M.anomalies, "ui.anomaly", function (v) { return name("ann", v); });
    var any = document.createElement("option");
    any.value = "any"; any.textContent = w("ui.anomalous");
    $("f-anom").insertBefore(any, $("f-anom").children[1]);
    summary();
    header();
    applyFilter();
    var sel = document.querySelector("#detail .sel");
    var seg = sel ? sel.getAttribute("data-seg") : null;
    showConn(selected);
    if (seg) select(seg);
  }

  $("rows").addEventListener("scroll", drawRows);
  window.addEventListener("resize", drawRows);
  $("rows").addEventListener("click", function (e) {
    var row = e.target.closest(".crow");
    if (row) pick(+row.getAttribute("data-id"));
  });
  // The summary's evidence selects its connection; a count filters the
  // list by its teardown or anomaly.
  $("summary").addEventListener("click", function (e) {
    var a = e.target.closest("[data-conn]"), f = e.target.closest("[data-filter]");
    if (a) {
      e.preventDefault();
      pick(+a.getAttribute("data-conn"));
      $("detail").scrollIntoView({ block: "start" });
    } else if (f) {
      var sel = f.getAttribute("data-filter").split(":");
      $(sel[0]).value = sel[1];
      applyFilter();
    }
  });
  $("cols").addEventListener("click", function (e) {
    var h = e.target.closest(".sort");
    if (!h) return;
    var key = h.getAttribute("data-sort");
    sortDir = key === sortKey ? -sortDir : 1;
    sortKey = key;
    header();
    applyFilter();
  });
  $("detail").addEventListener("click", function (e) {
    var b = e.target.closest("[data-tsg]");
    if (b) { tsgDir = +b.getAttribute("data-tsg"); $("tsg").innerHTML = tsg(cur, tsgDir); return; }
    var g = e.target.closest("g.seg");
    if (g) { select(g.getAttribute("data-seg"), "row"); return; }
    var tr = e.target.closest("#segtable tbody tr");
    if (tr) select(tr.getAttribute("data-seg"), "arrow");
  });
  ["q", "f-port", "f-pattern", "f-state", "f-anom"].forEach(function (id) {
    $(id).addEventListener("input", applyFilter);
    $(id).addEventListener("change", applyFilter);
  });
  $("langs").addEventListener("click", function (e) {
    var l = e.target.getAttribute("data-lang");
    if (l) setLang(l);
  });

  var m = /conn=(\d+)/.exec(location.hash);
  selected = m && byID[+m[1]] !== undefined ? byID[+m[1]] : -1;
  header();
  applyFilter();
  if (selected < 0 && shown.length) selected = shown[0];
  setLang(lang);
})();
