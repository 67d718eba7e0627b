// The status page's script, inline and small: every few seconds it asks /api/v1/status; when a
// status or cause changed, it fetches the page itself and swaps in its fresh sections (one
// renderer, on the server). It also keeps "updated at" current, and titles the history bar's
// days on hover. Without JavaScript the page is complete, only not live.

/** What the script compares: every system's status and cause, in order. */
export function statusVersion(systems: readonly { id: string; status: string; cause: readonly string[] }[]): string {
  return systems.map((s) => `${s.id}=${s.status}:${s.cause.join(',')}`).join('|');
}

const SOURCE = String.raw`(function(){
var cfg=JSON.parse(document.getElementById('vagt-live').textContent);
var version=cfg.version,busy=false;
var sections=['summary','incidents','maintenance','announcements','systems','history'];
var tf=new Intl.DateTimeFormat(cfg.lang==='da'?'da-DK':'en-GB',{timeZone:cfg.timezone,dateStyle:'long',timeStyle:'short'});
var df=new Intl.DateTimeFormat(cfg.lang==='da'?'da-DK':'en-GB',{timeZone:'UTC',day:'numeric',month:'short',year:'numeric'});
function ver(list){return list.map(function(s){return s.id+'='+s.status+':'+s.cause.join(',')}).join('|')}
function tick(){
 if(busy||document.hidden)return;busy=true;
 fetch('/api/v1/status',{cache:'no-store'}).then(function(r){return r.json()}).then(function(j){
  var t=document.querySelector('#updated time');
  if(t&&j.updated_at){t.dateTime=j.updated_at;t.textContent=tf.format(new Date(j.updated_at))}
  var v=ver(j.systems);if(v===version)return;
  return fetch(location.href,{cache:'no-store'}).then(function(r){return r.text()}).then(function(html){
   var doc=new DOMParser().parseFromString(html,'text/html');
   // Only the sections that changed: focus and selection elsewhere stay where they are.
   sections.forEach(function(id){var a=document.getElementById(id),b=doc.getElementById(id);if(a&&b&&a.outerHTML!==b.outerHTML)a.replaceWith(document.importNode(b,true))});
   version=v;
  });
 }).catch(function(){}).then(function(){busy=false});
}
setInterval(tick,cfg.every);
document.addEventListener('mousemove',function(e){
 var i=e.target;if(i.tagName!=='I'||(i.title&&!i.dataset.auto))return;var bar=i.parentElement;if(!bar||!bar.dataset.first)return;
 var r=bar.getBoundingClientRect(),n=Math.floor((e.clientX-r.left)/r.width*Number(bar.dataset.days));
 var d=new Date(bar.dataset.first+'T00:00:00Z');d.setUTCDate(d.getUTCDate()+n);
 i.dataset.auto='1';i.title=df.format(d)+': '+(i.className==='n'?cfg.none:cfg.full);
});
})();`;

export function LIVE_SCRIPT(opts: { version: string; lang: 'da' | 'en'; timezone: string; everyMs?: number }): string {
  const cfg = {
    version: opts.version,
    lang: opts.lang,
    timezone: opts.timezone,
    every: opts.everyMs ?? 5_000,
    full: opts.lang === 'da' ? '100 % oppetid' : '100 % uptime',
    none: opts.lang === 'da' ? 'ingen målinger' : 'no measurements',
  };
  // JSON in a data block, escaped so that no value can close the script element.
  const json = JSON.stringify(cfg).replace(/</g, '\\u003c');
  return `<script type="application/json" id="vagt-live">${json}</script>\n<script>${SOURCE}</script>`;
}
