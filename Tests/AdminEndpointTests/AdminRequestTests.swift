import AdminEndpoint
import NIOHTTP1
import Testing

/// The admin request target parser, as a table: each query a client can spell either
/// parses or is refused with a reason. The first four rows crashed the node (index out of
/// range) until 2026-12-06 (issue 22, finding 1).
@Suite struct AdminRequestTests {
    enum Outcome: Equatable {
        case parsed(path: String, query: [String: String])
        case refused(AdminRequestError)
    }

    static let table: [(uri: String, outcome: Outcome)] = [
        ("/healthz?=", .parsed(path: "/healthz", query: [:])),
        ("/healthz?==", .parsed(path: "/healthz", query: [:])),
        ("/healthz?&=&", .parsed(path: "/healthz", query: [:])),
        ("/healthz?a&=", .parsed(path: "/healthz", query: ["a": ""])),
        ("/?=", .parsed(path: "/", query: [:])),
        ("/healthz", .parsed(path: "/healthz", query: [:])),
        ("/healthz?", .parsed(path: "/healthz", query: [:])),
        ("", .parsed(path: "", query: [:])),
        ("?", .parsed(path: "", query: [:])),
        ("/queue/delete?id=17", .parsed(path: "/queue/delete", query: ["id": "17"])),
        ("/queue?limit=5&after=3", .parsed(path: "/queue", query: ["limit": "5", "after": "3"])),
        ("/queue/retry?all=1=2", .parsed(path: "/queue/retry", query: ["all": "1=2"])),
        ("/x?k=a%20b&%41=%e2%82%ac", .parsed(path: "/x", query: ["k": "a b", "A": "€"])),
        ("/x?k=a+b", .parsed(path: "/x", query: ["k": "a+b"])),
        ("/x?a?b=c", .parsed(path: "/x", query: ["a?b": "c"])),
        ("/queue/delete?id=1&id=2", .refused(.repeatedParameter("id"))),
        ("/x?k=%", .refused(.malformedQuery("k=%"))),
        ("/x?k=%4", .refused(.malformedQuery("k=%4"))),
        ("/x?k=%zz", .refused(.malformedQuery("k=%zz"))),
        ("/x?%ff=1", .refused(.malformedQuery("%ff=1"))),
    ]

    @Test(arguments: table)
    func target(uri: String, outcome: Outcome) {
        let got: Outcome
        do {
            let request = try AdminRequest(method: .GET, uri: uri)
            got = .parsed(path: request.path, query: request.query)
        } catch {
            got = .refused(error)
        }
        #expect(got == outcome, "\(uri.debugDescription)")
    }
}
