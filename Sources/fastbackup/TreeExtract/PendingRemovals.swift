/// Trees a rollback replaced, removed after the store leaves maintenance mode.
///
/// Deleting the old tree takes about as long as creating the new one, and the store does not
/// need to wait for it: once the swaps are done the old trees are just folders named
/// `.fastbackup-old-*` beside the live ones. A run stopped before removing them leaves them for
/// the next run's recovery, which removes them with a message. A later step that is short of
/// space to stage removes them first (``TreeRestore/pendingRemovals``).
final class PendingRemovals {
    struct Removal {
        let perform: () -> Void
    }

    private var removals: [Removal] = []

    var isEmpty: Bool { removals.isEmpty }

    func add(_ r: Removal?) {
        if let r { removals.append(r) }
    }

    /// Removes every pending tree, oldest first.
    func performAll() {
        let now = removals
        removals.removeAll()
        for r in now { r.perform() }
    }
}
