// The browser side of /widget.js: plain JavaScript (ES2017, no dependencies) kept as a string,
// since the collector's TypeScript knows no DOM. widget.ts replaces __VAGT_CONFIG__ with the
// words, CSS and timezone from embed.ts and labels.ts. view() is boxView() of embed.ts again,
// and the box has the same elements and classes as /embed's. The source must stay free of
// template literals and of comments after code on a line: it is served with each line trimmed
// and "//" comment lines dropped.
export const CONFIG_PLACEHOLDER = '__VAGT_CONFIG__';

const SOURCE = String.raw`/* vagt status widget; see docs/widget.md */
(function () {
  "use strict";
  var C = __VAGT_CONFIG__;
  var d = document, me = d.currentScript, all, i;
  // Without currentScript: the last widget script not yet drawn.
  if (!me) {
    all = d.querySelectorAll("script[src]");
    for (i = all.length - 1; i >= 0 && !me; i--) if (!all[i].vagt && all[i].src.split(/[?#]/)[0].slice(-10) === "/widget.js") me = all[i];
  }
  if (!me || me.vagt || !Element.prototype.attachShadow || !window.fetch) return;
  me.vagt = 1;
  var at = function (n) { return me.getAttribute("data-" + n); };
  var lang = at("lang") === "en" ? "en" : "da", T = C[lang], sys = at("system") || "";
  var every = Math.max(1, Number(at("refresh")) || 60) * 1000;
  var base = new URL(".", me.src), api = new URL("api/v1/status", base).href;
  var more = new URL(sys ? "systems/" + encodeURIComponent(sys) : "./", base);
  if (lang === "en") more.search = "?lang=en";

  var host = d.createElement("vagt-status"), target = null;
  try { target = at("target") && d.querySelector(at("target")); } catch (e) { target = null; }
  if (target) target.appendChild(host); else me.parentNode.insertBefore(host, me.nextSibling);
  var root = host.attachShadow({ mode: "open" });
  root.innerHTML = "<style>:host{display:block}" + C.css + "</style>" +
    '<div class="vagt-box" role="status" aria-live="polite" aria-atomic="false" lang="' + lang + '">' +
    '<span class="title"></span><span class="upd" aria-live="off" hidden></span>' +
    '<span class="st" hidden><span class="sym" aria-hidden="true"></span> <span class="txt"></span></span>' +
    '<span class="err" hidden></span><a class="more"></a></div>';
  var q = function (c) { return root.querySelector("." + c); };
  // Only a real change touches the live region: a screen reader hears news, not every poll.
  var put = function (c, text) { var e = q(c); if (e.textContent !== text) e.textContent = text; e.hidden = !text; };
  put("title", T.title);
  put("more", T.readMore);
  q("more").href = more.href;

  function hm(iso) {
    var o = { hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZone: C.tz }, f, p = {}, utc = "";
    try { f = new Intl.DateTimeFormat("en-GB", o); } catch (e) { o.timeZone = "UTC"; utc = " UTC"; f = new Intl.DateTimeFormat("en-GB", o); }
    f.formatToParts(new Date(iso)).forEach(function (x) { p[x.type] = x.value; });
    return p.hour + ":" + p.minute + utc;
  }
  function view(list) {
    var names = {}, n = {}, s = null, st, text, bad;
    var count = function (p, k) { return k === 1 ? p[0] : p[1].replace("{n}", k); };
    list.forEach(function (x) { names[x.id] = x.name; n[x.status] = (n[x.status] || 0) + 1; if (x.id === sys) s = x; });
    if (sys) {
      st = s ? s.status : "unknown";
      text = (s ? s.name : sys) + ": " + (T.label[st] || st);
      if (s && s.cause.length) text += " \u00b7 " + T.affectedBy.replace("{x}", s.cause.map(function (c) { return names[c] || c; }).join(", "));
      return [st, text];
    }
    bad = (n.major_outage || 0) + (n.partial_outage || 0) + (n.degraded_performance || 0);
    text = !list.length ? T.none : bad ? count(T.someProblems, bad) : n.under_maintenance ? count(T.someMaintenance, n.under_maintenance) : n.unknown ? T.someUnknown : T.allOk;
    return [C.order.filter(function (o) { return n[o]; })[0] || "unknown", text];
  }
  // data: the last /api/v1/status that drew; failed: this poll brought none.
  function draw(data, failed) {
    if (data) {
      var v = view(data.systems);
      put("upd", T.updated.replace("{t}", hm(data.updated_at)));
      q("st").className = "st s-" + v[0];
      q("st").hidden = false;
      put("sym", C.sym[v[0]] || "?");
      put("txt", v[1]);
    }
    put("err", failed ? T.unavailable : "");
  }
  var last = null;
  (function poll() {
    fetch(api, { cache: "no-store" })
      .then(function (r) { if (!r.ok) throw r.status; return r.json(); })
      .then(function (j) { draw(j, false); last = j; })
      .catch(function () { draw(last, true); })
      .then(function () { setTimeout(poll, every); });
  })();
})();
`;

/** The script as served: each line trimmed, "//" comment lines dropped. */
export const WIDGET_SCRIPT = SOURCE.split('\n')
  .map((l) => l.trim())
  .filter((l) => l !== '' && !l.startsWith('//'))
  .join('\n');
