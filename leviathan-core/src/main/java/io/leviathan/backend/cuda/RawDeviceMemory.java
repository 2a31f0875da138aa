package io.leviathan.backend.cuda;

/**
 * Device memory as the driver hands it out, below the cache: {@link CachingDeviceMemory} calls this only
 * when no cached block fits. Addresses are plain {@code long}s. Implementations are stream-ordered (they
 * allocate, free and zero on the backend's one stream), so a block freed here is not reused before the work
 * that read it has run.
 */
interface RawDeviceMemory {

    /** A new block of at least {@code bytes} bytes, aligned to at least 256 bytes. */
    long allocate(long bytes);

    /** Returns a block that {@link #allocate} handed out. */
    void free(long address);

    /** Sets {@code bytes} bytes from {@code address} to zero (ordered after earlier work). */
    void zero(long address, long bytes);
}
