/// `fastbackup(1)`, rendered from the command table (``Commands``): the same summaries, usage
/// lines and option texts `--help` prints, plus the sections a man page has and `--help` has
/// not (exit status, environment, files, examples). `fastbackup help:man | man -l -`.
enum ManPage {
    static func render() -> String {
        var out = [
            ".TH FASTBACKUP 1 \"\" \"fastbackup\" \"User Commands\"",
            ".SH NAME",
            "fastbackup \\- fast, safe backups and rollbacks of a Magento 2 store",
            ".SH SYNOPSIS",
        ]
        for c in Commands.all where !c.usage.isEmpty {
            out.append(".B fastbackup \(escape(c.name))")
            out.append(escape(c.usage))
            out.append(".br")
        }
        out += [
            ".SH DESCRIPTION",
            "fastbackup replaces Magento's \\fBbin/magento setup:backup\\fR, \\fBsetup:rollback\\fR and",
            "\\fBinfo:backups:list\\fR with the same commands, options, file names",
            "(\\fIvar/backups/<ts>_filesystem_code.tgz\\fR, \\fI<ts>_filesystem_media.tgz\\fR, \\fI<ts>_db.sql\\fR)",
            "and console lines. Archives open with GNU tar, gzip and 7-Zip; dumps load with the mariadb client.",
            "A rollback stages the backup beside the live tree and swaps it in only when the whole archive",
            "was read and checked.",
        ]
        for c in Commands.all {
            out.append(".SH \(escape(c.name.uppercased()))")
            out.append(escape(c.summary) + ".")
            if !c.usage.isEmpty {
                out.append(".PP")
                out.append(".B fastbackup \(escape(c.name)) \(escape(c.usage))")
            }
            for s in c.allSpecs {
                out.append(".TP")
                var left = s.short.map { "\\fB\\-\($0)\\fR, " } ?? ""
                left += "\\fB\\-\\-\(escape(s.long))\\fR"
                if s.takesValue { left += "=\\fI\(escape(s.valueName))\\fR" }
                out.append(left)
                out.append(escape(s.help + (s.repeatable ? " (repeatable)" : "")))
            }
        }
        out += [
            ".SH EXIT STATUS",
            "0 on success; 1 on any error (the message on stderr says what and where);",
            "128 plus the signal's number when SIGINT, SIGTERM or SIGHUP stops a run.",
            ".SH ENVIRONMENT",
            ".TP", "\\fBFASTBACKUP_DB_PASSWORD\\fR", "The database password, instead of the one in app/etc/env.php (never on the command line).",
            ".TP", "\\fBAWS_ACCESS_KEY_ID\\fR, \\fBAWS_SECRET_ACCESS_KEY\\fR, \\fBAWS_SESSION_TOKEN\\fR",
            "Object store credentials for \\-\\-target (or a profile of ~/.aws/credentials).",
            ".TP", "\\fBAWS_REGION\\fR, \\fBAWS_DEFAULT_REGION\\fR, \\fBAWS_ENDPOINT_URL\\fR, \\fBAWS_PROFILE\\fR, \\fBAWS_CA_BUNDLE\\fR",
            "Region, endpoint of an S3-compatible store, profile of ~/.aws/config, and a private CA's certificates.",
            ".SH FILES",
            ".TP", "\\fIvar/backups/<ts>_filesystem_code.tgz\\fR, \\fI<ts>_filesystem_media.tgz\\fR, \\fI<ts>_db.sql\\fR",
            "The backups (\\fI.tar.zst\\fR, \\fI.sql.gz\\fR, \\fI.sql.zst\\fR with \\-\\-compression). Written under a hidden",
            "temporary name and linked into place when complete.",
            ".TP", "\\fIvar/.maintenance.flag\\fR", "Magento's maintenance flag, set during a backup and a rollback unless \\-\\-no\\-maintenance.",
            ".SH EXAMPLES",
            "Nightly, from cron, keeping a week of backups and a copy off the machine:",
            ".PP",
            ".nf",
            "30 2 * * * cd /var/www/magento && fastbackup setup:backup --db --media --keep 7 \\\\",
            "    --target s3://backups/shop --keep-local --verify -q",
            ".fi",
            ".PP",
            "During an incident: one folder of images back from last night, then the whole database:",
            ".PP",
            ".nf",
            "fastbackup info:backups:list",
            "fastbackup setup:rollback -m 1700000000_filesystem_media.tgz --only pub/media/catalog/product/a",
            "fastbackup setup:rollback -n -d 1700000000_db.sql",
            ".fi",
        ]
        return out.joined(separator: "\n")
    }

    /// roff: backslashes and a leading dot or quote would be read as requests.
    static func escape(_ text: String) -> String {
        var t = text.replacingOccurrences(of: "\\", with: "\\e").replacingOccurrences(of: "-", with: "\\-")
        if t.hasPrefix(".") || t.hasPrefix("'") { t = "\\&" + t }
        return t
    }
}
