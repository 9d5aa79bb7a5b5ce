"use strict";
(function () {
  var D = JSON.parse(document.getElementById("synfin-data").textContent);
  var G = D.geom, lang = D.lang, selected = null, shown = [];
  var ROW = 30;
  var $ = function (id) { return document.getElementById(id); };

  // Messages: the same catalogue and placeholder rules as package explain.
  function lookup(key) {
    var e = D.cat[key];
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
  function t(m) {
    var tmpl = lookup(m[0]);
    if (tmpl === null) return "[" + m[0] + "]";
    var args = {};
    for (var i = 1; i + 1 < m.length; i += 2) args[m[i]] = m[i + 1];
    return fill(tmpl, args);
  }
  function w(key) { return t([key]); }
  // A name of tcpstate's (kind "ann" for anomalies, "pn" for teardown
  // patterns) in the current language; names joins them as a list.
  function name(kind, n) { var s = lookup(kind + "." + n); return s === null ? n : s; }
  function names(kind, ns) { return ns.map(function (n) { return name(kind, n); }).join(lookup("w.list")); }
  function esc(s) {
    return String(s).replace(/[&<>"]/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" }[c];
    });
  }

  // Filters and the connection list, drawn only where visible.
  function options(sel, values, anyKey, kind) {
    var cur = sel.value;
    sel.innerHTML = "";
    var o = document.createElement("option");
    o.value = ""; o.textContent = w(anyKey); sel.appendChild(o);
    values.forEach(function (v) {
      var o = document.createElement("option");
      o.value = v; o.textContent = kind ? name(kind, v) : v; sel.appendChild(o);
    });
    sel.value = cur;
  }
  function distinct(f) {
    var seen = {};
    D.conns.forEach(function (c) { f(c).forEach(function (v) { seen[v] = true; }); });
    return Object.keys(seen).sort();
  }
  var patterns = distinct(function (c) { return [c.p]; });
  var states = distinct(function (c) { return c.fin; });

  function applyFilter() {
    var q = $("q").value.trim().toLowerCase(), p = $("f-pattern").value,
      s = $("f-state").value, an = $("f-anom").checked;
    shown = D.conns.filter(function (c) {
      if (p && c.p !== p) return false;
      if (s && c.fin[0] !== s && c.fin[1] !== s) return false;
      if (an && c.an.length === 0) return false;
      if (q && (String(c.id) !== q && (c.c + " " + c.s).toLowerCase().indexOf(q) < 0)) return false;
      return true;
    });
    $("rows-inner").style.height = shown.length * ROW + "px";
    $("count").textContent = t(["ui.conns", "n", String(shown.length), "total", String(D.conns.length)]);
    $("count").setAttribute("data-shown", shown.length);
    $("count").setAttribute("data-total", D.conns.length);
    drawRows();
  }
  function drawRows() {
    var box = $("rows"), top = box.scrollTop, h = box.clientHeight || 600;
    var from = Math.max(0, Math.floor(top / ROW) - 10), to = Math.min(shown.length, Math.ceil((top + h) / ROW) + 10);
    var html = [];
    for (var i = from; i < to; i++) {
      var c = shown[i];
      html.push('<div class="crow' + (selected && selected.id === c.id ? " sel" : "") + '" data-id="' + c.id +
        '" style="top:' + i * ROW + 'px"><span class="id">#' + c.id + '</span><span class="ep">' +
        esc(c.c) + " → " + esc(c.s) + '</span><span class="st">' + esc(c.fin[0]) + " / " + esc(c.fin[1]) +
        '</span><span class="pill p-' + esc(c.p) + '">' + esc(name("pn", c.p)) + "</span>" +
        (c.an.length ? '<span class="pill an" title="' + esc(names("ann", c.an)) + '">⚠ ' + c.an.length + "</span>" : "") + "</div>");
    }
    $("rows-inner").innerHTML = html.join("");
  }

  // The ladder, drawn from package ladder's model with the SVG writer's
  // geometry.
  function rowH(r) {
    switch (r[0]) {
      case "seg": return G.rowSeg + (r[9].length ? G.rowMark : 0);
      case "break": return G.rowBreak;
      case "lost": return G.rowLost;
    }
    return G.rowEnd;
  }
  function band(s) {
    switch (s) {
      case "SYN-SENT": case "SYN-RECEIVED": return 1;
      case "ESTABLISHED": return 2;
      case "FIN-WAIT-1": case "FIN-WAIT-2": case "CLOSE-WAIT": case "CLOSING": case "LAST-ACK": return 3;
      case "TIME-WAIT": return 4;
    }
    return 0;
  }
  var classes = ["normal", "retrans", "rst", "warn"];
  function ladder(c) {
    var o = [], cx = G.clientX, sx = G.serverX, mid = (cx + sx) / 2, W = G.width;
    var ys = [], phaseAt = {}, phaseY = [], y = G.head;
    c.ph.forEach(function (p) { phaseAt[p[1]] = p; });
    c.rows.forEach(function (r, i) {
      if (phaseAt[i]) { phaseY.push(y); y += G.phase; }
      ys.push(y); y += rowH(r);
    });
    // Same geometry as the SVG writer, less its title lines (the page
    // shows them).
    var H = y + 8 - 40;
    o.push('<svg xmlns="http://www.w3.org/2000/svg" width="' + W + '" height="' + H + '" viewBox="0 0 ' + W + " " + H + '">');
    o.push("<style>text{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px;fill:#111827}.head{font-weight:bold}.state{font-size:11px;font-weight:bold}.t{fill:#6b7280;font-size:11px}.mark{fill:#b91c1c;font-size:11px}.phase{font-size:11px;font-weight:bold;fill:#1d4ed8}.brk{fill:#4b5563;font-size:11px}.lost{fill:#6b7280;font-style:italic;font-size:11px}.lbl{font-size:11px}line.hit{stroke:transparent;stroke-width:14}</style><defs>");
    D.classes.forEach(function (col, i) {
      if (classes[i] === "rst") o.push('<marker id="h-rst" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="9" markerHeight="9" orient="auto-start-reverse"><path d="M1 1L9 9M9 1L1 9" stroke="' + col + '" stroke-width="2"/></marker>');
      else o.push('<marker id="h-' + classes[i] + '" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" orient="auto-start-reverse"><path d="M0 0L10 5L0 10z" fill="' + col + '"/></marker>');
    });
    o.push('</defs><g transform="translate(0,-40)">');
    o.push('<text class="head" x="' + cx + '" y="68" text-anchor="middle">' + esc(w("w.client") + " " + c.c) + "</text>");
    o.push('<text class="head" x="' + sx + '" y="68" text-anchor="middle">' + esc(w("w.server") + " " + c.s) + "</text>");
    o.push('<text class="state" x="' + (cx - 12) + '" y="94" text-anchor="end">' + c.ini[0] + "</text>");
    o.push('<text class="state" x="' + (sx + 12) + '" y="94">' + c.ini[1] + "</text>");
    [cx, sx].forEach(function (x, side) {
      var start = G.head - 8, st = c.ini[side];
      c.rows.forEach(function (r, i) {
        var now = r[4 + side], changed = (r[6] >> side) & 1;
        if (now === st && !(changed && r[0] === "seg")) return;
        var at = ys[i] + G.arrowY + G.slant / 2;
        o.push('<rect x="' + (x - G.bandW / 2) + '" y="' + start + '" width="' + G.bandW + '" height="' + (at - start) + '" fill="' + D.bands[band(st)] + '"><title>' + st + "</title></rect>");
        start = at; st = now;
      });
      var end = ys[ys.length - 1] + 10;
      o.push('<rect x="' + (x - G.bandW / 2) + '" y="' + start + '" width="' + G.bandW + '" height="' + (end - start) + '" fill="' + D.bands[band(st)] + '"><title>' + st + "</title></rect>");
      o.push('<line x1="' + (x - 14) + '" y1="' + end + '" x2="' + (x + 14) + '" y2="' + end + '" stroke="#374151"/>');
    });
    c.ph.forEach(function (p, i) {
      var top = phaseY[i], last = p[2], bot = ys[last] + rowH(c.rows[last]) - 6;
      o.push('<text class="phase" x="12" y="' + (top + 13) + '">' + esc(w("w.phase." + p[0])) + "</text>");
      o.push('<path d="M10 ' + (top + 16) + "H4V" + bot + 'H10" fill="none" stroke="#1d4ed8"/>');
    });
    c.rows.forEach(function (r, i) {
      var y = ys[i];
      if (r[0] === "seg") {
        var s = c.segs[r[1]], ay = y + G.arrowY, x1 = cx + G.bandW / 2, x2 = sx - G.bandW / 2;
        if (s[3] === "s2c") { var tmp = x1; x1 = x2; x2 = tmp; }
        var cl = r[8], col = D.classes[classes.indexOf(cl)];
        o.push('<g class="seg c-' + cl + '" data-seg="' + s[0] + '">');
        o.push('<rect class="selbg" x="' + (cx + 8) + '" y="' + (y + 1) + '" width="' + (sx - cx - 16) + '" height="' + (rowH(r) - 2) + '" fill="transparent"/>');
        o.push('<text class="t" x="12" y="' + (ay + 8) + '">#' + s[0] + '</text><text class="t" x="60" y="' + (ay + 8) + '">' + esc(s[2]) + "</text>");
        o.push('<line x1="' + x1 + '" y1="' + ay + '" x2="' + x2 + '" y2="' + (ay + G.slant) + '" stroke="' + col + '" stroke-width="1.5"' + (cl === "retrans" ? ' stroke-dasharray="6 4"' : "") + ' marker-end="url(#h-' + cl + ')"/>');
        o.push('<line class="hit" x1="' + x1 + '" y1="' + ay + '" x2="' + x2 + '" y2="' + (ay + G.slant) + '"/>');
        o.push('<text class="lbl" x="' + mid + '" y="' + (y + 10) + '" text-anchor="middle" fill="' + col + '">' + esc(r[7]) + "</text>");
        if (r[9].length) o.push('<text class="mark" x="' + mid + '" y="' + (ay + G.slant + 14) + '" text-anchor="middle">⚠ ' + esc(names("ann", r[9])) + "</text>");
        o.push("</g>");
        [cx - 12, sx + 12].forEach(function (x, side) {
          if (!((r[6] >> side) & 1)) return;
          o.push('<text class="state" x="' + x + '" y="' + (ay + G.slant / 2 + 4) + '"' + (side === 0 ? ' text-anchor="end"' : "") + ">" + r[4 + side] + "</text>");
        });
      } else if (r[0] === "break") {
        var m = y + G.rowBreak / 2;
        [cx, sx].forEach(function (x) {
          o.push('<rect x="' + (x - G.bandW) + '" y="' + (m - 4) + '" width="' + 2 * G.bandW + '" height="8" fill="#ffffff"/>');
          o.push('<path d="M' + (x - 10) + " " + (m - 3) + "l5 -3l5 3l5 -3l5 3M" + (x - 10) + " " + (m + 5) + 'l5 -3l5 3l5 -3l5 3" fill="none" stroke="#4b5563"/>');
        });
        o.push('<text class="brk" x="' + mid + '" y="' + (m + 4) + '" text-anchor="middle">' + esc("⋯ " + (r[3] ? t(["lg.timewait", "dur", r[2]]) : r[2]) + " ⋯") + "</text>");
      } else if (r[0] === "lost") {
        o.push('<text class="lost" x="' + mid + '" y="' + (y + 15) + '" text-anchor="middle">✂ ' + esc(w("lg.lost")) + "</text>");
      } else {
        o.push('<text class="t" x="12" y="' + (y + 18) + '">' + esc(w("lg.end")) + "</text>");
        o.push('<text class="state" x="' + (cx - 12) + '" y="' + (y + 18) + '" text-anchor="end">' + r[4] + "</text>");
        o.push('<text class="state" x="' + (sx + 12) + '" y="' + (y + 18) + '">' + r[5] + "</text>");
      }
    });
    o.push("</g></svg>");
    return o.join("");
  }

  function ul(ms) {
    return "<ul>" + ms.map(function (m) { return "<li>" + esc(t(m)) + "</li>"; }).join("") + "</ul>";
  }
  function segTable(c) {
    var o = ['<table id="segtable"><thead><tr>'];
    ["seg", "time", "dir", "flags", "seq", "ack", "len", "phase", "states", "notes"].forEach(function (k) {
      o.push("<th>" + esc(w("ui.col." + k)) + "</th>");
    });
    o.push("</tr></thead><tbody>");
    c.segs.forEach(function (s) {
      var dir = s[3] === "c2s" ? w("w.client") + " → " + w("w.server") : w("w.server") + " → " + w("w.client");
      var notes = s[13].map(function (ch) {
        var side = ch[0] === 0 ? "@w.client" : "@w.server";
        return '<div class="chg">' + esc(t(["tl.change", "side", side, "from", ch[1], "to", ch[2], "how", ch[3] ? "@w.sends" : "@w.recv", "why", "@" + ch[4]])) + "</div>";
      }).concat(s[12].map(function (m) {
        return "<div" + (m[0] === "x.anomaly" ? ' class="warn"' : "") + ">" + esc(t(m)) + "</div>";
      }));
      o.push('<tr data-seg="' + s[0] + '"><td class="num">#' + s[0] + '</td><td class="num">' + esc(s[1]) + "<br>+" + esc(s[2]) +
        "</td><td>" + esc(dir) + '</td><td class="num">[' + esc(s[4]) + ']</td><td class="num">' + s[5] + ' <span class="abs">[' + s[6] + "]</span></td>" +
        '<td class="num">' + (s[8] < 0 ? "" : s[7] + ' <span class="abs">[' + s[8] + "]</span>") + '</td><td class="num">' + s[9] +
        "</td><td>" + esc(w("w.phase." + s[11])) + '</td><td class="num states"></td><td>' + notes.join("") + "</td></tr>");
    });
    o.push("</tbody></table>");
    return o.join("");
  }
  // statesAfter fills the states column from the ladder rows.
  function fillStates(c) {
    c.rows.forEach(function (r) {
      if (r[0] !== "seg") return;
      var tr = document.querySelector('#segtable tr[data-seg="' + c.segs[r[1]][0] + '"] td.states');
      if (tr) tr.textContent = r[4] + " / " + r[5];
    });
  }

  function showConn(c) {
    selected = c;
    var d = $("detail");
    if (!c) { d.innerHTML = '<p class="hint">' + esc(w("ui.pick")) + "</p>"; drawRows(); return; }
    d.innerHTML = "<h2>" + esc(t(c.title)) + "</h2>" + ul(c.hdr) +
      "<h3>" + esc(w("v.title")) + "</h3>" + ul(c.v) +
      "<h3>" + esc(w("ui.ladder")) + '</h3><div id="ladder">' + ladder(c) + "</div>" +
      "<h3>" + esc(w("ui.segments")) + "</h3>" + segTable(c) +
      (c.miss.length ? "<h3>" + esc(w("miss.title")) + "</h3>" + ul(c.miss) : "") +
      "<h3>" + esc(w("sum.title")) + "</h3>" + ul(c.sum);
    fillStates(c);
    d.setAttribute("data-conn", c.id);
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

  function setLang(l) {
    lang = l;
    document.documentElement.lang = l;
    $("lang-en").classList.toggle("on", l === "en");
    $("lang-zh").classList.toggle("on", l === "zh");
    $("title").textContent = w("ui.title") + (D.title ? ": " + D.title : "");
    $("q").placeholder = w("ui.search");
    $("f-anom-l").textContent = w("ui.anomalous");
    options($("f-pattern"), patterns, "ui.pattern", "pn");
    options($("f-state"), states, "ui.state");
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
    if (!row) return;
    var id = +row.getAttribute("data-id");
    for (var i = 0; i < shown.length; i++) if (shown[i].id === id) { showConn(shown[i]); break; }
    history.replaceState(null, "", "#conn=" + id);
  });
  $("detail").addEventListener("click", function (e) {
    var g = e.target.closest("g.seg");
    if (g) { select(g.getAttribute("data-seg"), "row"); return; }
    var tr = e.target.closest("#segtable tbody tr");
    if (tr) select(tr.getAttribute("data-seg"), "arrow");
  });
  ["q", "f-pattern", "f-state", "f-anom"].forEach(function (id) {
    $(id).addEventListener("input", applyFilter);
    $(id).addEventListener("change", applyFilter);
  });
  $("langs").addEventListener("click", function (e) {
    var l = e.target.getAttribute("data-lang");
    if (l) setLang(l);
  });

  var m = /conn=(\d+)/.exec(location.hash), first = D.conns.length ? D.conns[0] : null;
  if (m) D.conns.forEach(function (c) { if (c.id === +m[1]) first = c; });
  selected = first;
  setLang(lang);
})();
