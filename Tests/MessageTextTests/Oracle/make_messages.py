#!/usr/bin/env python3
"""Writes test messages built with Python's email package to OUTDIR, one .eml each, and
OUTDIR/words.json: for each file, words that occur only in it (the search tests look for
them; a word's field is named: subject, body, from, to, cc, bcc, filename).

Covers: bodies and subjects/names in Latin-1, windows-1252, UTF-8, ISO-2022-JP, KOI8-R,
Shift_JIS, GB2312; quoted-printable and base64 bodies; HTML-only mail;
multipart/alternative; a forward with a message/rfc822 part inside another; attachments
with RFC 2231-encoded non-ASCII file names (with continuations) and RFC 2047 ones.

Usage: make_messages.py OUTDIR
"""
import base64
import email.charset
import quopri
import json
import os
import sys
from email import policy
from email.message import EmailMessage
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.nonmultipart import MIMENonMultipart
from email.mime.text import MIMEText
from email.header import Header
from email.utils import formataddr

SMTP = policy.SMTP
LEGACY = policy.compat32.clone(linesep="\r\n")


def plain(subject, body, charset, cte, sender="Alice Example <alice@example.com>", to="bob@example.org"):
    """A one-part text/plain message: body and subject in `charset`, the body in transfer
    encoding `cte` (base64, quoted-printable or 7bit), the subject as an RFC 2047 word."""
    data = body.encode(charset)
    msg = MIMENonMultipart("text", "plain", charset=charset)
    if cte == "base64":
        msg.set_payload(base64.encodebytes(data).decode("ascii"))
    elif cte == "quoted-printable":
        msg.set_payload(quopri.encodestring(data).decode("ascii"))
    else:
        msg.set_payload(data.decode("ascii"))
    msg["Content-Transfer-Encoding"] = cte
    word = "B" if cte == "base64" else "Q"
    encoded = base64.b64encode(subject.encode(charset)).decode("ascii") if word == "B" else \
        "".join(chr(b) if 0x30 <= b < 0x7F and b not in b"=?_" else "_" if b == 0x20 else "=%02X" % b for b in subject.encode(charset))
    msg["Subject"] = "=?%s?%s?%s?=" % (charset, word, encoded)
    msg["From"] = sender
    msg["To"] = to
    msg["Date"] = "Tue, 05 Mar 2024 14:30:15 +0000"
    return msg


def messages():
    out = []

    m = plain("Rückblick zephyrquokka", "Grüße aus München, der Bäcker backt quillfeather.\n", "iso-8859-1", "quoted-printable")
    out.append(("latin1-qp", m, {"subject": ["zephyrquokka", "rückblick"], "body": ["quillfeather", "münchen", "bäcker"]}))

    m = MIMEText("", "plain", "utf-8")
    del m["Content-Transfer-Encoding"]
    m.set_payload("“Smart quotes” cost 5 €uro at the xylophonecrest café – naïve.\n".encode("cp1252"))
    m.replace_header("Content-Type", 'text/plain; charset="windows-1252"')
    m["Content-Transfer-Encoding"] = "8bit"
    m["Subject"] = Header("Prix en €uro – señal", "windows-1252")
    m["From"] = formataddr(("Zoë Dupré", "zoe@example.fr"), "utf-8")
    m["To"] = "team@example.org"
    m["Cc"] = formataddr(("Łukasz Brzęczyszczykiewicz", "lukasz@example.pl"), "utf-8")
    out.append(("cp1252-8bit", m, {"body": ["xylophonecrest", "café"], "subject": ["señal"], "from": ["zoë"], "cc": ["łukasz"]}))

    m = plain("Façade report marmaladewren", "Naïve façade, crème brûlée and the marmaladewren déjà vu.\n" * 3, "utf-8", "base64")
    m["Bcc"] = "hidden.auditor@example.net"
    out.append(("utf8-base64", m, {"body": ["marmaladewren", "brûlée"], "subject": ["façade"], "bcc": ["hidden.auditor"]}))

    m = plain("会議室の予約について", "来週の会議室を予約しました。議題は予算です。ganymedeorbit\n", "iso-2022-jp", "7bit")
    out.append(("iso-2022-jp", m, {"subject": ["会議室"], "body": ["予算", "ganymedeorbit"]}))

    m = plain("Квартальный отчёт", "Отчёт готов, смотрите таблицу. Проверка borealisfjord.\n", "koi8-r", "quoted-printable")
    out.append(("koi8-r", m, {"subject": ["отчёт"], "body": ["таблицу", "borealisfjord"]}))

    m = plain("東京タワー見学", "東京タワーの見学は金曜日です。nebulacastor\n", "shift_jis", "base64")
    out.append(("shift-jis", m, {"subject": ["東京"], "body": ["金曜日", "nebulacastor"]}))

    m = plain("中文邮件测试", "这是一封中文邮件，请查收附件。quasarlantern\n", "gb2312", "base64")
    out.append(("gb2312", m, {"subject": ["邮件"], "body": ["查收", "quasarlantern"]}))

    m = EmailMessage()
    m["Subject"] = "HTML only: the tangerinegalaxy newsletter"
    m["From"] = "news@example.com"
    m["To"] = "reader@example.org"
    m.set_content(
        "<html><head><title>Weekly</title><style>p { color: red } .stylehiddenword {}</style>"
        "<script>var scripthiddenword = 1;</script></head><body>"
        "<p>Caf&eacute; &amp; cr&egrave;me at &#8364;5 &#x263A;</p><div>tangerinegalaxy</div>"
        "<ul><li>first<li>second</ul><table><tr><td>cellone</td><td>celltwo</td></tr></table>"
        "<!-- commenthiddenword --><p>Fin<b>ish</b>ed</p></body></html>\n",
        subtype="html", charset="utf-8", cte="quoted-printable")
    out.append(("html-only", m, {"body": ["tangerinegalaxy", "café", "cellone", "celltwo", "finished"], "absent": ["stylehiddenword", "scripthiddenword", "commenthiddenword"]}))

    m = EmailMessage()
    m["Subject"] = "Alternative parts"
    m["From"] = "alt@example.com"
    m["To"] = "reader@example.org"
    m.set_content("Plain version with ultravioletmoose.\n")
    m.add_alternative("<p>HTML version with <i>infraredgazelle</i>.</p>\n", subtype="html")
    out.append(("alternative", m, {"body": ["ultravioletmoose", "infraredgazelle"]}))

    inner = EmailMessage()
    inner["Subject"] = "Innermost budget plumcomet"
    inner["From"] = "Carol Inner <carol@inner.example>"
    inner["To"] = "dave@inner.example"
    inner["Cc"] = "erin@inner.example"
    inner.set_content("The innermost text mentions saffronharbor.\n")
    inner.add_attachment(b"%PDF-1.4 not really", maintype="application", subtype="pdf", filename="innerbudget.pdf")
    middle = EmailMessage()
    middle["Subject"] = "Fwd: Innermost budget plumcomet"
    middle["From"] = "Frank Middle <frank@middle.example>"
    middle["To"] = "grace@middle.example"
    middle.set_content("See the forwarded message, ceruleanotter.\n")
    middle.add_attachment(inner)
    outer = EmailMessage()
    outer["Subject"] = "Fwd: Fwd: Innermost budget"
    outer["From"] = "heidi@outer.example"
    outer["To"] = "ivan@outer.example"
    outer.set_content("Forwarding the whole thread.\n")
    outer.add_attachment(middle)
    out.append(("nested-forward", outer, {"body": ["saffronharbor", "ceruleanotter", "plumcomet", "carol", "frank"], "filename": ["innerbudget"]}))

    m = EmailMessage()
    m["Subject"] = "Attachments with names"
    m["From"] = "files@example.com"
    m["To"] = "reader@example.org"
    m.set_content("Two attachments follow, see periwinkletrout.\n")
    long_name = "Überweisungsbestätigung für das Quartal März bis Mai zweitausendvierundzwanzig — endgültig.pdf"
    m.add_attachment(b"data", maintype="application", subtype="pdf", filename=long_name)
    m.add_attachment(b"more", maintype="application", subtype="octet-stream", filename="résumé.docx")
    out.append(("attachments-2231", m, {"body": ["periwinkletrout"], "filename": ["überweisungsbestätigung", "résumé"]}))

    # Outlook-style: RFC 2047 inside the quoted name, and hand-written RFC 2231 continuations.
    m = MIMEMultipart()
    m["Subject"] = Header("Pièces jointes encodées", "utf-8")
    m["From"] = "outlook@example.com"
    m["To"] = "reader@example.org"
    m.attach(MIMEText("Names are encoded, see lavenderquasar.\n", "plain", "us-ascii"))
    a = MIMEApplication(b"zip bytes", "zip")
    a.add_header("Content-Disposition", "attachment", filename="=?utf-8?b?" + __import__("base64").b64encode("Präsentation.zip".encode()).decode() + "?=")
    m.attach(a)
    b = MIMEApplication(b"xlsx bytes", "vnd.ms-excel")
    b["Content-Disposition"] = "attachment;\r\n filename*0*=iso-8859-1''R%E9sultats%20;\r\n filename*1*=annuels%20d%E9;\r\n filename*2=\"finitifs.xls\""
    m.attach(b)
    out.append(("attachments-2047", m, {"subject": ["encodées"], "body": ["lavenderquasar"], "filename": ["präsentation", "résultats"]}))

    return out


def main():
    outdir = sys.argv[1]
    os.makedirs(outdir, exist_ok=True)
    words = {}
    for i, (name, msg, expected) in enumerate(messages(), 1):
        if "Message-ID" not in msg:
            msg["Message-ID"] = f"<oracle-{i}-{name}@example.test>"
        if "Date" not in msg:
            msg["Date"] = "Wed, 06 Mar 2024 10:00:00 +0100"
        filename = f"{i:02d}-{name}.eml"
        with open(os.path.join(outdir, filename), "wb") as f:
            f.write(msg.as_bytes(policy=SMTP if isinstance(msg, EmailMessage) else LEGACY))
        words[filename] = expected
    with open(os.path.join(outdir, "words.json"), "w") as f:
        json.dump(words, f, ensure_ascii=False, indent=1, sort_keys=True)


if __name__ == "__main__":
    main()
