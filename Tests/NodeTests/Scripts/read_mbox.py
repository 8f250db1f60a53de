"""Reads an mbox file with Python's own mailbox module (not our parser) for
ArchiveExportTests.swift.

usage: read_mbox.py MBOX

Prints one JSON object per message, in file order: the From_ line's sender, and the
message's bytes as mboxrd defines them (the From_ line and the empty line that ends each
entry removed, which `mailbox` does itself, and one `>` taken off every line that
matches `^>+From `), base64.
"""
import base64
import json
import mailbox
import re
import sys

QUOTED = re.compile(rb"^>(>*From )", re.M)

box = mailbox.mbox(sys.argv[1], create=False)
for key in box.keys():
    message = box.get_message(key)
    raw = box.get_bytes(key, from_=False)
    print(json.dumps({
        "sender": message.get_from().split(" ")[0],
        "bytes": base64.b64encode(QUOTED.sub(rb"\1", raw)).decode(),
    }))
