// Relcal: small enhancements only. Every page works without this file; the server checks all.

// Ask before destructive one-button forms (those carrying data-confirm="question").
document.addEventListener("submit", (event) => {
  const question = event.target.dataset && event.target.dataset.confirm;
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});

// A transition that goes back, rolls back or cancels needs a reason: say so before submitting.
for (const select of document.querySelectorAll("select[data-reason-toggle]")) {
  const reason = select.form && select.form.querySelector("textarea[name=reason]");
  if (!reason) continue;
  const sync = () => {
    const option = select.selectedOptions[0];
    reason.required = Boolean(option && option.hasAttribute("data-needs-reason"));
  };
  select.addEventListener("change", sync);
  sync();
}

// Print buttons (data-print) stay hidden without this file: the browser's own Print still works.
for (const button of document.querySelectorAll("button[data-print]")) {
  button.hidden = false;
  button.addEventListener("click", () => window.print());
}

// A refused form comes back (after its redirect) with the problem announced at the top; take the
// keyboard to where it is fixed: the first field in error, or the form's own error list. After
// the load: Chromium's scroll to the address's #section, which comes late, would take it back.
const firstProblem = document.querySelector("main [aria-invalid=true], main form .form-errors");
if (firstProblem) {
  const section = firstProblem.closest("details");
  if (section) section.open = true;
  if (!firstProblem.matches("input, select, textarea, button")) firstProblem.tabIndex = -1;
  window.addEventListener("load", () => setTimeout(() => firstProblem.focus()));
}
