import Foundation
@testable import MessageText
import Testing

/// Header fields: RFC 2047 encoded words, RFC 2231 parameters, quoted strings and
/// comments, and the Date field's forms.
@Suite struct HeaderDecodingTests {
    struct Row: CustomTestStringConvertible, Sendable {
        var raw: String
        var decoded: String
        var testDescription: String { raw }
    }

    static let encodedWords: [Row] = [
        Row(raw: "plain text", decoded: "plain text"),
        Row(raw: "=?utf-8?q?caf=C3=A9_cr=C3=A8me?=", decoded: "café crème"),
        Row(raw: "=?ISO-8859-1?B?R3L832U=?=", decoded: "Grüße"),
        Row(raw: "=?utf-8?q?a?= =?utf-8?q?b?=", decoded: "ab"),
        Row(raw: "=?utf-8?q?a?=\r\n =?utf-8?q?b?=", decoded: "ab"),
        Row(raw: "x =?utf-8?q?a?= y", decoded: "x a y"),
        Row(raw: "=?utf-8?b?w6k=?= and =?iso-8859-1?q?=E9?=", decoded: "é and é"),
        Row(raw: "=?utf-8?b?4oI=?= =?utf-8?b?rA==?=", decoded: "€"),  // a character split across two words
        Row(raw: "=?koi8-r?b?8NLJ18XU?=", decoded: "Привет"),
        Row(raw: "=?ISO-2022-JP?B?GyRCRnxLXDhsGyhC?=", decoded: "日本語"),
        Row(raw: "=?shift_jis?B?k/qWe4zq?=", decoded: "日本語"),
        Row(raw: "=?gb2312?B?1tDOxA==?=", decoded: "中文"),
        Row(raw: "=?utf-8*en?q?lang?=", decoded: "lang"),
        Row(raw: "=?utf-8?x?bad?=", decoded: "=?utf-8?x?bad?="),
        Row(raw: "=?utf-8?q?unterminated", decoded: "=?utf-8?q?unterminated"),
        Row(raw: "=?utf-8?q?has space?=", decoded: "=?utf-8?q?has space?="),
        Row(raw: "\"=?utf-8?q?J=C3=B6rg?= M\" <j@example.com>", decoded: "\"Jörg M\" <j@example.com>"),
        Row(raw: "=?x-unknown?q?ok?=", decoded: "ok"),
        Row(raw: "=?", decoded: "=?"),
    ]

    @Test(arguments: encodedWords)
    func encodedWord(row: Row) {
        #expect(EncodedWords.decode(Array(row.raw.utf8)) == row.decoded)
    }

    @Test func rawEightBitHeaderText() {
        #expect(EncodedWords.decode([0x43, 0x61, 0x66, 0xC3, 0xA9]) == "Café")
        #expect(EncodedWords.decode([0x43, 0x61, 0x66, 0xE9]) == "Café")
    }

    struct ParameterRow: CustomTestStringConvertible, Sendable {
        var raw: String
        var value: String
        var parameters: [String: String]
        var testDescription: String { raw }
    }

    static let parameterRows: [ParameterRow] = [
        ParameterRow(raw: "text/plain; charset=us-ascii", value: "text/plain", parameters: ["charset": "us-ascii"]),
        ParameterRow(raw: "Text/HTML (a comment); Charset=\"UTF-8\" (another)", value: "text/html", parameters: ["charset": "UTF-8"]),
        ParameterRow(raw: "multipart/mixed; boundary=\"a;b \\\"c\\\"\"", value: "multipart/mixed", parameters: ["boundary": "a;b \"c\""]),
        ParameterRow(raw: "attachment; filename*=UTF-8''%E2%82%AC%20rates.pdf", value: "attachment", parameters: ["filename": "€ rates.pdf"]),
        ParameterRow(raw: "attachment; filename*0*=ISO-8859-1'fr'caf%E9; filename*1=\"-menu\"; filename*2*=%2Epdf",
                     value: "attachment", parameters: ["filename": "café-menu.pdf"]),
        ParameterRow(raw: "attachment; filename*1=\"b.txt\"; filename*0=\"a\"", value: "attachment", parameters: ["filename": "ab.txt"]),
        ParameterRow(raw: "attachment; filename=report (1).pdf", value: "attachment", parameters: ["filename": "report (1).pdf"]),
        ParameterRow(raw: "attachment; filename=\"plain.txt\"; filename*=utf-8''%C3%A9.txt", value: "attachment",
                     parameters: ["filename": "é.txt"]),
        ParameterRow(raw: "application/pdf; name=", value: "application/pdf", parameters: ["name": ""]),
        ParameterRow(raw: "application/pdf;;; =x; name", value: "application/pdf", parameters: [:]),
    ]

    @Test(arguments: parameterRows)
    func parameters(row: ParameterRow) {
        let parsed = MIMEParameters(Array(row.raw.utf8))
        #expect(parsed.value == row.value)
        #expect(parsed.parameters == row.parameters)
    }

    struct DateRow: CustomTestStringConvertible, Sendable {
        var raw: String
        var seconds: Int?
        var testDescription: String { raw }
    }

    // 2024-03-05 14:30:15 UTC is 1709649015.
    static let dateRows: [DateRow] = [
        DateRow(raw: "Tue, 05 Mar 2024 14:30:15 +0000", seconds: 1_709_649_015),
        DateRow(raw: "5 Mar 2024 15:30:15 +0100", seconds: 1_709_649_015),
        DateRow(raw: "Tue,  5 Mar 2024 09:30:15 -0500 (EST)", seconds: 1_709_649_015),
        DateRow(raw: "Tue, 5 Mar 24 09:30:15 EST", seconds: 1_709_649_015),
        DateRow(raw: "Tue, 5 Mar 2024 06:30:15 PST", seconds: 1_709_649_015),
        DateRow(raw: "Tue, 5 Mar 2024 07:30:15 PDT", seconds: 1_709_649_015),
        DateRow(raw: "Tue, 5 Mar 2024 14:30 GMT", seconds: 1_709_649_000),
        DateRow(raw: "05 Mar 2024 14:30:15 UT", seconds: 1_709_649_015),
        DateRow(raw: "Tue (day), 05 (the fifth) Mar 2024 14:30:15 +0000 (UTC)", seconds: 1_709_649_015),
        DateRow(raw: "Tue, 5 Mar 99 14:30:15 +0000", seconds: 920_644_215),
        DateRow(raw: "Tue, 5 Mar 2024 14:30:15", seconds: 1_709_649_015),
        DateRow(raw: "Tue, 5 Mar 2024 14:30:15 Z", seconds: 1_709_649_015),
        DateRow(raw: "not a date", seconds: nil),
        DateRow(raw: "Tue, 5 Mar 2024", seconds: nil),
        DateRow(raw: "Tue, 45 Mar 2024 14:30:15 +0000", seconds: nil),
        DateRow(raw: "Tue, 5 Mar 2024 25:30:15 +0000", seconds: nil),
        DateRow(raw: "", seconds: nil),
    ]

    @Test(arguments: dateRows)
    func date(row: DateRow) {
        #expect(MailDate.parse(row.raw).map { Int($0.timeIntervalSince1970) } == row.seconds)
    }
}
