(function () {
  "use strict";
  var errors = [];
  window.addEventListener("error", function (e) {
    errors.push(String(e.message));
    document.body.setAttribute("data-ready", "error");
    document.body.setAttribute("data-errors", errors.join(" | "));
  });
  var SVGNS = "http://www.w3.org/2000/svg";
  var D = JSON.parse(document.getElementById("plan-data").textContent);
  var byId = {};
  D.nodes.forEach(function (n) { byId[n.id] = n; n.children = []; });
  D.nodes.forEach(function (n) { if (n.parent !== null) byId[n.parent].children.push(n.id); });
  var expanded = {};
  D.nodes.forEach(function (n) { if (n.kind === "foreach") expanded[n.id] = true; });
  var selected = null;
  var W = 200, H = 50, GX = 34, GY = 56;

  function el(tag, attrs, parent) {
    var e = document.createElementNS(SVGNS, tag);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (parent) parent.appendChild(e);
    return e;
  }
  function h(tag, text, parent, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = text;
    if (cls) e.className = cls;
    if (parent) parent.appendChild(e);
    return e;
  }
  function ancestors(n) {
    var out = [];
    var p = n.parent;
    while (p !== null) { out.push(byId[p]); p = byId[p].parent; }
    return out;
  }
  // The outermost collapsed loop around a node, or null when it is visible.
  function hiddenBy(n) {
    var hid = null;
    ancestors(n).forEach(function (a) { if (a.kind === "foreach" && !expanded[a.id]) hid = a; });
    return hid;
  }
  function fanText(n) {
    if (n.kind !== "foreach") {
      var loops = ancestors(n).filter(function (a) { return a.kind === "foreach"; });
      if (loops.length) n = loops[0];
    }
    var est = n.est;
    if (est && est.count !== undefined) return "\u00d7" + est.count + (est.count_resolved ? "" : " (assumed)");
    return "\u00d7N";
  }

  // Visible boxes: "s<id>" for a step (a quiesce's freeze or a loop's
  // header), "t<id>" for a quiesce's thaw, "c<id>"/"k<id>" for side notes.
  function build() {
    var boxes = {}, order = [], edges = [];
    function box(key, b) { if (!boxes[key]) { boxes[key] = b; order.push(key); } return key; }
    D.nodes.forEach(function (n) {
      if (hiddenBy(n)) return;
      box("s" + n.id, { key: "s" + n.id, node: n, role: "main" });
      if (n.kind === "quiesce") box("t" + n.id, { key: "t" + n.id, node: n, role: "thaw" });
      if (n.kind === "action" && n.compensate) box("c" + n.id, { key: "c" + n.id, node: n, role: "compensate" });
      if (n.kind === "action" && n.cleanup) box("k" + n.id, { key: "k" + n.id, node: n, role: "cleanup" });
    });
    // Where an edge enters / leaves a (possibly hidden) node.
    function entry(n) { var hid = hiddenBy(n); return "s" + (hid ? hid.id : n.id); }
    function exit(n) {
      var hid = hiddenBy(n);
      if (hid) return "s" + hid.id;
      return n.kind === "quiesce" ? "t" + n.id : "s" + n.id;
    }
    var seen = {};
    function edge(a, b, cls) {
      if (a === b || !boxes[a] || !boxes[b]) return;
      var k = a + ">" + b;
      if (seen[k]) return;
      seen[k] = true;
      edges.push({ from: a, to: b, cls: cls });
    }
    D.edges.forEach(function (e) {
      edge(exit(byId[e.from]), entry(byId[e.to]), e.kind === "after" ? "after" : "data");
    });
    D.nodes.forEach(function (n) {
      n.deps.forEach(function (d) { edge(exit(byId[d.on]), entry(n), d.reason === "after" ? "after" : "data"); });
      if ((n.kind === "quiesce" || n.kind === "foreach") && !hiddenBy(n) && (n.kind === "quiesce" || expanded[n.id])) {
        var inBody = {};
        n.children.forEach(function (c) { inBody[c] = true; });
        n.children.forEach(function (c) {
          var cn = byId[c];
          var hasDep = cn.deps.some(function (d) { return inBody[d.on]; });
          if (!hasDep) edge("s" + n.id, entry(cn), "struct");
          var isLeaf = !D.nodes.some(function (o) { return inBody[o.id] && o.deps.some(function (d) { return d.on === c; }); });
          if (n.kind === "quiesce" && isLeaf) edge(exit(cn), "t" + n.id, "struct");
        });
        if (n.kind === "quiesce" && n.children.length === 0) edge("s" + n.id, "t" + n.id, "struct");
      }
      if (boxes["c" + n.id]) edge("s" + n.id, "c" + n.id, "side compensate");
      if (boxes["k" + n.id]) edge("s" + n.id, "k" + n.id, "side cleanup");
    });
    return { boxes: boxes, order: order, edges: edges };
  }

  // Longest-path layering, then barycentric ordering (a few sweeps), nodes
  // of the same outermost block kept together in a layer.
  function layout(G) {
    var succ = {}, pred = {}, indeg = {};
    G.order.forEach(function (k) { succ[k] = []; pred[k] = []; indeg[k] = 0; });
    G.edges.forEach(function (e) { succ[e.from].push(e.to); pred[e.to].push(e.from); indeg[e.to]++; });
    var layer = {}, queue = [], topo = [];
    G.order.forEach(function (k) { layer[k] = 0; if (indeg[k] === 0) queue.push(k); });
    while (queue.length) {
      var k = queue.shift();
      topo.push(k);
      succ[k].forEach(function (s) {
        layer[s] = Math.max(layer[s], layer[k] + 1);
        if (--indeg[s] === 0) queue.push(s);
      });
    }
    if (topo.length !== G.order.length) throw new Error("plan graph has a cycle");
    // Side notes sit beside their step, one layer down at most.
    var layers = [];
    topo.forEach(function (k) { (layers[layer[k]] = layers[layer[k]] || []).push(k); });
    var pos = {};
    function index() { layers.forEach(function (L) { L.forEach(function (k, i) { pos[k] = i; }); }); }
    index();
    function top(k) {
      var n = G.boxes[k].node, a = ancestors(n);
      return a.length ? a[a.length - 1].id : -1;
    }
    function sweep(down) {
      var seq = down ? layers : layers.slice().reverse();
      seq.forEach(function (L) {
        var bary = {};
        L.forEach(function (k) {
          var nb = down ? pred[k] : succ[k];
          bary[k] = nb.length ? nb.reduce(function (s, x) { return s + pos[x]; }, 0) / nb.length : pos[k];
        });
        var group = {};
        L.forEach(function (k) { var t = top(k); (group[t] = group[t] || []).push(bary[k]); });
        var gkey = {};
        for (var t in group) gkey[t] = t === "-1" ? null : group[t].reduce(function (s, x) { return s + x; }, 0) / group[t].length;
        L.sort(function (a, b) {
          var ga = gkey[top(a)], gb = gkey[top(b)];
          var ka = ga === null ? bary[a] : ga, kb = gb === null ? bary[b] : gb;
          if (ka !== kb) return ka - kb;
          if (top(a) !== top(b)) return top(a) - top(b);
          return bary[a] - bary[b] || G.order.indexOf(a) - G.order.indexOf(b);
        });
        index();
      });
    }
    for (var i = 0; i < 4; i++) { sweep(true); sweep(false); }
    var width = 0;
    layers.forEach(function (L) { width = Math.max(width, L.length); });
    var xy = {};
    layers.forEach(function (L, li) {
      var off = (width - L.length) * (W + GX) / 2;
      L.forEach(function (k, i) { xy[k] = { x: 40 + off + i * (W + GX), y: 30 + li * (H + GY) }; });
    });
    return { xy: xy, width: 80 + width * (W + GX), height: 60 + layers.length * (H + GY) };
  }

  function fill(b) {
    var n = b.node;
    if (b.role === "compensate") return "#fbe3e3";
    if (b.role === "cleanup") return "#e3ebfb";
    if (n.kind === "quiesce") return "#cfe9cf";
    if (n.kind === "foreach") return "#eeeeee";
    if (n.kind === "approve") return "#ffe9b3";
    return { read: "#e8f4ff", mutate: "#fff4d6", destroy: "#ffd9d9" }[n.effect] || "#fff";
  }
  function labels(b) {
    var n = b.node;
    if (b.role === "compensate") return ["compensate " + n.name, n.compensate];
    if (b.role === "cleanup") return ["cleanup " + n.name, n.cleanup];
    if (b.role === "thaw") return ["thaw " + n.targets, "reverse order"];
    if (n.kind === "quiesce") return ["freeze " + n.targets, "by " + n.by + " in " + n.order + " via " + n.method];
    if (n.kind === "foreach") return [(expanded[n.id] ? "\u25bc " : "\u25b6 ") + "\u27f3 " + n.name + " " + fanText(n), "for " + n.var + " in " + n.over + ", " + n.parallel + " at a time"];
    if (n.kind === "approve") return [n.name, "approve " + n.prompt];
    return [n.name + (n.dynamic ? " " + fanText(n) : ""), n.action + " (" + n.effect + ")"];
  }
  function clip(s, max) { s = String(s); return s.length > max ? s.slice(0, max - 1) + "\u2026" : s; }

  function draw() {
    var G = build(), L = layout(G);
    var canvas = document.getElementById("canvas");
    canvas.textContent = "";
    var svg = el("svg", { width: L.width, height: L.height, viewBox: "0 0 " + L.width + " " + L.height, id: "graph" }, canvas);
    var defs = el("defs", {}, svg);
    [["arrow", "#888"], ["arrowc", "#d00"]].forEach(function (a) {
      var m = el("marker", { id: a[0], viewBox: "0 0 10 10", refX: 10, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto" }, defs);
      el("path", { d: "M0,0 L10,5 L0,10 z", fill: a[1] }, m);
    });
    // Regions: quiesce scopes and expanded loops, outermost first.
    var regions = D.nodes.filter(function (n) {
      return !hiddenBy(n) && (n.kind === "quiesce" || (n.kind === "foreach" && expanded[n.id]));
    }).sort(function (a, b) { return ancestors(a).length - ancestors(b).length; });
    var gRegions = el("g", { id: "regions" }, svg);
    regions.forEach(function (r) {
      var keys = G.order.filter(function (k) {
        var n = G.boxes[k].node;
        return n.id === r.id || ancestors(n).some(function (a) { return a.id === r.id; });
      });
      var x0 = 1e9, y0 = 1e9, x1 = -1e9, y1 = -1e9;
      keys.forEach(function (k) { var p = L.xy[k]; x0 = Math.min(x0, p.x); y0 = Math.min(y0, p.y); x1 = Math.max(x1, p.x + W); y1 = Math.max(y1, p.y + H); });
      var pad = 14 - 4 * ancestors(r).length;
      var q = D.estimates && D.estimates.quiesce.filter(function (x) { return x.step === r.name; })[0];
      var cls = "region " + r.kind + (q && q.exceeds ? " exceeds" : "");
      el("rect", { x: x0 - pad, y: y0 - pad - 12, width: x1 - x0 + 2 * pad, height: y1 - y0 + 2 * pad + 12, rx: 8, "class": cls, "data-region": r.name }, gRegions);
      var t = el("text", { x: x0 - pad + 6, y: y0 - pad - 1, "class": "rlabel" }, gRegions);
      t.textContent = r.kind === "quiesce"
        ? r.name + ": frozen via " + r.method + " within " + r.within + (r.retry ? " retry " + r.retry + " backoff " + r.backoff : "") + (q ? " \u2014 est. window " + q.window : "")
        : r.name + ": for " + r.var + " in " + r.over + " " + fanText(r);
    });
    var gEdges = el("g", { id: "edges" }, svg);
    G.edges.forEach(function (e) {
      var a = L.xy[e.from], b = L.xy[e.to];
      var na = G.boxes[e.from], nb = G.boxes[e.to];
      var crit = e.cls.indexOf("side") < 0 && na.node.est && nb.node.est && na.node.est.critical && nb.node.est.critical;
      var x1 = a.x + W / 2, y1 = a.y + H, x2 = b.x + W / 2, y2 = b.y;
      var my = (y1 + y2) / 2;
      el("path", {
        d: "M" + x1 + "," + y1 + " C" + x1 + "," + my + " " + x2 + "," + my + " " + x2 + "," + y2,
        "class": "edge " + e.cls + (crit ? " critical" : ""),
        "marker-end": e.cls.indexOf("side") >= 0 ? "" : (crit ? "url(#arrowc)" : "url(#arrow)"),
        "data-from": e.from, "data-to": e.to
      }, gEdges);
    });
    var gNodes = el("g", { id: "nodes" }, svg);
    G.order.forEach(function (k) {
      var b = G.boxes[k], n = b.node, p = L.xy[k];
      var crit = b.role === "main" && n.est && n.est.critical;
      var g = el("g", { "class": "step " + (n.kind === "action" ? n.effect : n.kind) + (crit ? " critical" : "") + (selected === n.id ? " selected" : ""), transform: "translate(" + p.x + "," + p.y + ")" }, gNodes);
      if (b.role === "main") g.setAttribute("data-step", n.name);
      else g.setAttribute("data-" + b.role, n.name);
      var shape = n.kind === "approve" && b.role === "main" ? 20 : 6;
      el("rect", { width: W, height: H, rx: shape, fill: fill(b), "stroke-dasharray": b.role === "compensate" || b.role === "cleanup" ? "4 3" : "" }, g);
      var ls = labels(b);
      var t1 = el("text", { x: 8, y: 19, "font-weight": "bold" }, g); t1.textContent = clip(ls[0], 30);
      var t2 = el("text", { x: 8, y: 37 }, g); t2.textContent = clip(ls[1], 32);
      var title = el("title", {}, g); title.textContent = ls.join("\n");
      g.addEventListener("click", function () {
        selected = n.id;
        if (n.kind === "foreach" && b.role === "main") { expanded[n.id] = !expanded[n.id]; }
        show(n);
        draw();
      });
    });
    return G;
  }

  function show(n) {
    var panel = document.getElementById("panel");
    panel.textContent = "";
    h("h3", n.name, panel);
    var t = h("table", null, panel);
    function row(k, v) { if (v === null || v === undefined || v === "") return; var r = h("tr", null, t); h("td", k, r); h("td", String(v), r); }
    row("kind", n.kind + (n.effect ? " (" + n.effect + ")" : ""));
    row("action", n.action);
    row("call", n.call);
    (n.args || []).forEach(function (a) { row("input " + a[0], a[1]); });
    row("result", n.result);
    row("prompt", n.prompt);
    row("targets", n.targets); row("by", n.by); row("order", n.order); row("method", n.method); row("within", n.within); if (n.retry) row("retry", n.retry + " (backoff " + n.backoff + ")");
    row("over", n.over); row("var", n.var); row("parallel", n.parallel);
    row("when", n.when);
    row("waits for", n.deps.map(function (d) { return byId[d.on].name + " (" + d.reason + ")"; }).join(", "));
    row("retry", n.retry); row("timeout", n.timeout);
    row("compensate", n.compensate); row("cleanup", n.cleanup);
    if (n.dynamic) row("fan-out", "once per item of the enclosing loop");
    if (n.est) {
      row("est. start", fmt(n.est.start_ms)); row("est. end", fmt(n.est.end_ms));
      if (n.est.count !== undefined) row("count", n.est.count + (n.est.count_resolved ? " (resolved)" : " (assumed)"));
      if (n.kind === "action") row("latency", n.est.measured ? fmt(n.est.end_ms - n.est.start_ms) + " measured at " + n.est.measured.site + " (median of " + n.est.measured.samples + " past calls)" : fmt(n.est.end_ms - n.est.start_ms) + " (latency table)");
      row("critical path", n.est.critical ? "yes" : "no");
    }
    row("source line", n.line);
  }
  function fmt(ms) {
    if (ms < 1000) return ms + "ms";
    var s = ms / 1000;
    if (s < 120) return (Math.round(s * 10) / 10) + "s";
    var m = Math.floor(s / 60), r = Math.round(s - m * 60);
    if (m < 120) return m + "m" + (r ? r + "s" : "");
    return Math.floor(m / 60) + "h" + (m % 60) + "m";
  }

  function header() {
    var hd = document.getElementById("head");
    h("h1", "runbook " + D.runbook + " \u2014 " + D.title, hd);
    h("div", "source: " + D.source + (D.params.length ? " \u00b7 params: " + D.params.map(function (p) { return p[0] + "=" + p[1]; }).join(", ") : ""), hd, "sum");
    var E = D.estimates;
    if (E) {
      h("div", "estimated time to completion (RTO for a recover runbook): " + E.total + " \u00b7 fan-outs assumed \u00d7" + E.assumed_fanout + " unless resolved", hd, "sum").id = "rto";
      h("div", "critical path: " + E.critical_path.join(" \u2192 "), hd, "sum");
      E.quiesce.forEach(function (q) {
        h("div", "quiesce " + q.step + ": window " + q.window + " (within " + q.within + ")" + (q.exceeds ? " \u2014 EXCEEDS the bound" : "") + "; per group: " +
          q.groups.map(function (g) { return g.group + " \u00d7" + g.targets + " " + g.window; }).join(", "), hd, q.exceeds ? "sum warn" : "sum");
      });
    }
    D.notes.forEach(function (n) { h("div", n, hd, /^\s*(error|warning)\b/.test(n) ? "sum warn" : "sum note"); });
    var lg = h("div", null, hd, "legend");
    [["#e8f4ff", "read"], ["#fff4d6", "mutate"], ["#ffd9d9", "destroy"], ["#ffe9b3", "approve"], ["#e3f3e3", "quiesce window"], ["#fbe3e3", "compensation (dashed)"], ["#fff", "critical path (red)"]].forEach(function (x) {
      var s = h("span", null, lg); var i = h("i", null, s); i.style.background = x[0]; if (x[1].indexOf("critical") === 0) i.style.borderColor = "#d00"; s.appendChild(document.createTextNode(x[1]));
    });
  }

  function timeline() {
    if (!D.run) return;
    var sec = document.getElementById("timeline");
    h("h2", "run timeline", sec);
    var rows = D.run.slice().sort(function (a, b) { return a.start_ms - b.start_ms || a.step.localeCompare(b.step); });
    var end = 1;
    rows.forEach(function (r) { end = Math.max(end, r.end_ms); });
    var byName = {};
    D.nodes.forEach(function (n) { byName[n.name] = n; });
    rows.forEach(function (r) { var n = byName[r.step.split("[")[0]]; if (n && n.est) end = Math.max(end, n.est.end_ms); });
    var LW = 220, PW = 1000, RH = 20;
    var svg = el("svg", { "class": "gantt", width: LW + PW + 40, height: 40 + rows.length * RH, id: "gantt" }, sec);
    var sc = function (ms) { return LW + ms / end * PW; };
    for (var i = 0; i <= 10; i++) {
      var x = sc(end * i / 10);
      el("line", { x1: x, y1: 20, x2: x, y2: 24 + rows.length * RH, stroke: "#ddd" }, svg);
      var tt = el("text", { x: x, y: 14, "text-anchor": "middle" }, svg); tt.textContent = fmt(Math.round(end * i / 10));
    }
    rows.forEach(function (r, i) {
      var y = 24 + i * RH;
      var g = el("g", { "data-timing": r.step }, svg);
      var t = el("text", { x: 4, y: y + 13 }, g); t.textContent = clip(r.step, 32);
      var cls = ["ok", "failed", "skipped", "compensated", "frozen"].indexOf(r.outcome) >= 0 ? r.outcome : "other";
      el("rect", { x: sc(r.start_ms), y: y + 3, width: Math.max(2, sc(r.end_ms) - sc(r.start_ms)), height: RH - 6, "class": "bar " + cls }, g);
      var n = byName[r.step.split("[")[0]];
      if (n && n.est) el("rect", { x: sc(n.est.start_ms), y: y + 1, width: Math.max(2, sc(n.est.end_ms) - sc(n.est.start_ms)), height: RH - 2, "class": "estbar" }, g);
      var tl = el("title", {}, g); tl.textContent = r.step + ": " + r.outcome + ", " + fmt(r.start_ms) + " \u2192 " + fmt(r.end_ms) + (n && n.est ? " (estimated " + fmt(n.est.start_ms) + " \u2192 " + fmt(n.est.end_ms) + ")" : "");
    });
    h("p", "bars: actual (green ok, red failed, orange compensated, grey skipped, blue a server frozen by a quiesce scope); dashed outline: the plan's estimate", sec, "hint");
  }

  header();
  draw();
  timeline();
  // Self-check: every step of the plan is drawn.
  var missing = D.nodes.filter(function (n) {
    return !document.querySelector('[data-step="' + n.name.replace(/"/g, '\\"') + '"]');
  }).map(function (n) { return n.name; });
  if (missing.length) errors.push("steps not drawn: " + missing.join(", "));
  document.body.setAttribute("data-steps", String(D.nodes.length));
  if (errors.length) {
    document.body.setAttribute("data-ready", "error");
    document.body.setAttribute("data-errors", errors.join(" | "));
  } else {
    document.body.setAttribute("data-ready", "ok");
  }
})();
