import StreamTar
import ParallelGzip
import DBStream
print("fastbackup")
