// The release page's dependency picker: search as you type over the API. Without this file the
// search form reloads the page with the matches (?dependency_q=); the server validates either way.
(() => {
  const search = document.querySelector("form[data-dependency-search]");
  if (!search) return;
  const input = search.querySelector("input[type=search]");
  const fieldset = document.getElementById(search.dataset.target);
  const list = fieldset && fieldset.querySelector("[data-matches]");
  const status = fieldset && fieldset.querySelector("[aria-live]");
  if (!input || !list || !status) return;
  const exclude = search.dataset.exclude;
  const shown = Number(new URL(search.dataset.dependencySearch, location.href).searchParams.get("page_size")) - 2;
  // Labels read as the server writes them ("Search 2.1 (Search, 1 May 2031)"), in the page's zone.
  const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  const dayParts = new Intl.DateTimeFormat("en-US", {
    timeZone: search.dataset.timeZone || undefined,
    day: "numeric",
    month: "numeric",
    year: "numeric",
  });
  const formatDay = (iso) => {
    const parts = Object.fromEntries(dayParts.formatToParts(new Date(iso)).map((p) => [p.type, p.value]));
    return `${parts.day} ${MONTHS[Number(parts.month) - 1]} ${parts.year}`;
  };
  let timer = null;
  let latest = 0;

  const radio = (release, index) => {
    const label = document.createElement("label");
    const button = document.createElement("input");
    button.type = "radio";
    button.name = "depends_on";
    button.required = true;
    button.value = String(release.id);
    button.id = `dependency_depends_on_${index}`;
    label.className = "field--check dep-match";
    label.htmlFor = button.id;
    const day = formatDay(release.go_live);
    label.append(button, ` ${release.name} (${release.team_name}, ${day})`);
    return label;
  };

  const run = async () => {
    const query = input.value.trim();
    const ticket = ++latest;
    const url = new URL(search.dataset.dependencySearch, location.href);
    if (query) url.searchParams.set("q", query);
    let data;
    try {
      const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
      if (!response.ok) throw new Error(String(response.status));
      data = await response.json();
    } catch (error) {
      if (ticket === latest) status.textContent = "The search failed; press Search to try again.";
      return;
    }
    if (ticket !== latest) return; // An older answer arriving after a newer one.
    const checked = list.querySelector("input[type=radio]:checked");
    const releases = data.results.filter((release) => String(release.id) !== exclude);
    const more = releases.length > shown;
    const labels = releases.slice(0, shown).map(radio);
    if (checked && !releases.some((release) => String(release.id) === checked.value)) {
      labels.unshift(checked.closest("label")); // Keep the user's choice on screen.
    }
    labels.forEach((label, index) => {
      const button = label.querySelector("input");
      button.id = `dependency_depends_on_${index}`;
      label.htmlFor = button.id;
    });
    list.replaceChildren(...labels);
    if (checked) {
      const again = list.querySelector(`input[value="${CSS.escape(checked.value)}"]`);
      if (again) again.checked = true;
    }
    if (!releases.length) {
      status.textContent = query ? `No release still to ship matches “${query}”.` : "No other release is still to ship.";
    } else if (query) {
      status.textContent = `Releases matching “${query}”${more ? `: the first ${shown}, refine the search to see others` : ""}.`;
    } else {
      status.textContent = more ? `The next ${shown} to ship; search to find others.` : "";
    }
  };

  input.addEventListener("input", () => {
    window.clearTimeout(timer);
    timer = window.setTimeout(run, 200);
  });
  search.addEventListener("submit", (event) => {
    event.preventDefault();
    window.clearTimeout(timer);
    run();
  });
})();
