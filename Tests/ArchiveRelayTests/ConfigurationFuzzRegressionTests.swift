import RelayConfiguration
import Testing

/// Inputs on which toml++ failed an assertion under `FuzzConfigDecoder` (Fuzz/), their
/// neighbours, and the NUL that TOMLKit cut the text at: each must now be a located
/// problem, not an abort or a silently shortened file.
struct ConfigurationFuzzRegressionTests {
    static let headerError = "not valid TOML: Error while parsing table header: expected bare key starting character or string delimiter, saw "
    static let arrayError = "not valid TOML: Error while parsing array: expected value or closing ']', saw "
    static let timeError = "not valid TOML: Error while parsing value: expected a time after the date, saw "

    /// toml++ asserted on a table header whose key starts with no key character.
    @Test(arguments: [
        // The fuzzer's input.
        ("[nod2e]\nid = \"a\"\n\n[,]\nid = \"a\"[listener]\nname = \"x\"\n", "line 4, column 2: \(headerError)','"),
        ("[[=x]]\n", "line 1, column 3: \(headerError)'='"),
        ("[node]\n  [\t{a}]\n", "line 2, column 5: \(headerError)'{'"),
        ("a = 1\n[\n", "line 2, column 2: \(headerError)'\\n'"),
        ("# é\n[é]\n", "line 2, column 2: \(headerError)'é'"),
        ("\u{FEFF}[+]\n", "line 1, column 3: \(headerError)'+'"),
        // The fuzzer's second: the header before a NUL is what toml++ reads.
        ("[\u{1}\u{0}\u{0} = \"a b\"\n", "line 1, column 2: \(headerError)'\\u{01}'"),
        // An earlier error is still the one reported, in toml++'s words.
        ("a = \n[,]\n", "line 1, column 5: not valid TOML: Error while parsing key-value pair: expected value, saw '\\n'"),
        ("[ [x]]\n[,]\n", "line 1, column 3: not valid TOML: Error while parsing table header: [[array-of-table]] brackets must be contiguous (i.e. [ [ this ] ] is prohibited)"),
    ])
    func unreadableTableHeaderIsAProblem(text: String, expected: String) {
        #expect(ConfigurationCheckTests.errors(text) == [expected])
    }

    /// toml++ asserted where an array expects a value and finds `}` or a non-ASCII line
    /// break, and on a date followed by a space and one digit.
    @Test(arguments: [
        // The fuzzer's third, its first line.
        ("a = [[[[[[} }\n", "line 1, column 11: \(arrayError)'}'"),
        ("a = [1,\n  # c\n  }]\n", "line 3, column 3: \(arrayError)'}'"),
        ("a = { b = [\u{2028}] }\n", "line 1, column 12: \(arrayError)'\u{2028}'"),
        ("a = [2020-01-01 1]\n", "line 1, column 18: \(timeError)']'"),
        ("a = 2020-01-01 1\n", "line 1, column 17: \(timeError)'\\n'"),
        ("a = 2_020-01-01 1 # c\n", "line 1, column 18: \(timeError)' '"),
        // The fuzzer's fourth (make soak, 2026-11-29), cut to its first line: a date, `T`,
        // then no time, inside inline tables.
        ("a = [[[[[[1]]]]]]\nb = { c = { d = 1979-05-27T\u{1A}\u{1A}07:32:00ddress = Z } }\n", "line 2, column 28: \(timeError)'\\u{1A}'"),
        ("a = 1979-05-27t\n", "line 1, column 16: \(timeError)'\\n'"),
        ("a = [1979-05-27T]\n", "line 1, column 17: \(timeError)']'"),
        // The fuzzer's fifth: the same, then NUL, where the text ends.
        ("b = { d = 1979-05-27T\u{0}\u{0}~ }\n", "line 1, column 21: \(timeError)'T'"),
        ("a = 1979-05-27T", "line 1, column 15: \(timeError)'T'"),
    ])
    func unreadableValueIsAProblem(text: String, expected: String) {
        #expect(ConfigurationCheckTests.errors(text) == [expected])
    }

    /// What only looks like those: brackets and dates inside values, strings and comments.
    @Test(arguments: [
        "a = [\n  [{ b = 1 }],\n  [+1],\n]\n",
        "a = \"\"\"\n[,]\n\"\"\"\n",
        "a = \"\"\"\\\"\"\"\"\n",
        "a = '''\n[=]\n'''''\n",
        "a = \"[,] \\\" [,]\" # [,]\n",
        "a = { b = [1, [2]] }\n[x] # [,]\n[[y]]\n",
        "a = [1, 2]\nb = [ # }\n  ]\nc = [\"}\", '}']\n",
        "a = 2020-01-01 10:00:00\nb = [2020-01-01, 1]\nc = 2020-01-01\n",
        "a = 1979-05-27T07:32:00Z\nb = { 1979-05-27Tx = 1 }\nc = [1979-05-27t07:32:00]\n",
    ])
    func lookalikesAreNotProblems(text: String) {
        #expect(ConfigurationCheckTests.errors(text).filter { $0.contains("not valid TOML") } == [])
    }

    /// TOMLKit hands toml++ a C string: without the check, everything after a NUL was
    /// silently ignored (here a route that fails the check) and the file passed.
    @Test func nulCharacterIsAProblem() {
        let text = ConfigurationCheckTests.base + "[[route]]\nname = \"r\"\n\u{0}\n[[route]]\nname = \"lost\"\narchive = false\n"
        #expect(ConfigurationCheckTests.errors(text) == ["line 19, column 1: not valid TOML: a NUL character, which TOML does not allow"])
    }
}
