import Foundation
import JournalReport
import Testing

@Suite struct WrapperRecipeTests {
    /// Foundation's base64 (an encoder we did not write) is the oracle for the lines.
    @Test(arguments: [0, 1, 2, 3, 56, 57, 58, 1000], [4, 64, 76, 996])
    func base64LinesMatchFoundation(size: Int, lineLength: Int) throws {
        let original = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
        let recipe = WrapperRecipe(head: Array("head\r\n\r\n".utf8), encoding: .base64(lineLength: lineLength),
                                   tail: Array("\r\n--b--\r\n".utf8))
        let expected = Data(original).base64EncodedString()
        var lines: [String] = []
        var rest = Substring(expected)
        while !rest.isEmpty { lines.append(String(rest.prefix(lineLength))); rest = rest.dropFirst(lineLength) }
        let rebuilt = recipe.reconstruct(original: original)
        #expect(rebuilt == Array(("head\r\n\r\n" + lines.joined(separator: "\r\n") + "\r\n--b--\r\n").utf8))
        #expect(rebuilt.count == recipe.head.count + recipe.encodedSize(originalSize: size) + recipe.tail.count)
        #expect(try WrapperRecipe(decoding: recipe.encoded) == recipe)
    }

    @Test func identityAndStoredForm() throws {
        let recipe = WrapperRecipe(head: [1, 2], encoding: .identity, tail: [])
        #expect(recipe.reconstruct(original: [9, 9]) == [1, 2, 9, 9])
        #expect(try WrapperRecipe(decoding: recipe.encoded) == recipe)
        var bad = recipe.encoded
        bad.append(0)
        #expect(throws: WrapperRecipe.DecodingError.self) { try WrapperRecipe(decoding: bad) }
        #expect(throws: WrapperRecipe.DecodingError.self) { try WrapperRecipe(decoding: recipe.encoded.dropLast()) }
        #expect(throws: WrapperRecipe.DecodingError.self) { try WrapperRecipe(decoding: [1, 3, 0] + [UInt8](repeating: 0, count: 8)) }
    }
}
