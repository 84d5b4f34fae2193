/* The course site's reading aids: a figure opens at full size when clicked (on a phone a
 * figure shrinks to the column; the full-size view scrolls), Escape or a click closes it; a
 * formula wider than the column, which scrolls in its box, fades out at the edges it can scroll
 * towards. */
(function () {
  "use strict";

  function zoom(image) {
    var dialog = document.createElement("dialog");
    dialog.className = "rmcourse-zoom";
    var copy = document.createElement("img");
    copy.src = image.src;
    copy.alt = image.alt;
    dialog.appendChild(copy);
    dialog.addEventListener("click", function () { dialog.close(); });
    // Sphinx's highlighting script swallows Escape, which would close a dialog by itself
    dialog.addEventListener("keydown", function (event) {
      if (event.key === "Escape") {
        event.preventDefault();
        dialog.close();
      }
    });
    dialog.addEventListener("close", function () { dialog.remove(); });
    document.body.appendChild(dialog);
    dialog.showModal();
  }

  // Classes rmcourse-more-left / -right (rmcourse-site.css): a displayed formula's box (MathJax's
  // container, which scrolls) can scroll that way. Set again whenever MathJax typesets (the
  // article's nodes change), on scroll, on resize and when the fonts have loaded.
  function markScroll(box) {
    var more = box.scrollWidth - box.clientWidth;
    box.classList.toggle("rmcourse-more-left", more > 1 && box.scrollLeft > 1);
    box.classList.toggle("rmcourse-more-right", more > 1 && box.scrollLeft < more - 1);
  }

  function markFormulas() {
    document.querySelectorAll(".bd-article mjx-container[display='true']").forEach(function (box) {
      if (!box.hasAttribute("data-rmcourse-edges")) {
        box.setAttribute("data-rmcourse-edges", "");
        box.addEventListener("scroll", function () { markScroll(box); }, { passive: true });
      }
      markScroll(box);
    });
  }

  function watchFormulas() {
    var article = document.querySelector(".bd-article");
    if (!article) return;
    new MutationObserver(markFormulas).observe(article, { childList: true, subtree: true });
    window.addEventListener("resize", markFormulas);
    if (document.fonts) document.fonts.ready.then(markFormulas);
    markFormulas();
  }

  function setup() {
    watchFormulas();
    var images = document.querySelectorAll(".bd-article .cell_output img, .bd-article figure img");
    images.forEach(function (image) {
      if (image.closest(".rmcourse-static")) return;  // the quiz's own figures
      image.setAttribute("tabindex", "0");
      image.setAttribute("role", "button");
      image.setAttribute("data-role", "zoom");
      image.addEventListener("click", function () { zoom(image); });
      image.addEventListener("keydown", function (event) {
        if (event.key === "Enter" || event.key === " ") {
          event.preventDefault();
          zoom(image);
        }
      });
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", setup);
  else setup();
})();
