// Records the browser's time zone on a first visit. The page loads this script only while the
// person has no zone yet; the server keeps a zone already chosen. A page read with GET is shown
// again at once in the new zone, unless the person started using it (typing, clicking): then,
// and after a form's answer, the next page shows the new zone.
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || !window.fetch || !window.Intl) return;
  var touched = false;
  ["keydown", "pointerdown", "input"].forEach(function (name) {
    document.addEventListener(name, function () { touched = true; }, { capture: true, once: true });
  });
  var zone;
  try {
    zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  } catch (error) {
    return;
  }
  if (!zone) return;
  fetch(script.dataset.url, {
    method: "POST",
    credentials: "same-origin",
    headers: { "X-CSRFToken": script.dataset.csrf },
    body: new URLSearchParams({ time_zone: zone }),
  })
    .then(function (response) {
      return response.ok ? response.json() : null;
    })
    .then(function (answer) {
      if (
        answer &&
        answer.changed &&
        answer.time_zone !== script.dataset.current &&
        script.dataset.reload === "yes" &&
        !touched
      ) {
        window.location.reload();
      }
    })
    .catch(function () {});
})();
