/* The course site's reading aids: a figure opens at full size when clicked (on a phone a
 * figure shrinks to the column; the full-size view scrolls), Escape or a click closes it. */
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

  function setup() {
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
