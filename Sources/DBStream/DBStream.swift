import CMariaDB
/// DBStream: streaming SQL dump and restore.
public enum DBStream {}
