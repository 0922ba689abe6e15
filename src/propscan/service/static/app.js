// propscan result page: tooltips, legend filter and confidence band filter.
// The server has already cut the text into <mark> segments at Python character
// offsets; this script never computes offsets, it only shows and hides highlights.
(function () {
  "use strict";

  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  });

  var dataElement = document.getElementById("analysis-data");
  if (!dataElement) return;
  var data = JSON.parse(dataElement.textContent);
  var spans = data.spans;
  var techniques = data.techniques;
  var hiddenSlots = new Set();
  var lowestByBand = {};
  data.bands.forEach(function (band) { lowestByBand[band.name] = band.lowest; });
  var minScore = 0;

  var marks = Array.prototype.slice.call(document.querySelectorAll("mark.seg[data-spans]"));
  marks.forEach(function (mark) {
    mark.spanIds = mark.dataset.spans.split(" ").map(Number);
    mark.removeAttribute("title"); // the richer tooltip below replaces it
  });
  var legendButtons = Array.prototype.slice.call(document.querySelectorAll(".legend-item"));
  var showAll = document.querySelector(".show-all");
  var bandFilter = document.getElementById("min-band");
  var shownCount = document.getElementById("shown-count");
  var spanRows = Array.prototype.slice.call(document.querySelectorAll("tr[data-span]"));
  var tip = document.getElementById("tip");
  var tipOwner = null;
  var controls = document.querySelector(".controls");
  var rows = Array.prototype.slice.call(document.querySelectorAll(".article-text .row"));
  rows.forEach(function (row) {
    row.marks = Array.prototype.slice.call(row.querySelectorAll("mark.seg[data-spans]"));
    row.meter = row.querySelector(".margin meter");
    row.label = row.querySelector(".margin .score-value");
  });

  function score(index) {
    var value = spans[index].score;
    return value === null || value === undefined ? 1 : value;
  }

  function passesBand(index) {
    return score(index) >= minScore - 1e-9;
  }

  function isShown(index) {
    return passesBand(index) && !hiddenSlots.has(spans[index].slot);
  }

  function rankedShown(mark) {
    return mark.spanIds.filter(isShown).sort(function (a, b) {
      return score(b) - score(a) || a - b;
    });
  }

  // Same rule as the server: fill with the most confident span's technique, underline
  // with the most confident span of another technique, mark overlaps as "multi".
  function restyle(mark) {
    var ranked = rankedShown(mark);
    mark.className = "seg";
    if (ranked.length === 0) {
      mark.classList.add("off");
      mark.tabIndex = -1;
      return;
    }
    mark.tabIndex = 0;
    var primary = spans[ranked[0]].slot;
    mark.classList.add("t" + primary);
    var other = ranked.find(function (index) { return spans[index].slot !== primary; });
    if (other !== undefined) mark.classList.add("u" + spans[other].slot);
    if (ranked.length > 1) mark.classList.add("multi");
  }

  function bandOf(value) {
    return data.bands.find(function (band) { return value >= band.lowest - 1e-9; }) ||
      data.bands[data.bands.length - 1];
  }

  // The margin names the strongest mark the filters leave in each sentence, or none.
  function remargin(row) {
    if (!row.meter || !row.label) return;
    var best = -1;
    row.marks.forEach(function (mark) {
      mark.spanIds.forEach(function (index) { if (isShown(index)) best = Math.max(best, score(index)); });
    });
    row.meter.hidden = row.label.hidden = best < 0;
    if (best < 0) return;
    var band = bandOf(best);
    row.meter.value = best;
    row.meter.title = "Most confident mark in the sentence: " + band.name;
    row.label.className = "score-value band-" + band.name;
    row.label.lastChild.textContent = band.name;
  }

  function refresh() {
    marks.forEach(restyle);
    rows.forEach(remargin);
    var counts = {};
    var shown = 0;
    spans.forEach(function (span, index) {
      if (!passesBand(index)) return;
      counts[span.slot] = (counts[span.slot] || 0) + 1;
      if (!hiddenSlots.has(span.slot)) shown += 1;
    });
    document.querySelectorAll(".legend .count").forEach(function (count) {
      count.textContent = String(counts[count.dataset.slot] || 0);
    });
    spanRows.forEach(function (row) {
      row.hidden = !isShown(Number(row.dataset.span));
    });
    shownCount.textContent = shown + " of " + spans.length + " fragments shown";
    if (showAll) showAll.hidden = hiddenSlots.size === 0;
    if (tipOwner) showTip(tipOwner);
  }

  legendButtons.forEach(function (button) {
    button.addEventListener("click", function () {
      var slot = button.dataset.slot;
      var pressed = button.getAttribute("aria-pressed") === "true";
      button.setAttribute("aria-pressed", pressed ? "false" : "true");
      if (pressed) hiddenSlots.add(slot); else hiddenSlots.delete(slot);
      refresh();
    });
  });

  if (showAll) {
    showAll.addEventListener("click", function () {
      hiddenSlots.clear();
      legendButtons.forEach(function (button) { button.setAttribute("aria-pressed", "true"); });
      refresh();
    });
  }

  bandFilter.addEventListener("change", function () {
    minScore = lowestByBand[bandFilter.value] || 0;
    refresh();
  });

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // The line of the mark under the pointer (a mark may wrap over several lines), else its
  // first line; the tip goes below that line, or above it where the window ends first.
  function placeTip(mark, pointer) {
    var lines = Array.prototype.slice.call(mark.getClientRects());
    var line = (pointer && lines.find(function (rect) {
      return pointer.x >= rect.left && pointer.x <= rect.right &&
        pointer.y >= rect.top && pointer.y <= rect.bottom;
    })) || lines[0] || mark.getBoundingClientRect();
    var width = tip.offsetWidth;
    var height = tip.offsetHeight;
    var page = document.documentElement.clientWidth;
    var left = Math.max(8, Math.min(line.left, page - width - 8));
    var below = line.bottom + 6;
    var top = below + height > window.innerHeight && line.top - 6 - height >= 0
      ? line.top - 6 - height
      : below;
    tip.style.left = left + window.scrollX + "px";
    tip.style.top = top + window.scrollY + "px";
  }

  function showTip(mark, pointer) {
    var ranked = rankedShown(mark);
    if (ranked.length === 0) { hideTip(); return; }
    // Every span under the pointer, most confident first: technique, band and score,
    // whose voice, the words that carried the decision, the definition and its example.
    tip.replaceChildren.apply(tip, ranked.map(function (index) {
      var span = spans[index];
      var technique = techniques[span.slot] || { name: "Unlabelled", definition: "", example: "" };
      var item = element("div", "tip-item");
      var head = element("div", "tip-head");
      head.appendChild(element("span", "swatch t" + span.slot));
      head.appendChild(element("span", "tip-name", technique.name));
      head.appendChild(element("span", "tip-band band-" + span.band, span.band));
      head.appendChild(element("span", "tip-score", span.score_text));
      item.appendChild(head);
      var voice = span.quoted
        ? "\u275D " + span.voice.charAt(0).toUpperCase() + span.voice.slice(1)
        : "In " + span.voice;
      item.appendChild(element("p", span.quoted ? "tip-voice quoted" : "tip-voice", voice));
      if (span.evidence) item.appendChild(element("p", "tip-evidence", "Key words: " + span.evidence));
      if (technique.definition) item.appendChild(element("p", "tip-definition", technique.definition));
      if (technique.example) item.appendChild(element("p", "tip-example", "Example: " + technique.example));
      return item;
    }));
    if (tipOwner && tipOwner !== mark) tipOwner.removeAttribute("aria-describedby");
    tipOwner = mark;
    mark.setAttribute("aria-describedby", "tip");
    tip.hidden = false;
    placeTip(mark, pointer);
  }

  function hideTip() {
    tip.hidden = true;
    if (tipOwner) tipOwner.removeAttribute("aria-describedby");
    tipOwner = null;
  }

  function markOf(target) {
    return target && target.closest ? target.closest("mark.seg[data-spans]") : null;
  }

  document.addEventListener("mouseover", function (event) {
    var mark = markOf(event.target);
    if (mark) showTip(mark, { x: event.clientX, y: event.clientY });
  });
  document.addEventListener("mouseout", function (event) {
    var mark = markOf(event.target);
    if (mark && markOf(event.relatedTarget) !== mark && document.activeElement !== mark) hideTip();
  });
  document.addEventListener("focusin", function (event) {
    var mark = markOf(event.target);
    if (mark) showTip(mark); else hideTip();
  });
  document.addEventListener("focusout", function (event) {
    if (markOf(event.target) === tipOwner) hideTip();
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") hideTip();
  });
  // A mark reached with Tab or Shift+Tab scrolls clear of the sticky controls.
  function keepMarksClearOfControls() {
    var sticky = controls && getComputedStyle(controls).position === "sticky";
    document.documentElement.style.setProperty(
      "--controls-height", (sticky ? controls.offsetHeight : 0) + "px"
    );
  }
  keepMarksClearOfControls();
  window.addEventListener("resize", function () {
    keepMarksClearOfControls();
    if (tipOwner) showTip(tipOwner);
  });
})();
