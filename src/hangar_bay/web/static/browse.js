// Progressive enhancement only: the form works without it. Leaves empty fields out of
// the URL so shared links stay short and readable.
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement) || !form.classList.contains("filters")) return;
  for (const field of form.querySelectorAll("input, select")) {
    if (field.name && !field.disabled && field.value === "" && !field.multiple) {
      field.disabled = true;
    }
  }
  // Re-enable after navigation starts so the back/forward cache shows the form intact.
  setTimeout(() => form.querySelectorAll(":disabled").forEach((f) => { f.disabled = false; }), 0);
});

// On a phone the filter form would push the results below the fold: start it folded
// there (its summary says how many filters are active; a tap opens it).
(() => {
  const fold = document.querySelector("details.fold");
  if (fold && window.matchMedia("(max-width: 700px)").matches) fold.open = false;
})();
