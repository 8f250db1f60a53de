import Foundation
import Logging

/// The swift-log handler of the `json` and `journald` formats: merges the metadata as
/// swift-log's own handlers do and writes each event as the format's line(s).
public struct LineLogHandler: LogHandler {
    /// The formats this handler writes (`text` is swift-log's `StreamLogHandler`).
    public enum Format: Sendable {
        case json, journald
    }

    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    public var logLevel: Logger.Level
    private let label: String
    private let format: Format
    private let output: LogOutput

    public init(label: String, level: Logger.Level, format: Format, output: LogOutput,
                metadataProvider: Logger.MetadataProvider? = LoggingSystem.metadataProvider) {
        self.label = label
        self.logLevel = level
        self.format = format
        self.output = output
        self.metadataProvider = metadataProvider
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let merged = EventMetadata.merge(base: metadata, provider: metadataProvider, event: event)
        switch format {
        case .json: output.write(JSONLine.line(event: event, label: label, metadata: merged, time: Date()))
        case .journald: output.write(JournaldLine.lines(event: event, label: label, metadata: merged))
        }
    }
}
