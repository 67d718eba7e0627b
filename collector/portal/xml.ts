// Text for XML content and attribute values (the Atom feed, the SVG map and badges).
const XML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
// Characters XML 1.0 does not allow at all (C0 controls but tab, CR, LF; lone surrogates; FFFE/FFFF):
// they cannot be escaped, so they become U+FFFD, which shows that something was there.
// eslint-disable-next-line no-control-regex
const NOT_XML = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

export const escapeXml = (s: string): string => s.replace(NOT_XML, '\uFFFD').replace(/[&<>"']/g, (c) => XML_ESCAPES[c] ?? c);
