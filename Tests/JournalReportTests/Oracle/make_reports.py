#!/usr/bin/env python3
"""Builds journal reports with Python's email package (a MIME writer we did not write) and
prints them as JSON with what each embeds: the original's bytes and the envelope fields.
JournalReportTests.PythonOracleTests checks the splitter against it."""
import base64
import json
import sys
from email import encoders, message_from_bytes
from email.message import EmailMessage, Message
from email.mime.base import MIMEBase
from email.mime.message import MIMEMessage
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import SMTP


def original(n, subject):
    msg = EmailMessage(policy=SMTP)
    msg["From"] = "Alice Example <alice@corp.example>"
    msg["To"] = "bob@corp.example"
    msg["Subject"] = subject
    msg["Message-ID"] = "<orig-%d@corp.example>" % n
    msg.set_content("Hello %d\n--looks like a boundary\n\nÜmlaut line, long enough to be encoded.\n" % n)
    return msg


def envelope_text(fields):
    lines = []
    for name, value in fields:
        lines.append("%s: %s" % (name, value))
    return "\r\n".join(lines) + "\r\n"


def report(orig, fields, charset="us-ascii", mark=("X-MS-Journal-Report", ""), base64_original=False, strip_base64_end=True):
    outer = MIMEMultipart("mixed")
    outer["From"] = "journal@corp.example"
    outer["To"] = "archive@archive.example"
    outer["Subject"] = orig["Subject"]
    outer[mark[0]] = mark[1]
    outer.attach(MIMEText(envelope_text(fields), "plain", charset))
    raw = orig.as_bytes(policy=SMTP)
    if base64_original:
        part = MIMEBase("message", "rfc822")
        part.set_payload(raw)
        encoders.encode_base64(part)
        if strip_base64_end:
            # Python writes this payload as it is (LF lines, a newline at the end): made
            # canonical here, CRLF between lines and none after the last.
            part.set_payload(part.get_payload().rstrip("\n").replace("\n", "\r\n"))
        outer.attach(part)
    else:
        outer.attach(MIMEMessage(orig))
    return outer, raw


def dsn(report_message):
    outer = MIMEMultipart("report", report_type="delivery-status")
    outer["From"] = "postmaster@corp.example"
    outer["To"] = "journal@corp.example"
    outer["Subject"] = "Undeliverable"
    outer.attach(MIMEText("Delivery to the alternate journaling mailbox failed.\n"))
    status = MIMEBase("message", "delivery-status")
    per_message, per_recipient = Message(), Message()
    per_message["Reporting-MTA"] = "dns; mx.corp.example"
    per_recipient["Final-Recipient"] = "rfc822; archive@archive.example"
    per_recipient["Action"] = "failed"
    per_recipient["Status"] = "5.2.2"
    status.set_payload([per_message, per_recipient])
    outer.attach(status)
    outer.attach(MIMEMessage(report_message))
    return outer


def recipients(fields):
    out = []
    kinds = {"to": "to", "cc": "cc", "bcc": "bcc", "recipient": "recipient", "recipients": "recipient"}
    for name, value in fields:
        kind = kinds.get(name.lower())
        if kind is None:
            continue
        for item in [v.strip() for v in value.split(",")]:
            if item.lower().startswith("expanded:"):
                out[-1]["expandedFrom"] = item.split(":", 1)[1].strip()
            elif item.lower().startswith("forwarded:"):
                out[-1]["forwardedFrom"] = item.split(":", 1)[1].strip()
            else:
                out.append({"address": item, "kind": kind})
    return out


FIELDS_2007 = [("Sender", "alice@corp.example"), ("On-Behalf-Of", "boss@corp.example"), ("Subject", "Numbers %d"),
               ("Message-Id", "<orig-%d@corp.example>"), ("To", "bob@corp.example"), ("Cc", "carol@corp.example"),
               ("Bcc", "dave@corp.example"), ("To", "erin@corp.example, Expanded: team@corp.example"),
               ("Recipient", "frank@other.example, Forwarded: fred@corp.example")]
FIELDS_2003 = [("Sender", "alice@corp.example"), ("Message-ID", "<orig-%d@corp.example>"),
               ("Recipients", "bob@corp.example, carol@corp.example, dave@corp.example")]


def case(name, n, fields, expect="report", fmt="exchange2007", via_dsn=False, **options):
    fields = [(k, v % n if "%d" in v else v) for k, v in fields]
    subject = "Numbers %d" % n
    if name.startswith("latin"):
        subject = "Grüße %d" % n
        fields = [(k, subject if k == "Subject" else v) for k, v in fields]
    orig = original(n, subject)
    message, raw = report(orig, fields, **options)
    if via_dsn:
        message = dsn(message)
    data = message.as_bytes(policy=SMTP)
    assert options.get("base64_original") or raw in data, name + ": the original is not embedded byte for byte"
    # Python's own parse of the message/rfc822 part, where it gives the bytes back exactly.
    parsed = message_from_bytes(data, policy=SMTP)
    if via_dsn:
        parsed = parsed.get_payload()[2].get_payload(0)
    part = parsed.get_payload()[1]
    if options.get("base64_original"):
        text = message.get_payload()[1].get_payload()
        assert text.encode() in data, name + ": the base64 is not embedded"
        python_original = base64.b64decode(text)
    else:
        python_original = part.get_payload(0).as_bytes(policy=SMTP)
    assert python_original == raw or not options.get("base64_original"), name + ": base64 does not decode to the original"
    values = dict((k.lower(), v) for k, v in fields)
    return {
        "name": name, "expect": expect, "format": fmt, "viaDSN": via_dsn,
        "report": base64.b64encode(data).decode(), "original": base64.b64encode(raw).decode(),
        "pythonParseExact": python_original == raw,
        "sender": values.get("sender"), "onBehalfOf": values.get("on-behalf-of"), "subject": values.get("subject"),
        "messageID": values.get("message-id"), "recipients": recipients(fields),
    }


cases = [
    case("2007 us-ascii 7bit envelope", 1, FIELDS_2007),
    case("2007 utf-8 base64 envelope", 2, FIELDS_2007, charset="utf-8"),
    case("latin-1 quoted-printable envelope", 3, FIELDS_2007, charset="iso-8859-1"),
    case("2003 report", 4, FIELDS_2003, fmt="exchange2003", mark=("Content-Identifier", "ExJournalReport")),
    case("report in a DSN", 5, FIELDS_2007, via_dsn=True),
    case("base64 original, canonical", 6, FIELDS_2007, base64_original=True),
    case("base64 original as Python ends it", 7, FIELDS_2007, base64_original=True, strip_base64_end=False, expect="malformed"),
]
json.dump(cases, sys.stdout)
