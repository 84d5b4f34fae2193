/* The lessons' your-turn tasks on the site: makes each task's static form playable.
 *
 * The data (window.rmcourseTasks, from _static/tasks/tasks.js) is written by the site build from
 * rmcourse.tasks, the data the notebooks check with: for a choice task the verdict and message of
 * every option, for a number task its answer, tolerance, hints and typical mistakes, which this
 * script compares a typed number with in the steps of rmcourse.tasks.NumberTask. A function task
 * cannot run here: the page says to write it in the notebook. Nothing of an answer is shown
 * before the student answers. Without scripts the static forms stay ("answer in the notebook").
 */
(function () {
  "use strict";

  var common = typeof window !== "undefined" && window.rmcourseCommon
    ? window.rmcourseCommon : require("./rmcourse-common.js");  // under Node: the judge's test
  var el = common.el, formatG = common.formatG;

  /* The decimals of the shortest form of the typed number, as rmcourse.tasks counts them. */
  function decimalsOf(value) {
    var text = String(value);
    if (/e/i.test(text)) return 16;
    return text.indexOf(".") < 0 ? 0 : text.split(".")[1].length;
  }

  function roundsTo(value, written, decimals) {
    return Math.abs(value - written) <= 0.5 * Math.pow(10, -decimals) + 1e-12;
  }

  /* written is value rounded to decimals, and the only such rounding (not half a unit away). */
  function nearest(value, written, decimals) {
    return Math.abs(value - written) < 0.5 * Math.pow(10, -decimals) - 1e-12;
  }

  /* The verdict on a typed number: rmcourse.tasks.NumberTask.judge, step by step. */
  function judgeNumber(task, typed) {
    var value = common.readNumber(typed);
    if (value === null) {
      return {error: "task " + task.id + " takes a number, '" + typed + "' is not one"};
    }
    if (Math.abs(value - task.answer) <= task.tolerance) return {correct: true, message: "right."};
    var i;
    for (i = 0; i < task.mistakes.length; i++) {
      if (Math.abs(value - task.mistakes[i].value) <= task.tolerance) {
        return {correct: false, message: "not quite. " + task.mistakes[i].hint};
      }
    }
    var decimals = decimalsOf(value);
    var needed = task.decimals;
    if (decimals >= 1 && decimals < needed && roundsTo(task.answer, value, decimals)) {
      for (i = 0; i < task.mistakes.length; i++) {
        if (roundsTo(task.mistakes[i].value, value, decimals)) {
          return {correct: false, message: value.toFixed(decimals) + " has too few decimals " +
            "to tell the right answer from a wrong one: give " + needed + " decimals."};
        }
      }
      return {correct: false, message: "right to the " + decimals + " decimal" +
        (decimals > 1 ? "s" : "") + " you gave; give " + needed + " decimals (answers within ±" +
        formatG(task.tolerance) + " count)."};
    }
    if (decimals >= 1 && decimals < needed) {
      var near = task.mistakes.filter(function (m) { return nearest(m.value, value, decimals); });
      if (near.length === 1) return {correct: false, message: "not quite. " + near[0].hint};
      if (near.length > 1) {
        return {correct: false, message: value.toFixed(decimals) + " has too few decimals " +
          "to tell what was computed: give " + needed + " decimals."};
      }
    }
    return {correct: false, message: "not quite. " + task.hint + " (Answers within ±" +
      formatG(task.tolerance) + " count.)"};
  }

  function showFeedback(area, verdict) {
    if (!common.startFeedback(area, verdict)) return;  // an input error, shown
    area.appendChild(el("div", {"class": "rmcourse-verdict",
                                text: (verdict.correct ? "✔ " : "✘ ") + verdict.message}));
  }

  function liveTask(task) {
    var box = el("div", {"class": "rmcourse-live-task", "data-task-id": task.id,
                         "data-kind": task.kind});
    var title = el("p", {"class": "rmcourse-task-title"}, [el("strong", {text: "Your turn "}),
      el("small", {text: "[" + task.id + "]"})]);
    box.appendChild(title);
    if (task.kind === "function") {
      box.appendChild(el("p", {text: "This task runs the function you write, which a web page " +
        "cannot do: write it in this cell of the notebook and run it there; the checker " +
        "tries it on a few inputs and says what is wrong."}));
      return box;
    }
    var feedback = el("div", {"data-role": "feedback", "class": "rmcourse-feedback",
                              "aria-live": "polite"});
    var controls = el("div", {"class": "rmcourse-controls"});
    if (task.kind === "number") {
      box.appendChild(el("p", {text: "Your answer to the task above (it is checked here as in " +
        "the notebook):"}));
      var number = el("input", {type: "text", inputmode: "decimal", "data-role": "number",
                                "aria-label": "your answer to task " + task.id,
                                placeholder: "a number, then Enter"});
      var check = el("button", {type: "button", "data-role": "check",
                                "class": "rmcourse-button rmcourse-primary", text: "Check"});
      var go = function () {
        if (number.value.trim()) showFeedback(feedback, judgeNumber(task, number.value));
      };
      number.addEventListener("keydown", function (event) { if (event.key === "Enter") go(); });
      check.addEventListener("click", go);
      box.appendChild(el("label", {"class": "rmcourse-number"}, ["Your answer: ", number]));
      controls.appendChild(check);
    } else {
      box.appendChild(el("p", {text: "Pick the option of the task above:"}));
      var options = el("div", {"class": "rmcourse-options", role: "radiogroup"});
      task.keys.forEach(function (key) {
        var input = el("input", {type: "radio", name: "rmcourse-task-" + task.id, value: key});
        input.addEventListener("change", function () {
          if (input.checked) showFeedback(feedback, task.responses[key]);
        });
        options.appendChild(el("label", {"class": "rmcourse-option", "data-key": key},
                               [input, el("span", {text: "(" + key + ")"})]));
      });
      box.appendChild(options);
    }
    box.appendChild(controls);
    box.appendChild(feedback);
    return box;
  }

  function start() {
    var data = window.rmcourseTasks;
    if (!data) return;  // no exported tasks: the static forms stay
    var byId = {};
    data.tasks.forEach(function (task) { byId[task.id] = task; });
    document.querySelectorAll(".rmcourse-task-static[data-task-id]").forEach(function (form) {
      var task = byId[form.dataset.taskId];
      if (!task) return;  // not in this build's data: the static form stays
      form.parentNode.insertBefore(liveTask(task), form);
      form.hidden = true;
    });
  }

  if (typeof document === "undefined") {  // under Node (tests/test_site_tasks.py): the judge
    module.exports = {judgeNumber: judgeNumber};
    return;
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
