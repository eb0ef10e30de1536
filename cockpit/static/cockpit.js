// Azubi-Lotse cockpit: small progressive enhancements; every page works without this script.
"use strict";
(function () {
  // Live audience count while composing an announcement: the form is posted (not saved) to /zaehlen.
  const form = document.getElementById("compose");
  const out = document.querySelector("#live-count [data-count]");
  if (form && out) {
    let timer = null;
    const update = async function () {
      const data = new FormData(form);
      try {
        const response = await fetch("/ankuendigungen/zaehlen", { method: "POST", body: new URLSearchParams(data),
                                                                   credentials: "same-origin" });
        const body = await response.json();
        out.textContent = body.text;  // worded by the server (prompts/cockpit/audience_count.txt)
      } catch (error) {
        out.textContent = "–";
      }
    };
    const later = function () { clearTimeout(timer); timer = setTimeout(update, 300); };
    form.addEventListener("input", later);
    form.addEventListener("change", later);
    update();
  }
  // Characters used of a text's limit; the words come from the page (data-counter: "{n} of {limit}").
  document.querySelectorAll("textarea[data-limit][data-counter]").forEach(function (area) {
    const note = document.createElement("p");
    note.className = "hint";
    note.setAttribute("aria-live", "polite");
    area.insertAdjacentElement("afterend", note);
    const show = function () {
      note.textContent = area.dataset.counter.replace("{n}", area.value.length).replace("{limit}", area.dataset.limit);
    };
    area.addEventListener("input", show);
    show();
  });
})();
