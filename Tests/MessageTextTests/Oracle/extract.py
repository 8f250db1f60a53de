#!/usr/bin/env python3
"""What Python's email package (policy.default) reads in each message FILE: prints a JSON
list, one object per file: subject, from, to, cc, bcc (field values, decoded), filenames,
has_attachment, and text: the text of every text/* part in document order (text/html
through html.parser to text), preceded for every nested message/rfc822 or message/global
part by its From, To, Cc and Subject.

The rules that are choices rather than parsing are the ones MessageText documents, so
both sides apply the same ones: text without a charset (or labelled US-ASCII) is UTF-8
when valid, else Windows-1252; raw 8-bit header text is UTF-8 when valid, else the
message's declared body charset, else Windows-1252; an unknown charset is UTF-8 with replacement; in HTML a
line break stands for each block element's tag (the list below is MessageText's), other
tags join the text around them; <script> and <style> content is dropped.

Usage: extract.py FILE...
"""
import codecs
import json
import sys
from email import policy
from email.parser import BytesParser
from html.parser import HTMLParser

BLOCK_ELEMENTS = {
    "address", "article", "aside", "blockquote", "body", "br", "caption", "center", "dd", "div", "dl", "dt", "fieldset",
    "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "head", "header", "hr", "html", "li",
    "main", "nav", "ol", "option", "p", "pre", "section", "table", "tbody", "td", "tfoot", "th", "thead", "title", "tr", "ul",
}
RAW_TEXT = {"script", "style"}
# MessageText reads these labels as the wider charset mailers write under them.
ICONV_NAMES = {"gb2312": "gb18030", "gbk": "gb18030", "ks_c_5601-1987": "cp949"}


class HTMLToText(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts = []
        self.hidden = 0

    def handle_starttag(self, tag, attrs):
        if tag in RAW_TEXT:
            self.hidden += 1
        if tag in BLOCK_ELEMENTS:
            self.parts.append("\n")

    def handle_startendtag(self, tag, attrs):
        if tag in BLOCK_ELEMENTS:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in RAW_TEXT:
            self.hidden = max(0, self.hidden - 1)
        if tag in BLOCK_ELEMENTS:
            self.parts.append("\n")

    def handle_data(self, data):
        if not self.hidden:
            self.parts.append(data)


def html_text(html):
    parser = HTMLToText()
    parser.feed(html)
    parser.close()
    return "".join(parser.parts)


def windows1252(data):
    # Python's cp1252 codec refuses the five bytes Windows leaves undefined: those stay C1 controls.
    return "".join(bytes([b]).decode("cp1252", "strict") if 0x80 <= b < 0xA0 and b not in (0x81, 0x8D, 0x8F, 0x90, 0x9D)
                   else chr(b) for b in data)


def undeclared(data, fallback=None):
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    if fallback and fallback not in ("us-ascii", "ascii", "utf-8", "utf8"):
        try:
            return data.decode(ICONV_NAMES.get(fallback, fallback), "replace")
        except LookupError:
            pass
    return windows1252(data)


def part_text(part):
    data = part.get_payload(decode=True) or b""
    charset = part.get_content_charset()
    if charset in (None, "us-ascii", "ascii"):
        return undeclared(data)
    try:
        codecs.lookup(charset)
    except LookupError:
        return data.decode("utf-8", "replace")
    try:
        return data.decode(charset, "replace")
    except Exception:
        return data.decode("utf-8", "replace")


def clean(value):
    """A header value as text: bytes Python kept as surrogate escapes are read by the
    undeclared rule (UTF-8, else the message's body charset, else Windows-1252)."""
    value = str(value)
    try:
        value.encode("utf-8")
        return value
    except UnicodeEncodeError:
        return undeclared(value.encode("utf-8", "surrogateescape"))


def values(msg, name):
    """The decoded values of every field `name`. A field with raw 8-bit bytes is read from
    its source by the undeclared rule (policy.default turns such bytes into U+FFFD)."""
    raws = [raw for key, raw in msg.raw_items() if key.lower() == name]
    try:
        parsed = [str(v) for v in msg.get_all(name) or []]
    except Exception:
        parsed = [None] * len(raws)
    out = []
    for raw, value in zip(raws, parsed):
        if value is None or any("\udc80" <= c <= "\udcff" for c in raw):
            value = " ".join(undeclared(raw.encode("utf-8", "surrogateescape"), msg.get_content_charset()).split())
        out.append(clean(value))
    return out


def read(path):
    with open(path, "rb") as f:
        msg = BytesParser(policy=policy.default).parse(f)
    texts, filenames, has_attachment = [], [], False
    for part in msg.walk():
        maintype = part.get_content_maintype()
        if maintype == "multipart":
            continue
        try:
            filename = part.get_filename()
        except Exception:
            filename = None
        if filename:
            filenames.append(clean(filename))
        if filename or part.get_content_disposition() == "attachment":
            has_attachment = True
        content_type = part.get_content_type()
        if content_type in ("message/rfc822", "message/global"):
            payload = part.get_payload()
            inner = payload[0] if isinstance(payload, list) and payload else None
            if inner is not None:
                fields = [v for name in ("from", "to", "cc", "subject") for v in values(inner, name)]
                if fields:
                    texts.append("\n".join(fields))
        elif maintype == "text":
            text = part_text(part)
            texts.append(html_text(text) if content_type == "text/html" else text)
    return {
        "file": path,
        "subject": (values(msg, "subject") or [""])[0],
        "from": values(msg, "from") + values(msg, "sender"),
        "to": values(msg, "to"),
        "cc": values(msg, "cc"),
        "bcc": values(msg, "bcc"),
        "filenames": filenames,
        "has_attachment": has_attachment,
        "text": "\n".join(texts),
    }


def main():
    json.dump([read(path) for path in sys.argv[1:]], sys.stdout, ensure_ascii=True, indent=1)


if __name__ == "__main__":
    main()
