// The story browser's live part: new placements from GET /events (Server-Sent Events), no reload.
// Plain JS, no build step. The page works without it; this only adds what happens after it loaded.
(function () {
  "use strict";
  var feed = document.getElementById("live");
  var status = document.getElementById("live-status");
  if (!feed) return;
  if (!window.EventSource) { if (status) status.textContent = "(this browser cannot follow live)"; return; }
  var story = feed.getAttribute("data-story") || "";
  var KEEP = 50;

  function say(text) { if (status) status.textContent = text; }

  function link(cid, text) {
    var a = document.createElement("a");
    a.href = "/stories/" + encodeURIComponent(cid);
    a.textContent = text;
    return a;
  }

  function push(li) {
    li.className = "fresh";
    feed.insertBefore(li, feed.firstChild);
    while (feed.children.length > KEEP) feed.removeChild(feed.lastChild);
  }

  function headline(id) {
    return fetch("/headlines/" + encodeURIComponent(id), { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .catch(function () { return null; });
  }

  function bump(cid) {
    var rows = document.querySelectorAll('[data-cluster="' + CSS.escape(cid) + '"] .count');
    for (var i = 0; i < rows.length; i++) rows[i].textContent = String(Number(rows[i].textContent) + 1);
  }

  function addToStory(event, h) {
    var list = document.getElementById("headlines");
    if (!list || event.cluster_id !== story || list.querySelector('[data-id="' + CSS.escape(event.id) + '"]')) return;
    var li = document.createElement("li");
    li.className = "headline duplicate fresh";
    li.setAttribute("data-id", event.id);
    var title = document.createElement("span");
    title.className = "title";
    title.textContent = h ? h.title : event.id;
    var meta = document.createElement("span");
    meta.className = "meta";
    meta.textContent = (h && h.source ? h.source : "no source") + (event.duplicate_of ? " · a copy of " + event.duplicate_of : "");
    li.appendChild(title);
    li.appendChild(meta);
    if (!event.duplicate_of) li.className = "headline fresh";
    list.appendChild(li);
  }

  function placed(message) {
    var event = JSON.parse(message.data);
    if (story && event.cluster_id !== story) return;
    bump(event.cluster_id);
    headline(event.id).then(function (h) {
      var li = document.createElement("li");
      li.setAttribute("data-id", event.id);
      var title = document.createElement("span");
      title.className = "title";
      title.textContent = (h ? h.title : event.id) + " ";
      li.appendChild(title);
      li.appendChild(document.createTextNode(event.duplicate_of ? "→ a copy, in " : "→ "));
      li.appendChild(link(event.cluster_id, "story " + event.cluster_id));
      push(li);
      addToStory(event, h);
    });
  }

  function note(text, cid) {
    var li = document.createElement("li");
    li.appendChild(document.createTextNode(text + " "));
    if (cid) li.appendChild(link(cid, "story " + cid));
    push(li);
  }

  // From the last event before the page was rendered; on a reconnect the browser sends Last-Event-ID.
  var after = feed.getAttribute("data-after");
  var source = new EventSource("/events" + (after ? "?last_event_id=" + encodeURIComponent(after) : ""));
  source.onopen = function () { say("(live)"); };
  source.onerror = function () { say("(reconnecting…)"); };
  source.addEventListener("placed", placed);
  source.addEventListener("merged", function (m) {
    var d = JSON.parse(m.data);
    note("Stories " + (d.sources || []).join(", ") + " merged into", d.target);
  });
  source.addEventListener("split", function (m) {
    var d = JSON.parse(m.data);
    note("Story " + d.cluster_id + " split; " + (d.ids || []).length + " headlines moved to", d.new_cluster_id);
  });
  source.addEventListener("labelled", function (m) {
    var d = JSON.parse(m.data);
    var titles = document.querySelectorAll('[data-cluster="' + CSS.escape(d.cluster_id) + '"] .title');
    for (var i = 0; i < titles.length; i++) if (d.label) titles[i].textContent = d.label;
    note("Story relabelled" + (d.label ? ": " + d.label : "") + ",", d.cluster_id);
  });
})();
