// Fills the run page in as results stream: re-fetches the progress fragment every
// second until the run is over. Without JavaScript the page still works (reload).
(function () {
  const box = document.getElementById("run-progress");
  if (!box) return;
  const url = box.dataset.url;
  async function poll() {
    if (box.dataset.final === "true") return;
    try {
      const response = await fetch(url, { headers: { "X-Requested-With": "fetch" } });
      if (response.ok) {
        const holder = document.createElement("div");
        holder.innerHTML = await response.text();
        const fresh = holder.firstElementChild;
        box.replaceChildren(...fresh.childNodes);
        box.dataset.final = fresh.dataset.final;
      }
    } catch (err) {
      // The server is briefly away: try again on the next tick.
    }
    setTimeout(poll, 1000);
  }
  setTimeout(poll, 1000);
})();
