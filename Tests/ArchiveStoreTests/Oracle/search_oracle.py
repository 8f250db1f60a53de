#!/usr/bin/env python3
"""The expected hits of `archive search` queries, computed without archiverelay's code.

Reads a manifest (JSON: messages, each a name, the file holding its original, and its
arrivals' envelopes as the test archived them) and prints, for each query of QUERIES, the
names of the messages it must find. The text of each original comes from Python's email
package (MessageTextTests/Oracle/extract.py, whose directory is the second argument); the
matching is done here, term by term, each term a phrase looked up by SQLite's own FTS5
(tokenizer unicode61 remove_diacritics 2, as the index); AND / OR / NOT are set algebra.
What a field covers is the documented meaning (docs/OPERATIONS.md, "Searching the
archive"), written again here rather than taken from the compiler.

Usage: search_oracle.py MANIFEST EXTRACT_DIR
"""
import calendar
import datetime
import email.utils
import json
import sqlite3
import sys
from email import policy
from email.parser import BytesParser

# (query as typed, the same query as a tree, whether the hits must be exactly these:
# planted words occur only where planted; a common word may also be found where our
# extraction sees more text than Python's, which is allowed, never the reverse.)
QUERIES = [
    ("quillfeather", ["text", "any", "quillfeather"], True),
    ("quillfeath*", ["text", "any", "quillfeath", True], True),
    ("subject:zephyrquokka", ["text", "subject", "zephyrquokka"], True),
    ("subject:Rückblick", ["text", "subject", "Rückblick"], True),
    ("rückblick", ["text", "any", "rückblick"], True),
    ('"der Bäcker backt"', ["text", "any", "der Bäcker backt"], True),
    ("baecker OR backer", ["or", ["text", "any", "baecker"], ["text", "any", "backer"]], False),
    ("cafe", ["text", "any", "cafe"], False),
    ("café", ["text", "any", "café"], False),
    ("xylophonecrest", ["text", "any", "xylophonecrest"], True),
    ("from:zoe", ["text", "from", "zoe"], False),
    ("cc:łukasz", ["text", "cc", "łukasz"], True),
    ("to:hidden.auditor", ["text", "to", "hidden.auditor"], True),
    ("bcc:hidden.auditor", ["text", "bcc", "hidden.auditor"], True),
    ("marmaladewren brûlée", ["and", ["text", "any", "marmaladewren"], ["text", "any", "brûlée"]], True),
    ("会議室", ["text", "any", "会議室"], True),
    ("予算", ["text", "any", "予算"], True),
    ("subject:отчёт", ["text", "subject", "отчёт"], True),
    ("таблицу", ["text", "any", "таблицу"], True),
    ("東京 金曜日", ["and", ["text", "any", "東京"], ["text", "any", "金曜日"]], True),
    ("邮件 OR 查收", ["or", ["text", "any", "邮件"], ["text", "any", "查收"]], True),
    ("tangerinegalaxy", ["text", "any", "tangerinegalaxy"], True),
    ("stylehiddenword OR scripthiddenword OR commenthiddenword",
     ["or", ["text", "any", "stylehiddenword"], ["text", "any", "scripthiddenword"], ["text", "any", "commenthiddenword"]], True),
    ("ultravioletmoose OR infraredgazelle", ["or", ["text", "any", "ultravioletmoose"], ["text", "any", "infraredgazelle"]], True),
    ("body:saffronharbor", ["text", "body", "saffronharbor"], True),
    ("ceruleanotter plumcomet", ["and", ["text", "any", "ceruleanotter"], ["text", "any", "plumcomet"]], True),
    ("filename:innerbudget", ["text", "filename", "innerbudget"], True),
    ("filename:résumé", ["text", "filename", "résumé"], True),
    ("filename:überweisungsbestätigung", ["text", "filename", "überweisungsbestätigung"], True),
    ("filename:präsentation OR filename:résultats",
     ["or", ["text", "filename", "präsentation"], ["text", "filename", "résultats"]], True),
    ("has:attachment", ["has_attachment"], False),
    ("has:attachment periwinkletrout", ["and", ["has_attachment"], ["text", "any", "periwinkletrout"]], True),
    ("after:2024-03-06", ["date", "after", "2024-03-06"], False),
    ("after:2024-03-05 before:2024-03-06", ["and", ["date", "after", "2024-03-05"], ["date", "before", "2024-03-06"]], False),
    ("received-after:2025-01-10 received-before:2025-01-12",
     ["and", ["received", "after", "2025-01-10"], ["received", "before", "2025-01-12"]], True),
    ("received-after:2025-06-01", ["received", "after", "2025-06-01"], True),
    ("larger:10K", ["size", "larger", 10 * 1024], True),
    ("smaller:1K", ["size", "smaller", 1024], True),
    ("larger:2K smaller:3K", ["and", ["size", "larger", 2048], ["size", "smaller", 3072]], True),
    ("message-id:<oracle-5-koi8-r@example.test>", ["message_id", "oracle-5-koi8-r@example.test"], True),
    ("message-id:oracle-9-alternative@example.test", ["message_id", "oracle-9-alternative@example.test"], True),
    ("bcc:carol.hidden@corp.example", ["text", "bcc", "carol.hidden@corp.example"], True),
    ("to:carol.hidden", ["text", "to", "carol.hidden"], True),
    ("to:secret.auditor@corp.example", ["text", "to", "secret.auditor@corp.example"], True),
    ("from:ceo@corp.example", ["text", "from", "ceo@corp.example"], True),
    ("obsidianpelican", ["text", "any", "obsidianpelican"], True),
    ("to:env-rcpt-5@archive.example", ["text", "to", "env-rcpt-5@archive.example"], True),
    ("from:env-sender-7@relay.example", ["text", "from", "env-sender-7@relay.example"], True),
    ("quillfeather -subject:zephyrquokka", ["and", ["text", "any", "quillfeather"], ["not", ["text", "subject", "zephyrquokka"]]], True),
    ("(quillfeather OR marmaladewren OR xylophonecrest) NOT from:zoe",
     ["and", ["or", ["text", "any", "quillfeather"], ["text", "any", "marmaladewren"], ["text", "any", "xylophonecrest"]],
      ["not", ["text", "from", "zoe"]]], True),
    ("-quillfeather -obsidianpelican", ["and", ["not", ["text", "any", "quillfeather"]], ["not", ["text", "any", "obsidianpelican"]]], False),
    ("the", ["text", "any", "the"], False),
    ("from:example.com OR to:example.org", ["or", ["text", "from", "example.com"], ["text", "to", "example.org"]], False),
]

ORIGINAL_COLUMNS = ["sender", "recipients", "cc", "bcc", "subject", "body", "filename"]
ARRIVAL_COLUMNS = ["sender", "recipients", "cc", "bcc"]
FIELD_COLUMNS = {
    "any": (ORIGINAL_COLUMNS, []),
    "from": (["sender"], ["sender"]),
    "to": (["recipients", "cc", "bcc"], ["recipients", "cc", "bcc"]),
    "cc": (["cc"], ["cc"]),
    "bcc": (["bcc"], ["bcc"]),
    "subject": (["subject"], []),
    "body": (["body"], []),
    "filename": (["filename"], []),
}


def is_cjk(c):
    v = ord(c)
    return any(lo <= v <= hi for lo, hi in [
        (0x1100, 0x11FF), (0x2E80, 0x2FDF), (0x3005, 0x3007), (0x3021, 0x3029), (0x3038, 0x303B), (0x3040, 0x30FF),
        (0x3130, 0x318F), (0x31F0, 0x31FF), (0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xAC00, 0xD7AF), (0xF900, 0xFAFF),
        (0xFF66, 0xFF9F), (0x20000, 0x3134F)])


def segmented(text):
    return "".join(" " + c + " " if is_cjk(c) else c for c in text)


def day(text):
    return calendar.timegm(datetime.date.fromisoformat(text).timetuple())


def main():
    manifest = json.load(open(sys.argv[1]))
    sys.path.insert(0, sys.argv[2])
    import extract

    db = sqlite3.connect(":memory:")
    db.execute("CREATE VIRTUAL TABLE d USING fts5(name UNINDEXED, %s, tokenize='unicode61 remove_diacritics 2')" % ", ".join(ORIGINAL_COLUMNS))
    db.execute("CREATE VIRTUAL TABLE a USING fts5(name UNINDEXED, %s, tokenize='unicode61 remove_diacritics 2')" % ", ".join(ARRIVAL_COLUMNS))
    facts = {}
    for m in manifest["messages"]:
        text = extract.read(m["file"])
        raw = open(m["file"], "rb").read()
        header = BytesParser(policy=policy.default).parsebytes(raw, headersonly=True)
        first = min(a["received_at"] for a in m["arrivals"])
        try:
            date = int(email.utils.parsedate_to_datetime(str(header["date"])).timestamp()) if header["date"] else first
        except Exception:
            date = first
        try:
            message_id = str(header["message-id"] or "").strip().strip("<>") or None
        except Exception:
            message_id = None
        facts[m["name"]] = {"date": date, "size": len(raw), "attachment": text["has_attachment"], "message_id": message_id,
                            "received": [a["received_at"] for a in m["arrivals"]]}
        values = [text["from"], text["to"], text["cc"], text["bcc"], [text["subject"]], [text["text"]], text["filenames"]]
        db.execute("INSERT INTO d VALUES (?,?,?,?,?,?,?,?)", [m["name"]] + [segmented("\n".join(v)) for v in values])
        for a in m["arrivals"]:
            report = a.get("report") or {}
            values = [[a["mail_from"]] + report.get("senders", []), a["rcpt_to"] + report.get("to", []),
                      report.get("cc", []), report.get("bcc", [])]
            db.execute("INSERT INTO a VALUES (?,?,?,?,?)", [m["name"]] + [segmented("\n".join(v)) for v in values])
    everything = set(facts)

    def phrase(table, columns, words, prefix):
        match = "{%s} : \"%s\"" % (" ".join(columns), segmented(words).replace('"', '""')) + (" *" if prefix else "")
        return {row[0] for row in db.execute("SELECT name FROM %s WHERE %s MATCH ?" % (table, table), [match])}

    def evaluate(tree):
        kind = tree[0]
        if kind == "text":
            field, words, prefix = tree[1], tree[2], (len(tree) > 3 and tree[3])
            original, arrival = FIELD_COLUMNS[field]
            found = phrase("d", original, words, prefix)
            if arrival:
                found |= phrase("a", arrival, words, prefix)
            return found
        if kind == "and":
            return set.intersection(*[evaluate(t) for t in tree[1:]])
        if kind == "or":
            return set.union(*[evaluate(t) for t in tree[1:]])
        if kind == "not":
            return everything - evaluate(tree[1])
        if kind == "has_attachment":
            return {n for n, f in facts.items() if f["attachment"]}
        if kind == "date":
            bound = day(tree[2])
            return {n for n, f in facts.items() if (f["date"] >= bound if tree[1] == "after" else f["date"] < bound)}
        if kind == "received":
            bound = day(tree[2])
            return {n for n, f in facts.items() if any((t >= bound if tree[1] == "after" else t < bound) for t in f["received"])}
        if kind == "size":
            return {n for n, f in facts.items() if (f["size"] > tree[2] if tree[1] == "larger" else f["size"] < tree[2])}
        if kind == "message_id":
            return {n for n, f in facts.items() if f["message_id"] == tree[1]}
        raise ValueError(kind)

    json.dump([{"query": q, "expected": sorted(evaluate(t)), "exact": exact} for q, t, exact in QUERIES], sys.stdout,
              ensure_ascii=True, indent=1)


if __name__ == "__main__":
    main()
