"""Model output is untrusted input: shown, it can never become markup the app did not write, nor make the reader's
browser fetch anything.

A reply rendered as Markdown could carry an image in any of CommonMark's forms (inline, reference, brackets inside
the alt text, alt text over two lines), raw HTML (`<img>`, `<svg>`, `<iframe>`, `<meta refresh>`, `style=url()`),
or a `javascript:` link. Each was a request to a URL of the model's choosing, which a prompt-injected answer can
fill with what is on the page, or a same-origin GET (`/logout`). So the text goes through a real CommonMark parser
(markdown-it-py) that keeps raw HTML as text and writes every image as its alt text and address, then through an
allowlist sanitizer (nh3, Rust's ammonia) that keeps only the tags Markdown makes and http(s)/mailto links, which
open in no context of the app's. Gradio's own sanitising stays on behind it, and the Content-Security-Policy
(csp.py) is the wall after that. Tables, lists, code and emphasis still render; one tilde stays a tilde
(09:00~18:00), two strike through.
"""
from __future__ import annotations

import html
import string

import nh3
from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml

# what Markdown itself makes, and nothing that loads or runs anything
TAGS = {"p", "br", "strong", "em", "s", "del", "code", "pre", "blockquote", "ul", "ol", "li", "hr", "a",
        "h1", "h2", "h3", "h4", "h5", "h6", "table", "thead", "tbody", "tr", "th", "td"}
ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}, "code": {"class"}}


def _image_as_text(self, tokens, idx, options, env) -> str:
    """An image, whatever its form, is written out: '🖼 alt (address)', and nothing is fetched."""
    token = tokens[idx]
    alt = self.renderInlineAsText(token.children or [], options, env) or "image"
    # shown, not linked: a bare URL in parentheses is not autolinked (linkify is off) but a zero-width space keeps
    # any later renderer from doing so
    address = (token.attrGet("src") or "").replace("://", ":\u200b//")
    return escapeHtml(f"🖼 {alt} ({address})")


def _parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.enable(["table", "strikethrough"])  # GFM's tables; strikethrough needs two tildes here, never one
    md.add_render_rule("image", _image_as_text)
    return md


_MD = _parser()


def inert(text: str | None) -> str:
    """Untrusted text as safe HTML: Markdown rendered, raw HTML as text, images as text, links inert until clicked."""
    if not text:
        return text or ""
    html = _MD.render(text)
    return nh3.clean(html, tags=TAGS, attributes=ATTRIBUTES, url_schemes={"http", "https", "mailto"},
                     link_rel="noopener noreferrer nofollow", strip_comments=True)


# every ASCII mark Markdown or HTML gives a meaning, as a character reference: CommonMark and Gradio's renderer
# show a reference as its character and never read it as syntax, so no link, image, emphasis or tag can form
_LITERAL = {ord(c): f"&#{ord(c)};" for c in string.punctuation}


def plain(text: object) -> str:
    """A label people or models wrote (a model, file, variant or criterion name; a sentence holding one) for a
    Markdown or HTML component: its characters shown as they are, on one line, none of them markup."""
    return " ".join(str("" if text is None else text).split()).translate(_LITERAL)


def as_html_text(text: object) -> str:
    """Text for a component that renders HTML but not Markdown (Gradio's toasts): every character shown, no tag."""
    return html.escape(str(text), quote=False)
