// Keeps the inbox current: re-fetches the list every few seconds (plain polling
// survives proxies and phone sleep better than a held-open stream) and says
// when a new ticket arrived. Without JavaScript the page still works; reload it.
(function () {
  const holder = document.getElementById("ticket-list");
  const live = document.getElementById("live");
  if (!holder) return;
  const url = holder.dataset.poll;
  const seconds = Number(holder.dataset.seconds || 10);
  let latest = holder.querySelector("#tickets")?.dataset.latest || "";
  // The words come translated from the page (inbox.html's data-* on #live).
  const words = live.dataset;
  const title = document.title;

  async function refresh() {
    // Do not replace the list while someone is typing in it.
    if (holder.contains(document.activeElement) && document.activeElement.tagName === "INPUT") return;
    try {
      const response = await fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } });
      if (response.redirected || response.status === 401 || response.status === 303) {
        window.location.reload(); // signed out: go to the sign-in page
        return;
      }
      if (!response.ok) throw new Error(response.status);
      const html = await response.text();
      const next = document.createElement("div");
      next.innerHTML = html;
      const list = next.querySelector("#tickets");
      const nextLatest = list?.dataset.latest || "";
      holder.replaceChildren(...next.childNodes);
      const time = new Date().toLocaleTimeString();
      if (nextLatest && latest && nextLatest > latest) {
        live.textContent = (words.newTicket || "New ticket") + " · " + time;
        document.title = "● " + title;
      } else {
        live.textContent = (words.updated || "Updated") + " " + time;
      }
      latest = nextLatest || latest;
    } catch (error) {
      live.textContent = (words.offline || "Offline, retrying…") + " (" + error.message + ")";
    }
  }
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden) { document.title = title; refresh(); }
  });
  setInterval(refresh, seconds * 1000);
})();
