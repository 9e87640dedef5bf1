// The Delivery metrics page: editing a date picks "Custom dates", since the dates apply to it
// only. The page works without this file.
const period = document.getElementById("delivery_period");
for (const name of ["delivery_start_date", "delivery_end_date"]) {
  const input = document.getElementById(name);
  if (period && input) {
    input.addEventListener("change", () => {
      period.value = "custom";
    });
  }
}
