// Ottr dashboard: progressive enhancement only. Every page works without
// this file; with it, forms that delete ask first and a running rotation's
// log updates live (server-sent events) instead of by reloading.
"use strict";

document.addEventListener("submit", function (ev) {
  var f = ev.target;
  var msg = f.getAttribute && f.getAttribute("data-confirm");
  if (msg && !window.confirm(msg)) {
    ev.preventDefault();
  }
});

function el(tag, cls, text) {
  var e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function liveRotation(box) {
  var id = box.getAttribute("data-id");
  var lines = box.getAttribute("data-lines") || "0";
  var log = document.getElementById("log");
  var state = document.getElementById("state");
  var note = document.getElementById("live-note");
  var src = new EventSource("/rotations/" + encodeURIComponent(id) + "/events?after=" + encodeURIComponent(lines));

  src.addEventListener("line", function (ev) {
    var l = JSON.parse(ev.data);
    var li = el("li", "level-" + l.level);
    var t = el("time", "", l.at);
    t.setAttribute("datetime", l.time);
    li.appendChild(t);
    li.appendChild(document.createTextNode(" "));
    li.appendChild(el("span", "step", l.step));
    li.appendChild(document.createTextNode(" "));
    li.appendChild(el("span", "msg", l.message));
    log.appendChild(li);
    var empty = document.getElementById("log-empty");
    if (empty) empty.remove();
  });

  src.addEventListener("state", function (ev) {
    var s = JSON.parse(ev.data);
    state.textContent = s.state;
    state.className = "badge state-" + s.state;
    document.getElementById("step").textContent = s.step || "—";
    var err = document.getElementById("error");
    err.textContent = s.error || "—";
    err.className = s.error ? "error-text" : "";
    if (s.finished) document.getElementById("finished").textContent = s.finished;
    var body = document.getElementById("steps");
    body.textContent = "";
    (s.steps || []).forEach(function (st) {
      var tr = el("tr", st.failed ? "failed" : "");
      tr.appendChild(el("td", "", st.step));
      var td = el("td");
      var t = el("time", "", new Date(st.started).toISOString().substr(11, 8));
      t.setAttribute("datetime", st.started);
      td.appendChild(t);
      tr.appendChild(td);
      tr.appendChild(el("td", "", st.running ? "running…" : st.took));
      body.appendChild(tr);
    });
  });

  function stop(text) {
    src.close();
    box.removeAttribute("data-live");
    if (note) note.textContent = text;
  }

  src.addEventListener("end", function () {
    stop("(finished)");
    // The finished rotation's page has what the log does not: serials,
    // expiry, timings.
    window.setTimeout(function () { window.location.reload(); }, 800);
  });
  src.addEventListener("signedout", function () {
    stop("(signed out: reload to sign in again)");
  });
  src.addEventListener("problem", function (ev) {
    stop("(live updates stopped: " + JSON.parse(ev.data).message + ")");
  });
}

document.addEventListener("DOMContentLoaded", function () {
  var box = document.getElementById("rotation");
  if (box && box.getAttribute("data-live") && window.EventSource) {
    liveRotation(box);
  }
});
