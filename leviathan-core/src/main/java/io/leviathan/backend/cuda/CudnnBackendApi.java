package io.leviathan.backend.cuda;

import java.lang.foreign.MemorySegment;

/**
 * cuDNN's backend (graph) API as the attention code calls it: descriptors are created, given attributes,
 * finalized, executed and destroyed. Descriptors and handles are raw addresses. Every method throws
 * {@link io.leviathan.bindings.NativeCallException} naming the call when cuDNN returns an error, so a caller
 * that can recover (an execution plan an engine declines) catches it and every other caller lets it travel.
 *
 * <p>Two implementations: {@link CudnnFfmApi} over the real library, and a recording fake in the tests that
 * pins the exact sequence of calls the descriptor builders make.
 */
interface CudnnBackendApi {

    /** {@code cudnnBackendCreateDescriptor(type, &d)}: a new descriptor of {@code type}. */
    long create(int descriptorType);

    /**
     * {@code cudnnBackendSetAttribute(d, name, type, count, values)}: {@code values} holds {@code count}
     * elements of the attribute type's C size.
     */
    void setAttribute(long descriptor, int name, int type, long count, MemorySegment values);

    /**
     * {@code cudnnBackendGetAttribute(d, name, type, requested, &count, values)}: fills up to {@code requested}
     * elements of {@code values} and returns how many the attribute has.
     */
    long getAttribute(long descriptor, int name, int type, long requested, MemorySegment values);

    /** {@code cudnnBackendFinalize(d)}. */
    void finalizeDescriptor(long descriptor);

    /** {@code cudnnBackendExecute(handle, plan, variantPack)}. */
    void execute(long handle, long plan, long variantPack);

    /** {@code cudnnBackendDestroyDescriptor(d)}. */
    void destroy(long descriptor);
}
