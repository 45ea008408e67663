import DBStream
enum DatabaseSettings { static func load(root: MagentoRoot, options: ParsedOptions) throws -> DatabaseConfig { throw CommandError("DB not yet") } }
enum DatabaseBackup { static func write(config: DatabaseConfig, to path: String, threads: Int) throws { throw CommandError("DB not yet") } }
enum DatabaseRestore { static func run(config: DatabaseConfig, file: String, threads: Int) throws { throw CommandError("DB not yet") } }
