/// StreamTar: a streaming tar reader and writer.
public enum StreamTar {}
