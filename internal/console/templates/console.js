// The compose form's helpers. The form works without them: they filter
// the recipient list as the clerk types and count the ticked ones, check
// the files' size before sending, and show the upload's progress (the
// bar stays hidden until then).
// Lists too wide for the screen (on a phone) scroll sideways inside a
// box put around them, never the page; a box that scrolls is focusable,
// so a keyboard can scroll it.
document.documentElement.classList.add("js");
(function () {
  "use strict";
  var boxes = [];
  var tables = document.querySelectorAll("table.list");
  for (var i = 0; i < tables.length; i++) {
    var box = document.createElement("div");
    box.className = "scroll";
    tables[i].parentNode.insertBefore(box, tables[i]);
    box.appendChild(tables[i]);
    boxes.push(box);
  }
  if (!boxes.length) return;
  // A box is named after the heading before it, else the page.
  var name = function (box) {
    for (var e = box.previousElementSibling; e; e = e.previousElementSibling) {
      if (/^H[1-6]$/.test(e.tagName)) return e.textContent.trim();
    }
    return document.title;
  };
  var mark = function () {
    for (var i = 0; i < boxes.length; i++) {
      if (boxes[i].scrollWidth > boxes[i].clientWidth + 1) {
        boxes[i].setAttribute("tabindex", "0");
        boxes[i].setAttribute("role", "region");
        boxes[i].setAttribute("aria-label", name(boxes[i]));
      } else {
        boxes[i].removeAttribute("tabindex");
        boxes[i].removeAttribute("role");
        boxes[i].removeAttribute("aria-label");
      }
    }
  };
  mark();
  window.addEventListener("resize", mark);
})();

// The dashboard's refresh: the page reloads itself every data-refresh
// seconds unless the operator paused it (remembered for the tab) or is
// typing in a field. A script, not <meta refresh>, so it can be paused
// (WCAG 2.2.1).
(function () {
  "use strict";
  var period = Number(document.body && document.body.dataset.refresh || 0);
  var toggle = document.getElementById("refresh-toggle");
  if (!(period > 0) || !toggle) return;
  var key = "lt-refresh-paused";
  var paused = function () { return window.sessionStorage && sessionStorage.getItem(key) === "1"; };
  var label = function () {
    toggle.textContent = paused() ? toggle.dataset.resume : toggle.dataset.pause;
    toggle.setAttribute("aria-pressed", paused() ? "true" : "false");
  };
  toggle.parentNode.hidden = false;
  label();
  toggle.addEventListener("click", function () {
    if (paused()) sessionStorage.removeItem(key); else sessionStorage.setItem(key, "1");
    label();
  });
  window.setInterval(function () {
    var a = document.activeElement;
    var typing = a && /^(INPUT|SELECT|TEXTAREA)$/.test(a.tagName);
    if (!paused() && !typing && !document.hidden) window.location.reload();
  }, period * 1000);
})();

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

  // The picker's button and the chosen names, in the page's language
  // (the browser's own button speaks the browser's).
  var chosen = form.querySelector(".filepick .chosen");
  function names() {
    if (!chosen) return;
    var n = [];
    for (var i = 0; files && i < files.files.length; i++) n.push(files.files[i].name);
    chosen.textContent = n.length ? n.join(", ") : chosen.dataset.none;
  }
  // Other files: an earlier refusal no longer holds.
  if (files) files.addEventListener("change", function () { say("", false); names(); });

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
