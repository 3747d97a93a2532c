/** The escaping `html` tag (django.utils.html / django.utils.safestring). */
import { escape, html, mark_safe, SafeString } from '../html';

describe('html', () => {
  it('escapes every interpolated value as django.utils.html.escape does', () => {
    const user = `<script>alert("x" + 'y')</script> & co`;
    expect(html`<p title="${user}">${user}</p>`.toString()).toBe(
      '<p title="&lt;script&gt;alert(&quot;x&quot; + &#x27;y&#x27;)&lt;/script&gt; &amp; co">' +
      '&lt;script&gt;alert(&quot;x&quot; + &#x27;y&#x27;)&lt;/script&gt; &amp; co</p>');
  });

  it('leaves the literal parts alone and turns null and undefined into nothing', () => {
    expect(html`<b>${null}${undefined}${0}${false}</b>`.toString()).toBe('<b>0false</b>');
  });

  it('inserts safe strings (nested html, mark_safe) unchanged, and joins arrays item by item', () => {
    const items = ['<a>', 'b&'].map((s) => html`<li>${s}</li>`);
    const out = html`<ul>${items}</ul>${mark_safe('<hr>')}${['<raw>']}`;
    expect(out).toBeInstanceOf(SafeString);
    expect(out.toString()).toBe('<ul><li>&lt;a&gt;</li><li>b&amp;</li></ul><hr>&lt;raw&gt;');
  });

  it('escape() escapes even a safe string, as Django does', () => {
    expect(escape(mark_safe('<i>'))).toBe('&lt;i&gt;');
    expect(mark_safe(mark_safe('x')).toString()).toBe('x');
  });

  it('objects go through String(), so they cannot smuggle markup either', () => {
    const sneaky = { toString: () => '<img src=x onerror=alert(1)>' };
    expect(html`${sneaky}`.toString()).toBe('&lt;img src=x onerror=alert(1)&gt;');
  });
});
