import CZlib
import CZstd
import CISAL
import CDeflate
/// ParallelGzip: parallel multi-member gzip.
public enum ParallelGzip {}
