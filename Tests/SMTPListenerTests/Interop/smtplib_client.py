"""Sends messages to an archiverelay listener with Python's smtplib, the way real mail
software does, and writes the exact bytes each message should arrive as to OUT_DIR/<n>.eml.

usage: smtplib_client.py PORT OUT_DIR MODE   (MODE: plain | starttls | large | utf8 | send_message)
"""
import email.generator
import email.message
import io
import os
import random
import smtplib
import ssl
import sys

port, out_dir, mode = int(sys.argv[1]), sys.argv[2], sys.argv[3]


def canonical(data: bytes) -> bytes:
    """What smtplib puts on the wire before dot-stuffing: CRLF everywhere, CRLF at the end."""
    data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n").replace(b"\n", b"\r\n")
    return data if data.endswith(b"\r\n") else data + b"\r\n"


def save(n: int, data: bytes) -> None:
    with open(os.path.join(out_dir, f"{n}.eml"), "wb") as f:
        f.write(data)


with smtplib.SMTP("127.0.0.1", port, local_hostname="smtplib.test", timeout=60) as s:
    if mode == "starttls":
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        s.starttls(context=context)
    if mode == "large":
        rng = random.Random(7)
        lines = [("".join(rng.choice("abcdefghijklmnopqrstuvwxyz .") for _ in range(76))) for _ in range(135_000)]
        data = b"Subject: ten megabytes\r\n\r\n" + "\r\n".join(lines).encode() + b"\r\n"
        s.sendmail("big@example.com", ["journal@archive.example"], data)
        save(0, canonical(data))
    elif mode == "utf8":
        data = "Subject: δοκιμή\r\nFrom: χρήστης@παράδειγμα.ελ\r\n\r\nΓειά σου κόσμε\r\n".encode()
        s.sendmail("χρήστης@παράδειγμα.ελ", ["αρχείο@archive.example"], data, mail_options=["SMTPUTF8"])
        save(0, canonical(data))
    elif mode == "send_message":
        msg = email.message.EmailMessage()
        msg["From"] = "alice@example.com"
        msg["To"] = "bob@example.com"
        msg["Subject"] = "send_message interop"
        msg.set_content(".leading dot\nline two\n.\n")
        msg.add_attachment(bytes(range(256)) * 8, maintype="application", subtype="octet-stream", filename="b.bin")
        # Flattening picks the MIME boundary and stores it in msg; send_message's copy reuses it.
        out = io.BytesIO()
        email.generator.BytesGenerator(out, policy=msg.policy).flatten(msg, linesep="\r\n")
        s.send_message(msg, from_addr="alice@example.com", to_addrs=["journal@archive.example"])
        save(0, canonical(out.getvalue()))
    else:
        corpus = sys.argv[4]
        names = sorted(os.listdir(corpus))
        n = 0
        for name in names:
            if not name.startswith(("nice_", "spam_")):
                continue
            data = open(os.path.join(corpus, name), "rb").read()
            if data.startswith(b"From "):
                data = data.split(b"\n", 1)[1]
            # smtplib sends bytes as they are (it fixes line ends only for str): a well-behaved
            # sender converts the file's LF line ends to CRLF first, as MTAs do.
            data = canonical(data)
            s.sendmail("corpus@example.com", ["journal@archive.example"], data)
            save(n, data)
            n += 1
