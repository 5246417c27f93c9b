// Clicking a turn's time plays the recording from there. A file, not an inline
// script, so the pages' Content-Security-Policy needs no 'unsafe-inline'.
document.querySelectorAll("button.seek").forEach((button) => {
  button.addEventListener("click", () => {
    const audio = document.getElementById("recording");
    if (!audio) return;
    audio.currentTime = Number(button.dataset.seconds);
    audio.play();
  });
});
