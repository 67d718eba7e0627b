// The status page's script, inline and small: every few seconds it asks /api/v1/status; when a
// status or cause changed, it fetches the page itself and swaps in its fresh sections (one
// renderer, on the server). It also keeps "updated at" current, and titles the history bar's
// days on hover. Without JavaScript the page is complete, only not live.
//
// A swap must not lose the reader's place (WCAG 2.4.3, 3.2): focus inside a replaced section moves
// to the same element in the new one (by id, else by its keyed container and what it is, else its
// position), open <details> stay open, a text selection is kept when its text is unchanged, the
// element nearest the top of the window stays where it was, and a section whose form field is in
// use waits until the field is left. What changed is said once, briefly, in a polite live region
// ("MitID: Større nedbrud"; WCAG 4.1.3), not by re-reading whole sections.
import { STATUS_LABEL } from './labels.js';

/** What the script compares: every system's status and cause, in order. */
export function statusVersion(systems: readonly { id: string; status: string; cause: readonly string[] }[]): string {
  return systems.map((s) => `${s.id}=${s.status}:${s.cause.join(',')}`).join('|');
}

const SOURCE = String.raw`(function(){
var cfg=JSON.parse(document.getElementById('vagt-live').textContent);
var version=cfg.version,busy=false,pending=null,known=statuses(version);
var sections=['summary','incidents','maintenance','announcements','systems','history'];
var FOCUSABLE='a[href],button,input,select,textarea,summary,[tabindex]';
var KEYED='[id],[data-key],[data-system]';
var tf=new Intl.DateTimeFormat(cfg.lang==='da'?'da-DK':'en-GB',{timeZone:cfg.timezone,dateStyle:'long',timeStyle:'short'});
var df=new Intl.DateTimeFormat(cfg.lang==='da'?'da-DK':'en-GB',{timeZone:'UTC',day:'numeric',month:'short',year:'numeric'});
var main=document.getElementById('main')||document.body;
// The one polite live region: it exists before anything is said in it, and says only what changed.
var live=document.createElement('div');
live.id='vagt-announce';live.setAttribute('role','status');live.setAttribute('aria-live','polite');live.setAttribute('aria-atomic','true');
live.style.cssText='position:absolute;width:1px;height:1px;margin:-1px;padding:0;border:0;overflow:hidden;clip:rect(0 0 0 0);clip-path:inset(50%);white-space:nowrap';
main.appendChild(live);
// The script keeps the reader's place itself (below): the browser's own anchoring loses it when its anchor is replaced.
document.documentElement.style.overflowAnchor='none';
function ver(list){return list.map(function(s){return s.id+'='+s.status+':'+s.cause.join(',')}).join('|')}
function statuses(v){var m={};v.split('|').forEach(function(e){var i=e.indexOf('=');if(i>0)m[e.slice(0,i)]=e.slice(i+1).split(':')[0]});return m}
function announce(list){
 var changed=list.filter(function(s){return known[s.id]!==s.status});
 known={};list.forEach(function(s){known[s.id]=s.status});
 if(!changed.length)return;
 var parts=changed.slice(0,3).map(function(s){return (s.name||s.id)+': '+(cfg.labels[s.status]||s.status)});
 if(changed.length>3)parts.push(cfg.more.replace('{n}',String(changed.length-3)));
 var msg=parts.join('; ');
 if(live.textContent!==msg){live.textContent=msg;return}
 live.textContent='';setTimeout(function(){live.textContent=msg},150);
}
// Elements are recognised across renders by id, data-key or data-system, else by what they are.
function ident(e){return e.id?'#'+e.id:e.getAttribute('data-key')?'k:'+e.getAttribute('data-key'):e.getAttribute('data-system')?'s:'+e.getAttribute('data-system'):''}
function scope(e,root){for(var x=e.parentElement;x&&x!==root;x=x.parentElement){var k=ident(x);if(k)return k}return ''}
function find(root,k){if(!k)return root;var m=root.querySelectorAll(KEYED);for(var i=0;i<m.length;i++)if(ident(m[i])===k)return m[i];return null}
function sig(e){return e.tagName+'|'+(e.getAttribute('href')||'')+'|'+e.textContent.replace(/\s+/g,' ').trim()}
function typing(e){return /^(INPUT|TEXTAREA|SELECT)$/.test(e.tagName)||e.isContentEditable}
function detailsKey(d,root){var k=ident(d);if(k)return k;var s=scope(d,root),box=find(root,s)||root;return s+'/'+Array.prototype.indexOf.call(box.querySelectorAll('details'),d)}
function keepOpen(a,n){
 var st={};Array.prototype.forEach.call(a.querySelectorAll('details'),function(d){st[detailsKey(d,a)]=d.open});
 Array.prototype.forEach.call(n.querySelectorAll('details'),function(d){var k=detailsKey(d,n);if(k in st)d.open=st[k]});
}
function refocus(a,n,f){
 var t=f.id?document.getElementById(f.id):null;
 if(t&&!n.contains(t))t=null;
 if(!t){
  var s=scope(f,a),was=find(a,s)||a,box=find(n,s)||n,old=was.querySelectorAll(FOCUSABLE),now=box.querySelectorAll(FOCUSABLE),k=sig(f),h=f.getAttribute('href'),i;
  for(i=0;!t&&i<now.length;i++)if(sig(now[i])===k)t=now[i];
  for(i=0;!t&&h&&i<now.length;i++)if(now[i].tagName===f.tagName&&now[i].getAttribute('href')===h)t=now[i];
  i=Array.prototype.indexOf.call(old,f);
  if(!t&&now.length)t=now[Math.min(Math.max(i,0),now.length-1)];
  if(!t){t=box;t.setAttribute('tabindex','-1')}
 }
 t.focus({preventScroll:true});
}
function path(root,node){var p=[],k='';for(var x=node;x&&x!==root;x=x.parentNode){k=x.nodeType===1?ident(x):'';if(k)break;p.unshift(Array.prototype.indexOf.call(x.parentNode.childNodes,x))}return {k:k,p:p,t:node.textContent}}
function walk(root,q){var x=find(root,q.k);for(var i=0;x&&i<q.p.length;i++)x=x.childNodes[q.p[i]];return x&&x.textContent===q.t?x:null}
function saveSelection(a){var s=getSelection();if(!s||!s.rangeCount||s.isCollapsed||!a.contains(s.anchorNode)||!a.contains(s.focusNode))return null;return {a:path(a,s.anchorNode),ao:s.anchorOffset,f:path(a,s.focusNode),fo:s.focusOffset}}
function restoreSelection(n,q){var a=walk(n,q.a),f=walk(n,q.f);if(a&&f)try{getSelection().setBaseAndExtent(a,q.ao,f,q.fo)}catch(e){}}
// The keyed element nearest the top of the window, and where it is: after a swap it is put back there.
function anchor(){
 if(window.scrollY<=0)return null;
 var m=main.querySelectorAll(KEYED),best=null,top=0;
 for(var i=0;i<m.length;i++){var r=m[i].getBoundingClientRect();if(m[i]===live||r.bottom<=0||r.top>=innerHeight||!ident(m[i]))continue;
  if(!best||(r.top>=0?(top<0||r.top<top):(top<0&&r.top>top))){best=m[i];top=r.top}}
 return best&&{k:ident(best),top:top};
}
function apply(doc){
 var at=anchor(),deferred=false;
 sections.forEach(function(id){
  var a=document.getElementById(id),b=doc.getElementById(id);if(!a||!b)return;
  var n=document.importNode(b,true);keepOpen(a,n);if(a.outerHTML===n.outerHTML)return;
  var f=document.activeElement,inside=!!f&&f!==document.body&&a.contains(f);
  // Not under the hands of someone filling in a field: after they leave it.
  if(inside&&typing(f)){deferred=true;return}
  var sel=saveSelection(a);
  a.replaceWith(n);
  if(inside)refocus(a,n,f);
  if(sel)restoreSelection(n,sel);
 });
 pending=deferred?doc:null;
 if(at){var e=find(main,at.k);if(e){var d=e.getBoundingClientRect().top-at.top;if(d)window.scrollBy(0,d)}}
}
document.addEventListener('focusout',function(){if(pending)setTimeout(function(){if(pending)apply(pending)},0)});
function tick(){
 if(busy||document.hidden)return;busy=true;
 fetch('/api/v1/status',{cache:'no-store'}).then(function(r){return r.json()}).then(function(j){
  var t=document.querySelector('#updated time');
  if(t&&j.updated_at){t.dateTime=j.updated_at;t.textContent=tf.format(new Date(j.updated_at))}
  var v=ver(j.systems);if(v===version)return;
  return fetch(location.href,{cache:'no-store'}).then(function(r){return r.text()}).then(function(html){
   // Only the sections that changed: focus and selection elsewhere stay where they are.
   apply(new DOMParser().parseFromString(html,'text/html'));
   version=v;announce(j.systems);
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
    labels: STATUS_LABEL[opts.lang],
    more: opts.lang === 'da' ? 'og {n} andre' : 'and {n} more',
  };
  // JSON in a data block, escaped so that no value can close the script element.
  const json = JSON.stringify(cfg).replace(/</g, '\\u003c');
  return `<script type="application/json" id="vagt-live">${json}</script>\n<script>${SOURCE}</script>`;
}
