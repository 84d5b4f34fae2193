/* The course quiz on the site: makes the static quiz forms of a page playable.
 *
 * The data (window.rmcourseQuiz, from _static/quiz/questions.js) is written by the site build
 * from rmcourse.quiz: for option questions the verdict and message of every possible answer,
 * for numeric questions the target, tolerance and typical mistakes. This script holds no answer
 * logic: it looks answers up, or compares a typed number with the numbers it was given.
 * Without scripts the static forms stay, answers behind "Show the answer" toggles.
 */
(function () {
  "use strict";

  var HINTS = {
    multi_choice: " (select every true statement, then Check)",
    numeric: " (type a number, then Enter or Check)",
  };

  var common = typeof window !== "undefined" && window.rmcourseCommon
    ? window.rmcourseCommon : require("./rmcourse-common.js");  // under Node: the judge's test
  var el = common.el, formatG = common.formatG;

  /* The running score of a page, shown in every [data-role=score] element. */
  function Score() {
    this.questions = {};
    this.solved = {};
    this.attempts = 0;
    this.labels = [];
  }
  Score.prototype.text = function () {
    var n = Object.keys(this.questions).length;
    var solved = Object.keys(this.solved).length;
    return "Score: " + solved + " of " + n + " solved (" + this.attempts + " attempt" +
      (this.attempts === 1 ? "" : "s") + ")";
  };
  Score.prototype.refresh = function () {
    var text = this.text();
    this.labels.forEach(function (label) { label.textContent = text; });
  };
  Score.prototype.record = function (id, correct) {
    this.attempts += 1;
    if (correct) this.solved[id] = true;
    this.refresh();
  };

  /* The verdict on a typed number: the same comparisons and words as rmcourse.quiz.check. */
  function judgeNumber(q, typed) {
    var value = common.readNumber(typed);
    if (value === null) {
      return {error: "question '" + q.id + "' takes a number, '" + typed + "' is not one"};
    }
    var off = Math.abs(value - q.answer);
    if (off <= q.tolerance) {
      return {correct: true, message: "Correct: " + formatG(value) + " is " + off.toFixed(4) +
        " from " + q.answer.toFixed(4) + ", within the tolerance " + formatG(q.tolerance) + ". " +
        q.right_feedback};
    }
    var message = "Not quite: " + formatG(value) + " is " + off.toFixed(4) + " too " +
      (value > q.answer ? "high" : "low") + ".";
    for (var i = 0; i < q.mistakes.length; i++) {
      if (Math.abs(value - q.mistakes[i].value) <= q.tolerance) {
        message += " " + q.mistakes[i].feedback;
        break;
      }
    }
    return {correct: false, message: message};
  }

  function showFeedback(area, q, verdict) {
    if (!common.startFeedback(area, verdict)) return;  // an input error, shown
    var lines = verdict.message.split("\n");
    var head = el("div", {"class": "rmcourse-verdict"});
    lines.forEach(function (line, i) {
      if (i) head.appendChild(el("br"));
      head.appendChild(document.createTextNode((i ? "" : (verdict.correct ? "✔ " : "✘ ")) + line));
    });
    area.appendChild(head);
    if (verdict.correct) area.appendChild(el("div", {"class": "rmcourse-explanation",
                                                    text: q.explanation}));
  }

  function liveQuestion(q, staticForm, score) {
    var box = el("div", {"class": "rmcourse-live-question", "data-question-id": q.id,
                         "data-kind": q.kind});
    box.appendChild(el("h4", {}, [q.title + " ", el("small", {text: "[" + q.id + "]"})]));
    box.appendChild(el("p", {}, [q.prompt, el("i", {text: HINTS[q.kind] || ""})]));
    var figure = staticForm.querySelector("img");  // drawn when the lesson was executed
    if (q.log && figure) {
      box.appendChild(el("img", {"class": "rmcourse-figure", alt: figure.alt, src: figure.src}));
    }
    var feedback = el("div", {"data-role": "feedback", "class": "rmcourse-feedback",
                              "aria-live": "polite"});
    var retry = el("button", {type: "button", "data-role": "retry", "class": "rmcourse-button",
                              text: "Try again"});
    retry.hidden = true;
    var controls = el("div", {"class": "rmcourse-controls"});
    var inputs = [];

    function submit(verdict) {
      if (!verdict.error) score.record(q.id, verdict.correct);
      showFeedback(feedback, q, verdict);
      retry.hidden = Boolean(verdict.error || verdict.correct);
    }

    if (q.kind === "numeric") {
      var number = el("input", {type: "text", inputmode: "decimal", "data-role": "number",
                                "aria-label": "your answer",
                                placeholder: "type a number, e.g. 0.1234, then Enter"});
      var check = el("button", {type: "button", "data-role": "check",
                                "class": "rmcourse-button rmcourse-primary", text: "Check"});
      var go = function () { if (number.value.trim()) submit(judgeNumber(q, number.value)); };
      number.addEventListener("keydown", function (event) { if (event.key === "Enter") go(); });
      check.addEventListener("click", go);
      box.appendChild(el("label", {"class": "rmcourse-number"}, ["Your answer: ", number]));
      controls.appendChild(check);
      inputs.push(number);
    } else {
      var multi = q.kind === "multi_choice";
      var options = el("div", {"class": "rmcourse-options", role: multi ? "group" : "radiogroup"});
      q.options.forEach(function (option) {
        var input = el("input", {type: multi ? "checkbox" : "radio", name: "rmcourse-" + q.id,
                                 value: option.key});
        var label = el("label", {"class": "rmcourse-option", "data-key": option.key},
                       [input, el("span", {text: "(" + option.key + ") " + option.text})]);
        if (!multi) {
          input.addEventListener("change", function () {
            if (input.checked) submit(q.responses[option.key]);
          });
        }
        options.appendChild(label);
        inputs.push(input);
      });
      box.appendChild(options);
      if (multi) {
        var checkAll = el("button", {type: "button", "data-role": "check",
                                     "class": "rmcourse-button rmcourse-primary", text: "Check"});
        checkAll.addEventListener("click", function () {
          var keys = inputs.filter(function (i) { return i.checked; })
            .map(function (i) { return i.value; });
          submit(q.responses[keys.join(",")]);
        });
        controls.appendChild(checkAll);
      }
    }
    retry.addEventListener("click", function () {
      inputs.forEach(function (input) {
        if (input.type === "text") input.value = "";
        else input.checked = false;
      });
      feedback.textContent = "";
      feedback.className = "rmcourse-feedback";
      retry.hidden = true;
    });
    controls.appendChild(retry);
    box.appendChild(controls);
    box.appendChild(feedback);
    score.questions[q.id] = true;
    return box;
  }

  /* The loss explorer: the loss and gradient of one pair, recomputed as the sliders move. */
  function softplus(x) {
    return x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x));
  }

  function explorerValues(rChosen, rRejected) {
    var margin = rChosen - rRejected;
    var tail = Math.exp(-softplus(margin));  // σ(−Δ)
    return {margin: margin, sigmoid: Math.exp(-softplus(-margin)), loss: softplus(-margin),
            gradChosen: -tail, gradRejected: tail};
  }

  function readoutText(v) {
    return "Δ = " + v.margin.toFixed(3) + " · σ(Δ) = " + v.sigmoid.toFixed(4) + " · loss = " +
      v.loss.toFixed(4) + " · ∂L/∂r(x, y_w) = " + v.gradChosen.toFixed(4) +
      " · ∂L/∂r(x, y_l) = " + v.gradRejected.toFixed(4);
  }

  var SVG = "http://www.w3.org/2000/svg";  // the SVG namespace name, not a request

  function svg(tag, attrs) {
    var node = document.createElementNS(SVG, tag);
    Object.keys(attrs).forEach(function (name) { node.setAttribute(name, attrs[name]); });
    return node;
  }

  function explorerPlot(limit) {
    var W = 560, H = 300, L = 50, R = 12, T = 28, B = 42, N = 241;
    var xMin = -2 * limit, xMax = 2 * limit, yMax = xMax;  // the loss is about −Δ far left
    var margins = [];
    for (var i = 0; i < N; i++) margins.push(xMin + (xMax - xMin) * i / (N - 1));
    var curves = {loss: margins.map(function (m) { return softplus(-m); }),
                  gradient: margins.map(function (m) { return Math.exp(-softplus(m)); })};
    var x = function (m) { return L + (m - xMin) / (xMax - xMin) * (W - L - R); };
    var y = function (v) { return T + (1 - v / yMax) * (H - T - B); };
    var plot = svg("svg", {viewBox: "0 0 " + W + " " + H, "class": "rmcourse-explorer-plot",
                           role: "img", "aria-label": "one pair's loss against its margin"});
    plot.appendChild(svg("rect", {x: L, y: T, width: W - L - R, height: H - T - B,
                                  "class": "rmcourse-axes"}));
    [xMin, xMin / 2, 0, xMax / 2, xMax].forEach(function (m) {
      var tick = svg("text", {x: x(m), y: H - B + 14, "text-anchor": "middle"});
      tick.textContent = formatG(m);
      plot.appendChild(tick);
    });
    [0, yMax / 2, yMax].forEach(function (v) {
      var tick = svg("text", {x: L - 6, y: y(v) + 4, "text-anchor": "end"});
      tick.textContent = formatG(v);
      plot.appendChild(tick);
    });
    var labels = [["One pair's loss against its margin", W / 2, 16, "middle", "title"],
                  ["margin Δ = r(x, y_w) − r(x, y_l)", W / 2, H - 6, "middle", "label"]];
    labels.forEach(function (spec) {
      var text = svg("text", {x: spec[1], y: spec[2], "text-anchor": spec[3], "class": spec[4]});
      text.textContent = spec[0];
      plot.appendChild(text);
    });
    var legend = [["loss", "loss −log σ(Δ)", "rmcourse-c0"],
                  ["gradient", "|∂L/∂r(x, y_w)| = σ(−Δ)", "rmcourse-c1"]];
    var points = {};
    legend.forEach(function (spec, i) {
      var d = margins.map(function (m, j) {
        return (j ? "L" : "M") + x(m).toFixed(1) + "," + y(curves[spec[0]][j]).toFixed(1);
      }).join("");
      plot.appendChild(svg("path", {d: d, "class": "rmcourse-curve " + spec[2]}));
      var key = svg("text", {x: W - R - 8, y: T + 16 + 16 * i, "text-anchor": "end",
                             "class": spec[2]});
      key.textContent = "— " + spec[1];
      plot.appendChild(key);
      points[spec[0]] = svg("circle", {r: 5, "class": "rmcourse-point " + spec[2]});
      plot.appendChild(points[spec[0]]);
    });
    plot.move = function (v) {
      var m = Math.max(xMin, Math.min(xMax, v.margin));
      points.loss.setAttribute("cx", x(m));
      points.loss.setAttribute("cy", y(Math.min(yMax, v.loss)));
      points.gradient.setAttribute("cx", x(m));
      points.gradient.setAttribute("cy", y(-v.gradChosen));
    };
    return plot;
  }

  /* The explorer of a static form: its sliders' range and start values are the widget's. */
  function liveExplorer(staticForm) {
    var range = staticForm.dataset;
    var box = el("div", {"class": "rmcourse-explorer-live", "data-role": "explorer"});
    var readout = el("code", {"data-role": "readout"});
    var plot = explorerPlot(Number(range.max));
    var sliders = [["r-chosen", "r(x, y_w)", range.rChosen],
                   ["r-rejected", "r(x, y_l)", range.rRejected]].map(function (s) {
      var input = el("input", {type: "range", "data-role": s[0], min: range.min, max: range.max,
                               step: range.step, value: s[2], "aria-label": s[1]});
      var shown = el("output", {"data-role": s[0] + "-value"});
      box.appendChild(el("label", {"class": "rmcourse-slider"}, [s[1] + " ", input, shown]));
      return {input: input, shown: shown};
    });
    function update() {
      var r = sliders.map(function (s) { return Number(s.input.value); });
      sliders.forEach(function (s, i) { s.shown.textContent = r[i].toFixed(1); });
      var v = explorerValues(r[0], r[1]);
      readout.textContent = readoutText(v);
      plot.move(v);
    }
    sliders.forEach(function (s) { s.input.addEventListener("input", update); });
    box.appendChild(el("div", {"class": "rmcourse-readout"}, [readout]));
    box.appendChild(plot);
    update();
    return box;
  }

  function start() {
    document.querySelectorAll(".rmcourse-explorer-static").forEach(function (s) {
      s.parentNode.insertBefore(liveExplorer(s), s);
      s.hidden = true;
    });
    var data = window.rmcourseQuiz;
    if (!data) return;  // no exported questions: the static forms stay
    var byId = {};
    data.questions.forEach(function (q) { byId[q.id] = q; });
    var score = new Score();
    document.querySelectorAll(".rmcourse-quiz-static").forEach(function (block) {
      var label = el("div", {"data-role": "score", "class": "rmcourse-score"});
      score.labels.push(label);
      block.parentNode.insertBefore(label, block);
      block.querySelectorAll(".rmcourse-question-static[data-question-id]").forEach(function (s) {
        var q = byId[s.dataset.questionId];
        if (!q) return;  // not in this build's content: the static form stays
        block.parentNode.insertBefore(liveQuestion(q, s, score), block);
        s.hidden = true;
      });
    });
    score.refresh();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
