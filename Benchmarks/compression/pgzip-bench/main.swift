// pgzip-bench: stdin -> stdout driver for the ParallelGzip benchmark, plus a seeded generator of
// PHP-like source text. Usage:
//   pgzip-bench compress [--zstd] [--level N] [--threads N] [--chunk BYTES] [--stats]  < in > out
//   pgzip-bench decompress [--threads N]                                              < in > out
//   pgzip-bench gen-php SEED BYTES                                                    > out.php
//   pgzip-bench gen-noise SEED BYTES                                                  > out.jpg
import Glibc
import ParallelGzip

// Glibc only, like ParallelGzip: no Foundation to load at every start of this filter.
func writeAll(_ fd: Int32, _ p: UnsafeRawPointer, _ n: Int) {
    var off = 0
    while off < n {
        let w = write(fd, p + off, n - off)
        if w < 0 {
            if errno == EINTR { continue }
            fputs("pgzip-bench: write: \(String(cString: strerror(errno)))\n", stderr)
            exit(1)
        }
        off += w
    }
}

func writeAll(_ fd: Int32, _ s: String) {
    var s = s
    s.withUTF8 { writeAll(fd, $0.baseAddress!, $0.count) }
}

func fail(_ message: String) -> Never {
    writeAll(2, message + "\n")
    exit(1)
}

var args = Array(CommandLine.arguments.dropFirst())
guard let mode = args.first else { fail("usage: pgzip-bench compress|decompress|gen-php ...") }
args.removeFirst()
func option(_ name: String) -> Int? {
    guard let i = args.firstIndex(of: name), i + 1 < args.count, let v = Int(args[i + 1]) else { return nil }
    return v
}

let bufferSize = 1 << 20
let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: bufferSize, alignment: 64)

do {
    switch mode {
    case "compress":
        let options = CompressionOptions(codec: args.contains("--zstd") ? .zstd : .gzip, level: option("--level"),
                                         threads: option("--threads"), chunkSize: option("--chunk"))
        let c = try ParallelCompressor(outputFD: 1, path: "<stdout>", options: options)
        try c.write(contentsOf: 0, inputPath: "<stdin>")
        let st = try c.finish()
        if args.contains("--stats") {
            let ratio = (st.ratio * 10_000).rounded() / 10_000
            writeAll(2, "members \(st.members) stored \(st.storedMembers) fast \(st.fastMembers) strong \(st.strongMembers) "
                + "in \(st.inputBytes) out \(st.outputBytes) ratio \(ratio) "
                + "memoryBound \(ParallelCompressor.memoryBound(options))\n")
        }
    case "decompress":
        let d = try ParallelDecompressor(inputFD: 0, path: "<stdin>", threads: option("--threads"))
        while true {
            let n = try d.read(into: buffer)
            if n == 0 { break }
            var off = 0
            while off < n {
                let w = write(1, buffer.baseAddress! + off, n - off)
                if w < 0 { if errno == EINTR { continue }; fail("write: \(String(cString: strerror(errno)))") }
                off += w
            }
        }
    case "gen-php":
        guard args.count == 2, let seed = UInt64(args[0]), let bytes = Int(args[1]) else { fail("usage: gen-php SEED BYTES") }
        var g = PHPLikeText(seed: seed)
        var out: [UInt8] = []
        out.reserveCapacity(bytes + 4096)
        while out.count < bytes {
            out.append(contentsOf: g.nextFile().utf8)
        }
        out.withUnsafeBytes { writeAll(1, $0.baseAddress!, min(bytes, $0.count)) }
    case "gen-noise":
        // Stand-in for JPEG when the real corpus is absent: entropy-coded data does not compress.
        guard args.count == 2, var state = UInt64(args[0]), let bytes = Int(args[1]) else { fail("usage: gen-noise SEED BYTES") }
        var out = [UInt8](repeating: 0, count: bytes)
        for i in 0..<bytes {
            if i % 8 == 0 {
                state &+= 0x9E37_79B9_7F4A_7C15
                var z = state
                z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
                z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
                state = state ^ 0  // keep the sequence
                out.withUnsafeMutableBytes { p in
                    let v = (z ^ (z >> 31)).littleEndian
                    withUnsafeBytes(of: v) { vb in
                        for k in 0..<min(8, bytes - i) { p[i + k] = vb[k] }
                    }
                }
            }
        }
        out.withUnsafeBytes { if $0.count > 0 { writeAll(1, $0.baseAddress!, $0.count) } }
    default:
        fail("unknown mode \(mode)")
    }
} catch {
    fail("pgzip-bench: \(error)")
}
