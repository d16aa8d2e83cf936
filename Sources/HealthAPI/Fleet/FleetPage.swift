/// The fleet page served on `GET /` to a browser (a request without `Action` that accepts HTML): one document with
/// its CSS and JavaScript inline (nothing loaded from elsewhere), reading `fleet.json` and following `events`
/// (server-sent events) so a transition shows without a reload; usable on a phone.
public enum FleetPage {
    /// Whether a request to `/` is a browser asking for the page rather than an EC2 Query request.
    public static func wanted(method: String, query: String, accept: String?) -> Bool {
        guard method == "GET", let accept, accept.contains("text/html") else { return false }
        let parameters = (try? QueryParameters.parse(query)) ?? QueryParameters()
        return parameters["Action"] == nil
    }

    public static let html = #"""
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>hive-health fleet</title>
<style>
:root { --bg:#f6f7f9; --fg:#1c2230; --muted:#5d6677; --card:#fff; --line:#dde1e8;
  --impaired:#c62828; --insufficient:#b26a00; --initializing:#1565c0; --ok:#2e7d32; --na:#757575; }
* { box-sizing: border-box; }
body { margin:0; font:15px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; background:var(--bg);
  color:var(--fg); }
header { display:flex; flex-wrap:wrap; align-items:center; gap:.5rem 1rem; padding:.75rem 1rem; background:#1c2230;
  color:#fff; }
header h1 { font-size:1.1rem; margin:0; }
#live { font-size:.8rem; padding:.1rem .5rem; border-radius:1rem; background:#555; }
#live.on { background:var(--ok); }
#counts { display:flex; flex-wrap:wrap; gap:.4rem; font-size:.85rem; }
#filters { display:flex; flex-wrap:wrap; gap:.5rem; padding:.75rem 1rem; background:var(--card);
  border-bottom:1px solid var(--line); }
#filters input, #filters select { font:inherit; padding:.4rem .5rem; border:1px solid var(--line); border-radius:.3rem;
  min-width:0; }
#filters input { flex:1 1 14rem; }
#filters select { flex:1 1 7rem; max-width:14rem; }
@media (max-width: 600px) { #filters input { flex-basis:100%; } #filters select { flex-basis:5.5rem; font-size:.9rem; } }
main { display:grid; grid-template-columns: minmax(0,1fr) 22rem; gap:1rem; padding:1rem; }
@media (max-width: 900px) { main { grid-template-columns: minmax(0,1fr); } }
h2 { font-size:1rem; margin:.5rem 0; }
.group { margin-bottom:1rem; }
.instance { background:var(--card); border:1px solid var(--line); border-left:4px solid var(--na); border-radius:.4rem;
  padding:.6rem .75rem; margin-bottom:.6rem; }
.instance.impaired { border-left-color:var(--impaired); }
.instance.insufficient-data { border-left-color:var(--insufficient); }
.instance.initializing { border-left-color:var(--initializing); }
.instance.ok { border-left-color:var(--ok); }
.head { display:flex; flex-wrap:wrap; gap:.25rem .75rem; align-items:baseline; }
.id { font-weight:600; font-family:ui-monospace, monospace; word-break:break-all; }
.meta { color:var(--muted); font-size:.85rem; }
.cats { display:grid; grid-template-columns:repeat(3, minmax(0,1fr)); gap:.5rem; margin-top:.5rem; }
@media (max-width: 600px) { .cats { grid-template-columns:minmax(0,1fr); } }
.cat { border:1px solid var(--line); border-radius:.3rem; padding:.4rem .5rem; font-size:.85rem; min-width:0; }
.badge { display:inline-block; padding:0 .45rem; border-radius:1rem; color:#fff; background:var(--na); font-size:.75rem;
  font-weight:600; }
.badge.impaired, .badge.failed { background:var(--impaired); }
.badge.insufficient-data { background:var(--insufficient); }
.badge.initializing { background:var(--initializing); }
.badge.ok, .badge.passed { background:var(--ok); }
.check { margin-top:.3rem; overflow-wrap:anywhere; }
.check .msg { color:var(--muted); }
.since { color:var(--impaired); font-size:.8rem; }
#transitions ol { list-style:none; margin:0; padding:0; }
#transitions li { background:var(--card); border:1px solid var(--line); border-radius:.3rem; padding:.4rem .5rem;
  margin-bottom:.4rem; font-size:.85rem; overflow-wrap:anywhere; }
.empty { color:var(--muted); }
</style>
</head>
<body>
<header>
  <h1>hive-health fleet</h1>
  <span id="live">connecting</span>
  <span id="counts"></span>
</header>
<div id="filters">
  <input id="search" type="search" placeholder="Search instance, check, message" aria-label="Search">
  <select id="status" aria-label="Status"><option value="">any status</option></select>
  <select id="node" aria-label="Node"><option value="">any node</option></select>
  <select id="zone" aria-label="Zone"><option value="">any zone</option></select>
</div>
<main>
  <section id="instances" aria-label="Instances"></section>
  <aside id="transitions"><h2>Recent transitions</h2><ol id="transition-list"></ol></aside>
</main>
<script>
"use strict";
const order = ["impaired", "insufficient-data", "initializing", "ok", "not-applicable"];
let fleet = { instances: [], transitions: [] };
function el(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined) node.textContent = text;
  return node;
}
function fillSelect(id, values) {
  const select = document.getElementById(id);
  const current = select.value;
  while (select.options.length > 1) select.remove(1);
  for (const value of values) select.add(new Option(value, value));
  select.value = values.includes(current) ? current : "";
}
function matches(instance, text, status, node, zone) {
  if (status && instance.status !== status) return false;
  if (node && instance.node !== node) return false;
  if (zone && instance.zone !== zone) return false;
  if (!text) return true;
  const words = [instance.id, instance.node, instance.zone, instance.state];
  for (const c of instance.categories) for (const k of c.checks) words.push(k.name, k.target, k.message);
  return words.join(" ").toLowerCase().includes(text);
}
function renderInstance(instance) {
  const card = el("article", "instance " + instance.status);
  card.dataset.id = instance.id;
  card.dataset.status = instance.status;
  const head = el("div", "head");
  head.append(el("span", "id", instance.id), el("span", "badge " + instance.status, instance.status));
  head.append(el("span", "meta", "node " + (instance.node || "?") + " · " + instance.zone + " · " + instance.state));
  card.append(head);
  const cats = el("div", "cats");
  for (const c of instance.categories) {
    const box = el("div", "cat");
    box.dataset.category = c.name;
    box.append(el("strong", null, c.name + " "), el("span", "badge " + c.status, c.status));
    if (c.impairedSince) box.append(el("div", "since", "impaired since " + c.impairedSince));
    for (const k of c.checks) {
      const line = el("div", "check");
      line.append(el("span", "badge " + k.status, k.status), " ", el("span", null, k.name + " (" + k.target + ") "),
        el("span", "msg", k.message));
      box.append(line);
    }
    cats.append(box);
  }
  card.append(cats);
  return card;
}
function render() {
  const text = document.getElementById("search").value.trim().toLowerCase();
  const status = document.getElementById("status").value;
  const node = document.getElementById("node").value;
  const zone = document.getElementById("zone").value;
  const list = document.getElementById("instances");
  list.replaceChildren();
  const counts = document.getElementById("counts");
  counts.replaceChildren();
  for (const s of order) {
    const n = fleet.instances.filter(i => i.status === s).length;
    if (n) counts.append(el("span", "badge " + s, n + " " + s));
  }
  let shown = 0;
  for (const s of order) {
    const members = fleet.instances.filter(i => i.status === s && matches(i, text, status, node, zone));
    if (!members.length) continue;
    const group = el("div", "group");
    group.dataset.group = s;
    group.append(el("h2", null, s + " (" + members.length + ")"));
    for (const i of members) group.append(renderInstance(i));
    list.append(group);
    shown += members.length;
  }
  if (!shown) list.append(el("p", "empty", "No instance matches."));
  const items = document.getElementById("transition-list");
  items.replaceChildren();
  for (const t of fleet.transitions.slice().reverse().slice(0, 100)) {
    const li = el("li");
    li.dataset.instance = t.instanceID || "";
    li.append(el("span", "badge " + t.to, t.to), " ");
    li.append(el("span", null, (t.instanceID || t.node) + " " + t.category + (t.check ? " / " + t.check : "") +
      ": " + t.from + " → " + t.to + " "));
    li.append(el("span", "meta", t.at + (t.message ? " · " + t.message : "")));
    items.append(li);
  }
  if (!fleet.transitions.length) items.append(el("li", "empty", "None yet."));
}
async function load() {
  try {
    const response = await fetch("fleet.json", { cache: "no-store" });
    if (!response.ok) return;
    fleet = await response.json();
    fillSelect("status", order.filter(s => fleet.instances.some(i => i.status === s)));
    fillSelect("node", [...new Set(fleet.instances.map(i => i.node).filter(n => n))].sort());
    fillSelect("zone", [...new Set(fleet.instances.map(i => i.zone))].sort());
    render();
  } catch (error) { /* the next transition or the next minute tries again */ }
}
let pending = null;
function reloadSoon() {
  if (pending) return;
  pending = setTimeout(() => { pending = null; load(); }, 200);
}
for (const id of ["search", "status", "node", "zone"]) document.getElementById(id).addEventListener("input", render);
const live = document.getElementById("live");
const events = new EventSource("events");
events.addEventListener("open", () => { live.textContent = "live"; live.className = "on"; });
events.addEventListener("error", () => { live.textContent = "reconnecting"; live.className = ""; });
events.addEventListener("transition", () => reloadSoon());
setInterval(load, 60000);
load();
</script>
</body>
</html>
"""#
}
