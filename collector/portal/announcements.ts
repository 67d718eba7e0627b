// Operators' announcements (releases, interface changes, notices) as the portal shows them.
import type { Announcement } from '../store/types.js';
import type { Lang } from './labels.js';
import { escapeHtml, type Formats } from './layout.js';
import { PORTAL_TEXT } from './texts.js';

/** Releases, interface changes and notices: planned ones and those of the last two weeks. */
export function announcementsSection(list: readonly Announcement[], names: ReadonlyMap<string, string>, lang: Lang, fmt: Formats): string {
  const p = PORTAL_TEXT[lang];
  if (list.length === 0) return '<section id="announcements" hidden></section>';
  const local = (t: { da: string; en?: string }): string => (lang === 'en' ? t.en : undefined) ?? t.da;
  const cards = list.map((a) => {
    const link = a.link === undefined ? '' : ` <a href="${escapeHtml(a.link)}">${p.readMore}</a>`;
    return `<article class="card" data-key="announcement-${escapeHtml(a.id)}"><h3>${escapeHtml(local(a.title))} <span class="muted">${escapeHtml(p.announcementKind[a.kind])}</span></h3>
<p>${escapeHtml(local(a.body))}${link}</p><p class="since">${escapeHtml(a.systems.map((id) => names.get(id) ?? id).join(', '))} · <time datetime="${new Date(a.at).toISOString()}">${escapeHtml(fmt.dateTime(a.at))}</time></p></article>`;
  });
  return `<section id="announcements" aria-labelledby="h-announcements"><h2 id="h-announcements">${p.announcements}</h2>\n${cards.join('\n')}</section>`;
}

