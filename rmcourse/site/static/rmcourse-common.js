/* What the quiz and the tasks scripts share: building elements, Python's format(x, "g"), reading
 * a typed number and starting a feedback area.
 *
 * Loaded before both on every page (window.rmcourseCommon); under Node (tests/test_site_tasks.py)
 * a module.
 */
(function (root) {
  "use strict";

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      if (name === "text") node.textContent = attrs[name];
      else node.setAttribute(name, attrs[name]);
    });
    (children || []).forEach(function (child) {
      node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return node;
  }

  /* Python's format(x, "g"): six significant digits, trailing zeros dropped. */
  function formatG(x) {
    if (x === 0) return "0";
    var exponent = Math.floor(Math.log10(Math.abs(Number(x.toPrecision(6)))));
    if (exponent < -4 || exponent >= 6) {
      var parts = x.toExponential(5).split("e");
      var mantissa = parts[0].replace(/\.?0+$/, "");
      var exp = Number(parts[1]);
      return mantissa + "e" + (exp < 0 ? "-" : "+") + String(Math.abs(exp)).padStart(2, "0");
    }
    return String(Number(x.toPrecision(6)));
  }

  /* A typed answer as a number: the value of a plain decimal or e-notation number (surrounding
   * white space ignored), null for any other text. */
  function readNumber(typed) {
    var text = typed.trim();
    return /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text) ? Number(text) : null;
  }

  /* Empties a feedback area and colours it by the verdict; shows an input error and returns false
   * for one (nothing more to show), true otherwise. */
  function startFeedback(area, verdict) {
    area.textContent = "";
    var right = !verdict.error && verdict.correct;
    area.className = "rmcourse-feedback " + (right ? "rmcourse-right" : "rmcourse-wrong");
    if (verdict.error) area.appendChild(el("div", {text: verdict.error}));
    return !verdict.error;
  }

  var common = {el: el, formatG: formatG, readNumber: readNumber, startFeedback: startFeedback};
  if (typeof module !== "undefined" && module.exports) module.exports = common;
  else root.rmcourseCommon = common;
})(typeof window !== "undefined" ? window : this);
