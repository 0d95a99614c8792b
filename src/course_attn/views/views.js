/* course_attn views: kernel-free interactive figures (course_attn.views).
 * Each view is a <div class="ca-view"> holding its data as JSON (computed by course_attn in Python)
 * and this script, which draws it. No kernel, no network: the same output works in the HTML book,
 * Jupyter, VS Code and Colab. Figure parts carry data-figure; values shown are also in data-* attributes. */
(function () {
  "use strict";
  var VERSION = "2";
  if (window.courseAttnViews && window.courseAttnViews.version === VERSION) return;

  var VIRIDIS = ["440154", "482878", "3e4989", "31688e", "26828e", "1f9e89", "35b779", "6ece58", "b5de2b", "fde725"]
    .map(function (h) { return [0, 2, 4].map(function (k) { return parseInt(h.slice(k, k + 2), 16); }); });

  function colour(t) {  // t in [0, 1] -> an rgb() string of the viridis map
    t = Math.min(1, Math.max(0, isFinite(t) ? t : 0)) * (VIRIDIS.length - 1);
    var i = Math.min(Math.floor(t), VIRIDIS.length - 2), f = t - i, a = VIRIDIS[i], b = VIRIDIS[i + 1];
    return "rgb(" + [0, 1, 2].map(function (k) { return Math.round(a[k] + f * (b[k] - a[k])); }).join(",") + ")";
  }

  // The words a view shows follow the page's language: on a page whose <html lang> starts with "zh" (the
  // book's Chinese edition) they come from ZH. A key is an English text; {0}, {1}, … stand for numbers or
  // names, filled in by say() or matched by tr() in a finished text from the data. Texts with no entry
  // stay English and are listed in courseAttnViews.untranslated (the Chinese edition's browser test).
  var ZH = {
    ", ": "\uff0c", "sentence": "句子", "layer": "层", "head": "头", "query": "查询", "key: weight": "键：权重",
    "layer {0}": "第 {0} 层", "layer {0}, head {1}": "第 {0} 层，第 {1} 个头",
    "query tokens": "查询词元", "attention weights on the keys": "各个键上的注意力权重",
    "Hover, focus or click a query token on the left: the lines and the numbers on the right are its attention weights on every key (each row sums to 1).":
      "把鼠标移到左边的某个查询词元上，或者聚焦、点击它：连线和右边的数字就是它在每个键上的注意力权重（每一行之和为 1）。",
    "Every head of every layer (rows: layers, columns: heads; each map: query rows, key columns, colour scaled to its own largest weight). Click a map, or use the arrow keys, to show that head above.":
      "每一层的每一个头（行：层，列：头；每张小图的行是查询、列是键，颜色按该图自己的最大权重缩放）。点击一张小图或用方向键选中它，上方就显示这个头。",
    "Layer {0}, head {1}: query \u201c{2}\u201d (position {3}) puts its largest weight, {4}, on \u201c{5}\u201d (position {6}).":
      "第 {0} 层第 {1} 个头：查询\u201c{2}\u201d（位置 {3}）把最大的权重 {4} 给了\u201c{5}\u201d（位置 {6}）。",
    "Attention weights of every head ({0} layers \u00d7 {1} heads), computed by course_attn":
      "每个头的注意力权重（{0} 层 \u00d7 {1} 个头），由 course_attn 计算",
    "temperature \u03c4": "温度 \u03c4", "keys and query on the unit circle": "单位圆上的键和查询",
    "dashed line: the uniform weight 1/{0}": "虚线：均匀权重 1/{0}",
    "{0}: the largest weight, {1}, goes to {2}.": "{0}：最大的权重 {1} 落在 {2} 上。",
    " Output \u03a3 weight \u00d7 value = {0}.": "输出 \u03a3 权重 \u00d7 值 = {0}。",
    "softmax(q \u00b7 k / \u03c4): the weights of {0} keys for one query (d_k = {1})":
      "softmax(q \u00b7 k / \u03c4)：一个查询在 {0} 个键上的权重（d_k = {1}）",
    "Position schemes: how two positions relate": "位置编码方案：两个位置之间的关系",
    "scheme": "方案", "query position i": "查询位置 i", "key position j": "键位置 j",
    "rows: query position i, columns: key position j": "行：查询位置 i，列：键位置 j",
    "row i: value against key position j": "第 i 行：各个键位置 j 上的值",
    "{0}, query position {1}: largest value {2} at j = {3}, smallest {4} at j = {5}.":
      "{0}，查询位置 {1}：最大值 {2} 在 j = {3}，最小值 {4} 在 j = {5}。",
    "sinusoidal (d = {0})": "正弦（d = {0}）", "learned (d = {0})": "可学习（d = {0}）",
    "RoPE (d_k = {0})": "RoPE（d_k = {0}）", "ALiBi ({0} heads)": "ALiBi（{0} 个头）",
    "T5 buckets ({0} buckets, max_distance {1})": "T5 分桶（{0} 个桶，max_distance {1}）",
    "Shaw (clip distance {0})": "Shaw（截断距离 {0}）",
    "head {0}: slope 1/{1}": "第 {0} 个头：斜率 1/{1}",
    "cosine similarity of the position vectors added to the tokens at positions i and j":
      "位置 i 和 j 上加到词元的两个位置向量的余弦相似度",
    "score q\u1d62 \u00b7 k\u2c7c of one unit vector (all entries equal) rotated to positions i and j":
      "同一个单位向量（各分量相等）旋转到位置 i 和 j 后的得分 q\u1d62 \u00b7 k\u2c7c",
    "bias \u2212m\u2095 |i \u2212 j| added to the scores (one slope per head)":
      "加到得分上的偏置 \u2212m\u2095 |i \u2212 j|（每个头一个斜率）",
    "bucket of the offset j \u2212 i: each bucket has one learned bias per head":
      "偏移 j \u2212 i 所在的桶：每个桶在每个头上有一个可学习的偏置",
    "row clip(j \u2212 i, \u2212k, k) + k of the learned vectors a\u1d37, a\u2c7d used for the pair":
      "这对位置使用的可学习向量 a\u1d37、a\u2c7d 的第 clip(j \u2212 i, \u2212k, k) + k 行"
  };
  var PATTERNS = Object.keys(ZH).filter(function (k) { return /\{\d\}/.test(k); }).map(function (k) {
    var parts = k.split(/\{\d\}/).map(function (p) { return p.replace(/[.*+?^$()|[\]\\]/g, "\\$&"); });
    return {re: new RegExp("^" + parts.join("(.+?)") + "$"), zh: ZH[k], fixed: parts.join("").length};
  }).sort(function (a, b) { return b.fixed - a.fixed; });  // the most specific pattern first
  var untranslated = [];

  function chinese() { return /^zh/i.test(document.documentElement.lang || ""); }

  function fill(text, args) { return text.replace(/\{(\d)\}/g, function (_, k) { return args[k]; }); }

  function say(template) {  // one of the view's own texts, {0}, {1}, … filled with the other arguments
    var args = Array.prototype.slice.call(arguments, 1);
    if (!chinese()) return fill(template, args);
    if (ZH.hasOwnProperty(template)) return fill(ZH[template], args);
    if (untranslated.indexOf(template) < 0) untranslated.push(template);
    return fill(template, args);
  }

  function tr(text) {  // a finished English text from the data: a title, a scheme's label or description
    if (!chinese() || !/[A-Za-z]{2}/.test(text)) return text;
    if (ZH.hasOwnProperty(text)) return ZH[text];
    for (var k = 0; k < PATTERNS.length; k++) {
      var m = PATTERNS[k].re.exec(text);
      if (m) return fill(PATTERNS[k].zh, m.slice(1));
    }
    if (untranslated.indexOf(text) < 0) untranslated.push(text);
    return text;
  }

  function el(tag, attrs, children) {
    var svg = ["svg", "line", "polyline", "circle", "text", "title", "path", "rect", "g"].indexOf(tag) >= 0;
    var node = svg ? document.createElementNS("http://www.w3.org/2000/svg", tag) : document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") node.textContent = attrs[k];
      else if (attrs[k] !== null && attrs[k] !== undefined) node.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) { node.appendChild(typeof c === "string" ? document.createTextNode(c) : c); });
    return node;
  }

  function fmt(v, decimals) {
    var s = v.toFixed(decimals);
    return /^-0\.?0*$/.test(s) ? s.slice(1) : s;
  }

  // Numbers: round(value * scale), zigzag-mapped to >= 0 and written in base 32, most significant digit
  // first; a digit from MORE means more digits follow, one from LAST ends the number (course_attn.views._page).
  var LAST = "0123456789ABCDEFGHIJKLMNOPQRSTUV", MORE = "WXYZabcdefghijklmnopqrstuvwxyz+/", DIGIT = {};
  for (var k = 0; k < 32; k++) { DIGIT[LAST.charCodeAt(k)] = k; DIGIT[MORE.charCodeAt(k)] = k + 32; }

  function decode(m) {  // {shape, scale, data} -> Float64Array of the values
    var size = m.shape.reduce(function (a, b) { return a * b; }, 1), out = new Float64Array(size), z = 0, n = 0;
    for (var i = 0; i < m.data.length; i++) {
      var d = DIGIT[m.data.charCodeAt(i)];
      z = 32 * z + (d & 31);
      if (d < 32) { out[n++] = (z % 2 === 0 ? z / 2 : -(z + 1) / 2) / m.scale; z = 0; }
    }
    return out;
  }

  function slider(label, min, max, step, value, show) {
    var input = el("input", {type: "range", min: min, max: max, step: step, value: value});
    var out = el("output", {"aria-hidden": "true"});
    var wrap = el("label", {"class": "ca-v-control"}, [el("span", {text: label}), input, out]);
    function shown() { out.textContent = show(input.value); input.setAttribute("aria-valuetext", show(input.value)); }
    shown();
    input.addEventListener("input", shown);
    return {wrap: wrap, input: input, refresh: shown};
  }

  function choice(label, options, value) {
    var select = el("select", {}, options.map(function (o, i) { return el("option", {value: i, text: o}); }));
    select.value = String(value);
    return {wrap: el("label", {"class": "ca-v-control"}, [el("span", {text: label}), select]), input: select};
  }

  function heatmap(canvas, values, rows, cols, cell, low, high, markRow) {
    canvas.width = cols * cell;
    canvas.height = rows * cell;
    var ctx = canvas.getContext("2d"), span = high - low || 1;
    for (var i = 0; i < rows; i++) {
      for (var j = 0; j < cols; j++) {
        ctx.fillStyle = colour((values(i, j) - low) / span);
        ctx.fillRect(j * cell, i * cell, cell, cell);
      }
    }
    if (markRow !== undefined && markRow !== null) {
      ctx.strokeStyle = "#ff2e63";
      ctx.lineWidth = Math.max(1, cell / 4);
      ctx.strokeRect(ctx.lineWidth / 2, markRow * cell + ctx.lineWidth / 2, cols * cell - ctx.lineWidth, cell - ctx.lineWidth);
    }
  }

  /* ---- attention of a real model: head view + layers x heads model view ---- */
  function attention(root, d) {
    var S = d.sentences.map(function (s) { return {text: s.text, tokens: s.tokens, w: decode(s.weights)}; });
    var st = {s: d.sentence, layer: d.layer, head: d.head, query: d.query, preview: null};
    var dec = d.decimals, ROW = 24;
    function n() { return S[st.s].tokens.length; }
    function w(l, h, i, j) { var L = n(); return S[st.s].w[((l * d.heads + h) * L + i) * L + j]; }

    var sentence = choice(say("sentence"), S.map(function (s) { return s.text; }), st.s);
    var layer = slider(say("layer"), 0, d.layers - 1, 1, st.layer, String);
    var head = slider(say("head"), 0, d.heads - 1, 1, st.head, String);
    var queries = el("div", {"class": "ca-v-col ca-v-queries", role: "group", "aria-label": say("query tokens")});
    var lines = el("svg", {"class": "ca-v-lines", "aria-hidden": "true", preserveAspectRatio: "none"});
    var keys = el("div", {"class": "ca-v-col ca-v-keys", "aria-label": say("attention weights on the keys")});
    var headView = el("div", {"class": "ca-v-headview", "data-figure": "head view"}, [
      el("div", {"class": "ca-v-colhead", text: say("query")}), el("div"), el("div", {"class": "ca-v-colhead", text: say("key: weight")}),
      queries, lines, keys]);
    var readout = el("p", {"class": "ca-v-readout", "aria-live": "polite"});
    var grid = el("div", {"class": "ca-v-modelview", "data-figure": "model view",
      style: "grid-template-columns: auto repeat(" + d.heads + ", minmax(0, 1fr))"});
    grid.appendChild(el("span", {"class": "ca-v-axis", text: say("head")}));
    for (var h = 0; h < d.heads; h++) grid.appendChild(el("span", {"class": "ca-v-axis", text: String(h)}));
    var thumbs = [];
    for (var l = 0; l < d.layers; l++) {
      grid.appendChild(el("span", {"class": "ca-v-axis", text: say("layer {0}", l)}));
      for (h = 0; h < d.heads; h++) {
        var b = el("button", {type: "button", "class": "ca-v-thumb", "aria-label": say("layer {0}, head {1}", l, h),
          title: say("layer {0}, head {1}", l, h)}, [el("canvas")]);
        b.addEventListener("click", (function (l, h) { return function () { pick(l, h); }; })(l, h));
        b.addEventListener("keydown", (function (l, h) { return function (e) {  // arrows move within the grid
          var to = {ArrowLeft: [l, h - 1], ArrowRight: [l, h + 1], ArrowUp: [l - 1, h], ArrowDown: [l + 1, h]}[e.key];
          if (!to || to[0] < 0 || to[0] >= d.layers || to[1] < 0 || to[1] >= d.heads) return;
          e.preventDefault(); pick(to[0], to[1]); thumbs[to[0] * d.heads + to[1]].focus();
        }; })(l, h));
        thumbs.push(b);
        grid.appendChild(b);
      }
    }
    root.appendChild(el("div", {"class": "ca-v-controls"}, [sentence.wrap, layer.wrap, head.wrap]));
    root.appendChild(el("p", {"class": "ca-v-hint", text: say("Hover, focus or click a query token on the left: " +
      "the lines and the numbers on the right are its attention weights on every key (each row sums to 1).")}));
    root.appendChild(headView);
    root.appendChild(readout);
    root.appendChild(el("p", {"class": "ca-v-hint", text: say("Every head of every layer (rows: layers, columns: heads; " +
      "each map: query rows, key columns, colour scaled to its own largest weight). Click a map, or use the arrow keys, to show that head above.")}));
    root.appendChild(grid);

    function pick(l, h) {
      st.layer = l; st.head = h;
      layer.input.value = l; head.input.value = h;
      layer.refresh(); head.refresh();
      draw();
    }

    function buildTokens() {
      queries.textContent = ""; keys.textContent = "";
      S[st.s].tokens.forEach(function (t, i) {
        var q = el("button", {type: "button", "class": "ca-v-token", "data-index": i, "aria-pressed": "false", text: t});
        q.addEventListener("mouseenter", function () { st.preview = i; draw(); });
        q.addEventListener("mouseleave", function () { st.preview = null; draw(); });
        q.addEventListener("focus", function () { st.query = i; draw(); });
        q.addEventListener("click", function () { st.query = i; st.preview = null; draw(); });
        q.addEventListener("keydown", function (e) {
          var next = e.key === "ArrowDown" ? i + 1 : e.key === "ArrowUp" ? i - 1 : -1;
          if (next >= 0 && next < n()) { e.preventDefault(); queries.children[next].focus(); }
        });
        queries.appendChild(q);
        keys.appendChild(el("div", {"class": "ca-v-key", "data-index": i}, [
          el("span", {"class": "ca-v-keytoken", text: t}), el("span", {"class": "ca-v-weight"})]));
      });
      var L = n();
      lines.setAttribute("viewBox", "0 0 100 " + L * ROW);
      lines.style.height = L * ROW + "px";
      thumbs.forEach(function (b, k) {
        var l = Math.floor(k / d.heads), h = k % d.heads, cell = Math.max(1, Math.round(48 / L));
        var top = 0;
        for (var i = 0; i < L; i++) for (var j = 0; j < L; j++) top = Math.max(top, w(l, h, i, j));
        heatmap(b.firstChild, function (i, j) { return w(l, h, i, j); }, L, L, cell, 0, Math.max(top, 1e-12));
      });
    }

    function draw() {
      var L = n(), i = st.preview !== null ? st.preview : st.query;
      root.dataset.sentence = st.s; root.dataset.layer = st.layer; root.dataset.head = st.head; root.dataset.query = i;
      lines.textContent = "";
      var best = 0;
      for (var j = 0; j < L; j++) {
        var v = w(st.layer, st.head, i, j);
        if (v > w(st.layer, st.head, i, best)) best = j;
        lines.appendChild(el("line", {x1: 0, y1: (i + 0.5) * ROW, x2: 100, y2: (j + 0.5) * ROW,
          "stroke-width": 1 + 4 * v, "stroke-opacity": Math.max(v, 0.03), "vector-effect": "non-scaling-stroke"}));
        var key = keys.children[j];
        key.dataset.weight = fmt(v, dec);
        key.lastChild.textContent = fmt(v, dec);
        key.style.setProperty("--ca-w", v);
        key.classList.toggle("ca-v-best", j === best);
      }
      Array.prototype.forEach.call(queries.children, function (q, k) {
        q.setAttribute("aria-pressed", String(k === st.query));
        q.classList.toggle("ca-v-active", k === i);
      });
      thumbs.forEach(function (b, k) {
        var on = Math.floor(k / d.heads) === st.layer && k % d.heads === st.head;
        b.setAttribute("aria-pressed", String(on));
        b.tabIndex = on ? 0 : -1;  // one tab stop for the grid; arrow keys move inside it
      });
      var tok = S[st.s].tokens;
      readout.textContent = say("Layer {0}, head {1}: query \u201c{2}\u201d (position {3}) puts its largest weight, {4}, on \u201c{5}\u201d (position {6}).",
        st.layer, st.head, tok[i], i, fmt(w(st.layer, st.head, i, best), dec), tok[best], best);
    }

    sentence.input.addEventListener("change", function () {
      st.s = Number(sentence.input.value); st.query = Math.min(st.query, n() - 1); st.preview = null;
      buildTokens(); draw();
    });
    layer.input.addEventListener("input", function () { st.layer = Number(layer.input.value); draw(); });
    head.input.addEventListener("input", function () { st.head = Number(head.input.value); draw(); });
    buildTokens();
    draw();
  }

  /* ---- softmax with a temperature ---- */
  function softmaxView(root, d) {
    var st = {q: d.query, tau: d.temperature};
    var S = d.key_labels.length, dec = d.decimals, dim = d.keys.shape[1];
    var scores = decode(d.scores), qs = decode(d.queries), ks = decode(d.keys);
    var controls = el("div", {"class": "ca-v-controls"});
    var query = null;
    if (d.query_labels.length > 1) {
      query = d.query_labels.length <= 8 ? choice(tr(d.query_name), d.query_labels, st.q)
        : slider(tr(d.query_name), 0, d.query_labels.length - 1, 1, st.q, function (v) { return d.query_labels[v]; });
      controls.appendChild(query.wrap);
    }
    var lo = Math.log10(d.temperatures[0]), hi = Math.log10(d.temperatures[1]);
    function showTau() { return "\u03c4 = " + Number(st.tau.toPrecision(3)); }
    var tau = slider(say("temperature \u03c4"), lo, hi, (hi - lo) / 200, Math.log10(st.tau), showTau);
    controls.appendChild(tau.wrap);
    d.marks.forEach(function (m) {
      var b = el("button", {type: "button", "class": "ca-v-mark", text: tr(m.label)});
      b.addEventListener("click", function () { st.tau = m.value; tau.input.value = Math.log10(m.value); tau.refresh(); draw(); });
      controls.appendChild(b);
    });
    root.appendChild(controls);
    var figure = el("div", {"class": "ca-v-softmax", "data-figure": "weights"});
    var circle = null;
    if (dim === 2) {  // drawn on the unit circle
      circle = el("svg", {"class": "ca-v-circle", viewBox: "-1.5 -1.5 3 3", role: "img", "aria-label": say("keys and query on the unit circle")});
      figure.appendChild(circle);
    }
    var bars = el("div", {"class": "ca-v-bars"});
    figure.appendChild(bars);
    var rows = d.key_labels.map(function (label, j) {
      var fill = el("span", {"class": "ca-v-fill"});
      var value = el("span", {"class": "ca-v-weight"});
      var row = el("div", {"class": "ca-v-bar", "data-index": j}, [el("span", {"class": "ca-v-keytoken", text: label}),
        el("span", {"class": "ca-v-track"}, [fill, el("span", {"class": "ca-v-uniform", style: "left:" + 100 / S + "%"})]), value]);
      bars.appendChild(row);
      return {row: row, fill: fill, value: value};
    });
    bars.appendChild(el("p", {"class": "ca-v-hint", text: say("dashed line: the uniform weight 1/{0}", S)}));
    root.appendChild(figure);
    var readout = el("p", {"class": "ca-v-readout", "aria-live": "polite"});
    root.appendChild(readout);

    function weights() {
      var z = [];
      for (var j = 0; j < S; j++) z.push(scores[st.q * S + j] / st.tau);
      var m = Math.max.apply(null, z), e = z.map(function (x) { return Math.exp(x - m); });
      var sum = e.reduce(function (a, b) { return a + b; }, 0);
      return e.map(function (x) { return x / sum; });
    }

    function arrow(x, y, kind, opacity, label) {  // kind: "ca-v-keyarrow" or "ca-v-queryarrow" (colours in the CSS)
      return el("g", {"class": kind, "stroke-opacity": opacity, "fill-opacity": opacity}, [
        el("line", {x1: 0, y1: 0, x2: x, y2: -y, "stroke-width": 0.06}),
        el("circle", {cx: x, cy: -y, r: 0.08, stroke: "none"}),
        el("text", {x: 1.25 * x, y: -1.25 * y + 0.09, stroke: "none", "font-size": 0.26, "text-anchor": "middle", text: label})]);
    }

    function draw() {
      var a = weights();
      root.dataset.query = st.q; root.dataset.temperature = st.tau;
      var best = 0, out = 0;
      a.forEach(function (v, j) {
        if (v > a[best]) best = j;
        rows[j].fill.style.width = 100 * v + "%";
        rows[j].value.textContent = fmt(v, dec);
        rows[j].row.dataset.weight = fmt(v, dec);
        if (d.values) out += v * d.values[j];
      });
      if (circle) {
        circle.textContent = "";
        circle.appendChild(el("circle", {cx: 0, cy: 0, r: 1, fill: "none", "class": "ca-v-unit"}));
        for (var j = 0; j < S; j++) circle.appendChild(arrow(ks[2 * j], ks[2 * j + 1], "ca-v-keyarrow", 0.35 + 0.65 * a[j] / a[best], d.key_labels[j]));
        circle.appendChild(arrow(qs[2 * st.q], qs[2 * st.q + 1], "ca-v-queryarrow", 1, "q"));
      }
      var text = say("{0}: the largest weight, {1}, goes to {2}.", showTau(), fmt(a[best], dec), d.key_labels[best]);
      if (d.values) {
        text += say(" Output \u03a3 weight \u00d7 value = {0}.", fmt(out, d.value_decimals));
        root.dataset.output = fmt(out, d.value_decimals);
      }
      readout.textContent = text;
    }

    if (query) query.input.addEventListener(query.input.tagName === "SELECT" ? "change" : "input", function () {
      st.q = Number(query.input.value); draw();
    });
    tau.input.addEventListener("input", function () { st.tau = Math.pow(10, Number(tau.input.value)); tau.refresh(); draw(); });
    draw();
  }

  /* ---- position schemes: similarity or bias between positions ---- */
  function positions(root, d) {
    var st = {s: d.scheme, v: 0, i: d.query}, n = d.positions, dec = d.decimals;
    var schemes = d.schemes.map(function (s) {
      return {label: tr(s.label), what: tr(s.what), variant_name: tr(s.variant_name),
        variants: s.variants.map(function (v) { return {label: tr(v.label), m: decode(v.values)}; })};
    });
    var scheme = choice(say("scheme"), schemes.map(function (s) { return s.label; }), st.s);
    var variant = slider(say("head"), 0, 1, 1, 0, function (v) {
      var vs = schemes[st.s].variants; return vs[Math.min(v, vs.length - 1)].label;
    });
    var query = slider(say("query position i"), 0, n - 1, 1, st.i, String);
    root.appendChild(el("div", {"class": "ca-v-controls"}, [scheme.wrap, variant.wrap, query.wrap]));
    var what = el("p", {"class": "ca-v-hint"});
    root.appendChild(what);
    var canvas = el("canvas", {"class": "ca-v-heat", role: "img"});
    var low = el("span"), high = el("span");
    var legend = el("div", {"class": "ca-v-legend"}, [low, el("span", {"class": "ca-v-ramp"}), high]);
    var W = 320, H = 190, M = {l: 44, r: 8, t: 10, b: 34};
    var profile = el("svg", {"class": "ca-v-profile", viewBox: "0 0 " + W + " " + H, role: "img"});
    root.appendChild(el("div", {"class": "ca-v-positions", "data-figure": "positions"}, [
      el("figure", {}, [canvas, legend, el("figcaption", {text: say("rows: query position i, columns: key position j")})]),
      el("figure", {}, [profile, el("figcaption", {text: say("row i: value against key position j")})])]));
    var readout = el("p", {"class": "ca-v-readout", "aria-live": "polite"});
    root.appendChild(readout);

    function value(i, j) { return schemes[st.s].variants[st.v].m[i * n + j]; }

    function drawProfile(lo, hi) {
      profile.textContent = "";
      var span = hi - lo || 1;
      function x(j) { return M.l + (W - M.l - M.r) * j / Math.max(n - 1, 1); }
      function y(v) { return H - M.b - (H - M.t - M.b) * (v - lo) / span; }
      profile.appendChild(el("line", {x1: M.l, y1: H - M.b, x2: W - M.r, y2: H - M.b, "class": "ca-v-axisline"}));
      profile.appendChild(el("line", {x1: M.l, y1: M.t, x2: M.l, y2: H - M.b, "class": "ca-v-axisline"}));
      profile.appendChild(el("line", {x1: x(st.i), y1: M.t, x2: x(st.i), y2: H - M.b, "class": "ca-v-marker"}));
      [[lo, fmt(lo, 2)], [hi, fmt(hi, 2)]].forEach(function (t) {
        profile.appendChild(el("text", {x: M.l - 4, y: y(t[0]) + 4, "text-anchor": "end", text: t[1]}));
      });
      [0, n - 1].forEach(function (j) { profile.appendChild(el("text", {x: x(j), y: H - M.b + 14, "text-anchor": "middle", text: String(j)})); });
      profile.appendChild(el("text", {x: (M.l + W - M.r) / 2, y: H - 4, "text-anchor": "middle", text: say("key position j")}));
      var pts = [];
      for (var j = 0; j < n; j++) pts.push(x(j) + "," + y(value(st.i, j)));
      profile.appendChild(el("polyline", {points: pts.join(" "), "class": "ca-v-curve"}));
      for (j = 0; j < n; j++) {
        var shown = fmt(value(st.i, j), dec);
        profile.appendChild(el("circle", {cx: x(j), cy: y(value(st.i, j)), r: 2.5, "class": "ca-v-point",
          "data-j": j, "data-value": shown}, [el("title", {text: "i = " + st.i + ", j = " + j + ": " + shown})]));
      }
    }

    function draw() {
      var s = schemes[st.s], lo = Infinity, hi = -Infinity;
      st.v = Math.min(st.v, s.variants.length - 1);
      variant.wrap.hidden = s.variants.length < 2;
      variant.wrap.firstChild.textContent = s.variant_name;
      variant.input.max = s.variants.length - 1;
      variant.input.value = st.v;
      variant.refresh();
      var m = s.variants[st.v].m;
      for (var k = 0; k < m.length; k++) { lo = Math.min(lo, m[k]); hi = Math.max(hi, m[k]); }
      root.dataset.scheme = st.s; root.dataset.variant = st.v; root.dataset.query = st.i;
      what.textContent = s.what;
      canvas.setAttribute("aria-label", s.label + ", " + s.variants[st.v].label + ": " + s.what);
      heatmap(canvas, value, n, n, Math.max(2, Math.floor(256 / n)), lo, hi, st.i);
      low.textContent = fmt(lo, 2); high.textContent = fmt(hi, 2);
      drawProfile(lo, hi);
      var top = 0, bottom = 0;
      for (var j = 0; j < n; j++) { if (value(st.i, j) > value(st.i, top)) top = j; if (value(st.i, j) < value(st.i, bottom)) bottom = j; }
      readout.textContent = say("{0}, query position {1}: largest value {2} at j = {3}, smallest {4} at j = {5}.",
        s.label + (s.variants.length > 1 ? say(", ") + s.variants[st.v].label : ""), st.i,
        fmt(value(st.i, top), dec), top, fmt(value(st.i, bottom), dec), bottom);
    }

    scheme.input.addEventListener("change", function () { st.s = Number(scheme.input.value); st.v = 0; draw(); });
    variant.input.addEventListener("input", function () { st.v = Number(variant.input.value); draw(); });
    query.input.addEventListener("input", function () { st.i = Number(query.input.value); draw(); });
    draw();
  }

  var KINDS = {attention: attention, softmax: softmaxView, positions: positions};

  function mount(root) {
    if (!root || root.dataset.mounted) return;
    var data = JSON.parse(root.querySelector("script.ca-view-data").textContent);
    root.dataset.mounted = "true";
    var fallback = root.querySelector(".ca-view-fallback");
    if (fallback) fallback.remove();
    if (data.title) root.appendChild(el("p", {"class": "ca-v-title", text: tr(data.title)}));
    KINDS[root.dataset.kind](root, data);
  }

  window.courseAttnViews = {version: VERSION, mount: mount, untranslated: untranslated};
})();
