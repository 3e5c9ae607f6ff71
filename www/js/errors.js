// Loaded first, as a classic script, so that it is in place before anything else can fail:
// it records every error on the page, shows it to the reader, and keeps it in
// window.__pageErrors, which tests/browser.rs asserts is empty.
(function () {
  "use strict";
  var errors = [];
  window.__pageErrors = errors;

  function render(text) {
    var box = document.getElementById("page-errors");
    var list = document.getElementById("page-error-list");
    if (!box || !list) return false;
    var li = document.createElement("li");
    li.textContent = text;
    list.appendChild(li);
    box.hidden = false;
    return true;
  }
  var pending = [];
  function record(text) {
    errors.push(text);
    if (!render(text)) pending.push(text);
  }
  document.addEventListener("DOMContentLoaded", function () {
    pending.splice(0).forEach(render);
  });

  // Capture phase: also sees resources that failed to load (scripts, styles, images, media).
  window.addEventListener("error", function (event) {
    var target = event.target;
    if (target && target !== window && target.nodeType === 1) {
      record("failed to load <" + target.localName + "> " + (target.currentSrc || target.src || target.href || ""));
      return;
    }
    record("error: " + event.message + (event.filename ? " (" + event.filename + ":" + event.lineno + ")" : ""));
  }, true);
  window.addEventListener("unhandledrejection", function (event) {
    var reason = event.reason;
    record("unhandled rejection: " + (reason && reason.message ? reason.message : String(reason)));
  });
  var consoleError = console.error;
  console.error = function () {
    record("console.error: " + Array.prototype.map.call(arguments, String).join(" "));
    return consoleError.apply(console, arguments);
  };
})();
