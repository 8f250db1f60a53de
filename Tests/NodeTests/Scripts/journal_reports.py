"""Journal reports for the NodeTests (driven by JournalReportNodeTests.swift).

usage:
  journal_reports.py PORT OUT_DIR
      Sends, to the node's journal listener, one original three times: inside two
      Exchange-style journal reports (the envelope part names a Bcc recipient in one and
      To/Cc recipients in the other), and once as plain mail to another RCPT TO; then one
      report that is not well formed (no message/rfc822 part). Writes OUT_DIR/original.eml,
      report-1.eml, report-2.eml, malformed.eml (the bytes sent) and OUT_DIR/ids.json (the
      archive id each 250 named). Python's email package checks every report it builds:
      it must find the envelope part and the original in it.
"""
import email
import email.policy
import json
import os
import smtplib
import sys

ORIGINAL = (
    b"From: Alice <alice@corp.example>\r\n"
    b"To: bob@corp.example\r\n"
    b"Cc: carol@corp.example\r\n"
    b"Subject: Q3 plan\r\n"
    b"Date: Mon, 07 Dec 2026 08:00:00 +0000\r\n"
    b"Message-ID: <q3-plan@corp.example>\r\n"
    b"\r\n"
    b"The merger is on. Tell nobody.\r\n"
)


def report(n: int, envelope: bytes, original: bytes = ORIGINAL, with_original: bool = True) -> bytes:
    boundary = b"JournalReport-%d" % n
    head = (
        b"X-MS-Journal-Report: \r\n"
        b"From: Microsoft Exchange <journaling@corp.example>\r\n"
        b"To: journal@archive.example\r\n"
        b"Subject: Q3 plan\r\n"
        b"Message-ID: <report-%d@exchange.corp.example>\r\n"
        b"MIME-Version: 1.0\r\n"
        b"Content-Type: multipart/mixed; boundary=\"" % n + boundary + b"\"\r\n\r\n"
    )
    body = b"--" + boundary + b"\r\nContent-Type: text/plain; charset=\"us-ascii\"\r\nContent-Transfer-Encoding: 7bit\r\n\r\n" + envelope
    if with_original:
        body += b"\r\n--" + boundary + b"\r\nContent-Type: message/rfc822\r\n\r\n" + original
    body += b"\r\n--" + boundary + b"--\r\n"
    message = head + body
    if with_original:
        parsed = email.message_from_bytes(message, policy=email.policy.compat32)
        parts = parsed.get_payload()
        assert parts[0].get_content_type() == "text/plain" and parts[1].get_content_type() == "message/rfc822", "oracle"
        assert parts[1].get_payload()[0]["Message-ID"] == "<q3-plan@corp.example>", "oracle"
    return message


def send(port: int, sender: str, recipients: list, message: bytes) -> str:
    with smtplib.SMTP("127.0.0.1", port, timeout=60) as smtp:
        smtp.ehlo("exchange.corp.example")
        smtp.mail(sender)
        for r in recipients:
            code, _ = smtp.rcpt(r)
            assert code == 250, code
        code, reply = smtp.data(message)
        assert code == 250, (code, reply)
        return reply.decode().split("stored as ")[1].split()[0]


def main() -> None:
    port, out = int(sys.argv[1]), sys.argv[2]
    first = report(1, b"Sender: alice@corp.example\r\nSubject: Q3 plan\r\nMessage-Id: <q3-plan@corp.example>\r\n"
                      b"To: bob@corp.example\r\nBcc: dave@corp.example\r\n")
    second = report(2, b"Sender: alice@corp.example\r\nSubject: Q3 plan\r\nMessage-Id: <q3-plan@corp.example>\r\n"
                       b"Cc: carol@corp.example\r\nRecipient: frank@corp.example, Expanded: board@corp.example\r\n")
    malformed = report(3, b"Sender: mallory@corp.example\r\nTo: bob@corp.example\r\n", with_original=False)
    ids = {
        "report-1": send(port, "journaling@corp.example", ["journal@archive.example"], first),
        "report-2": send(port, "journaling@corp.example", ["journal@archive.example"], second),
        "plain": send(port, "alice@corp.example", ["eve@corp.example"], ORIGINAL),
        "malformed": send(port, "journaling@corp.example", ["journal@archive.example"], malformed),
    }
    for name, data in [("original", ORIGINAL), ("report-1", first), ("report-2", second), ("malformed", malformed)]:
        with open(os.path.join(out, name + ".eml"), "wb") as f:
            f.write(data)
    with open(os.path.join(out, "ids.json"), "w") as f:
        json.dump(ids, f)
    print("sent 4")


if __name__ == "__main__":
    main()
