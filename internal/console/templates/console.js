// The compose form's helpers. The form works without them: they filter
// the recipient list as the clerk types and count the ticked ones, check
// the files' size before sending, and show the upload's progress (the
// bar stays hidden until then).
(function () {
  "use strict";
  var form = document.querySelector("form.compose");
  if (!form) return;

  // fold lowercases and drops Vietnamese diacritics, so "bo noi vu"
  // finds "Bộ Nội vụ".
  function fold(s) {
    return s.normalize("NFD").replace(/[\u0300-\u036f]/g, "")
      .replace(/[đĐ]/g, "d").toLowerCase();
  }

  // The recipient picker: a filter box over the ticked list and the
  // number ticked. Ticked agencies stay visible whatever the filter.
  var filter = document.getElementById("to-filter");
  var picker = form.querySelector("ul.picker");
  var count = document.getElementById("to-count");
  if (filter && picker) {
    var items = picker.querySelectorAll("li");
    var update = function () {
      var q = fold(filter.value.trim());
      var n = 0;
      for (var i = 0; i < items.length; i++) {
        var box = items[i].querySelector("input[type=checkbox]");
        if (box.checked) n++;
        items[i].classList.toggle("checked", box.checked);
        items[i].hidden = q !== "" && !box.checked && fold(items[i].textContent).indexOf(q) < 0;
      }
      if (count) count.querySelector("strong").textContent = String(n);
    };
    filter.hidden = false;
    document.getElementById("to-filter-label").hidden = false;
    if (count) count.hidden = false;
    filter.addEventListener("input", update);
    picker.addEventListener("change", update);
    // Enter in the filter must not send the form.
    filter.addEventListener("keydown", function (e) {
      if (e.key === "Enter") e.preventDefault();
    });
    update();
  }

  var files = form.querySelector("input[name=files]");
  var bar = document.getElementById("upload-progress");
  var msg = document.getElementById("upload-msg");
  var max = Number(form.dataset.maxBytes || 0);
  if (!window.FormData || !window.XMLHttpRequest || !bar) return;

  function say(text, isError) {
    msg.textContent = text;
    msg.className = isError ? "error" : "note";
    msg.hidden = text === "";
  }

  form.addEventListener("submit", function (e) {
    var total = 0;
    for (var i = 0; files && i < files.files.length; i++) total += files.files[i].size;
    if (max > 0 && total > max) {
      e.preventDefault();
      say(form.dataset.tooLarge, true);
      return;
    }
    e.preventDefault();
    var button = form.querySelector("button.primary");
    button.disabled = true;
    bar.hidden = false;
    bar.value = 0;
    say(form.dataset.sending, false);
    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    xhr.upload.addEventListener("progress", function (ev) {
      if (ev.lengthComputable) bar.value = ev.loaded / ev.total;
    });
    xhr.addEventListener("load", function () {
      // Sent: follow the redirect to the outbox. Refused: show the page
      // the server answered, with its message.
      if (xhr.status === 200 && xhr.responseURL && new URL(xhr.responseURL).pathname !== "/compose") {
        window.location.assign(xhr.responseURL);
        return;
      }
      // The hub's own pages are HTML; anything else (a proxy's 413 or
      // 502) is told, not written into the page.
      var type = xhr.getResponseHeader("Content-Type") || "";
      if (type.indexOf("text/html") !== 0) {
        button.disabled = false;
        bar.hidden = true;
        say(form.dataset.netError + " (" + xhr.status + ")", true);
        return;
      }
      document.open();
      document.write(xhr.responseText);
      document.close();
    });
    xhr.addEventListener("error", function () {
      button.disabled = false;
      bar.hidden = true;
      say(form.dataset.netError, true);
    });
    xhr.send(new FormData(form));
  });
})();
