import Dispatch
import SystemCalls
import ThreadKit

/// Starts a pipeline thread (``ThreadStack/standard`` stack) whose completion `group` tracks;
/// a refusal is this module's `.engine` error with the errno, and the caller then stops the
/// threads it already started.
func startPipelineThread(_ name: String, _ group: DispatchGroup, path: String, _ body: @escaping () -> Void) throws {
    do {
        try startThread(named: name, stackSize: ThreadStack.standard, group: group, body)
    } catch {
        throw CompressionError(.engine, path: path, errno: error.errno.rawValue, detail: "cannot start thread \(name)")
    }
}
