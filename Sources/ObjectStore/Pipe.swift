import Foundation
import SystemCalls

/// The pipe between a transfer thread and the producer or consumer on the other side: not
/// inherited by child processes, and 1 MiB deep for fewer wake-ups between the two sides than
/// the default 64 KiB gives.
func transferPipe() throws -> (read: Int32, write: Int32) {
    do {
        let (read, write) = try FileDescriptor.pipe(capacity: 1 << 20)
        return (read.rawValue, write.rawValue)
    } catch {
        throw S3Error(.transport("cannot create a pipe: \(error)"))
    }
}
