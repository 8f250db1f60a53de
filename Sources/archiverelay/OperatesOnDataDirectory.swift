/// The operator commands that open a node's data directory: run by root, each takes on the
/// directory's owner first (`ArchiveRelay.main`, `DataDirectory.adoptOwner`). `archive
/// expire` learns its directory from the configuration and takes it on in `run`.
protocol OperatesOnDataDirectory {
    var dataDirectoryPath: String { get }
}

protocol ArchiveDataCommand: OperatesOnDataDirectory {
    var data: DataDirectoryOption { get }
}

extension ArchiveDataCommand {
    var dataDirectoryPath: String { data.dataDirectory }
}

protocol QueueDataCommand: OperatesOnDataDirectory {
    var target: QueueTarget { get }
}

extension QueueDataCommand {
    var dataDirectoryPath: String { target.dataDirectory }
}

extension ArchiveCommand.List: ArchiveDataCommand {}
extension ArchiveCommand.Search: ArchiveDataCommand {}
extension ArchiveCommand.Show: ArchiveDataCommand {}
extension ArchiveCommand.Get: ArchiveDataCommand {}
extension ArchiveCommand.Export: ArchiveDataCommand {}
extension ArchiveCommand.Verify: ArchiveDataCommand {}
extension ArchiveCommand.Expired: ArchiveDataCommand {}
extension ArchiveCommand.Stats: ArchiveDataCommand {}
extension ArchiveCommand.Reindex: ArchiveDataCommand {}
extension ArchiveCommand.Digest: ArchiveDataCommand {}
extension ArchiveCommand.Audit.Entries: ArchiveDataCommand {}
extension ArchiveCommand.Audit.Verify: ArchiveDataCommand {}
extension ArchiveCommand.Hold.Create: ArchiveDataCommand {}
extension ArchiveCommand.Hold.List: ArchiveDataCommand {}
extension ArchiveCommand.Hold.Show: ArchiveDataCommand {}
extension ArchiveCommand.Hold.Release: ArchiveDataCommand {}
/// Run by root into an empty directory the node's user owns, the restored files are that user's.
extension ArchiveCommand.Restore: OperatesOnDataDirectory {
    var dataDirectoryPath: String { directory }
}
extension QueueCommand.Dump: QueueDataCommand {}
extension QueueCommand.Show: QueueDataCommand {}
extension QueueCommand.Retry: QueueDataCommand {}
extension QueueCommand.Hold: QueueDataCommand {}
extension QueueCommand.Release: QueueDataCommand {}
extension QueueCommand.Delete: QueueDataCommand {}
