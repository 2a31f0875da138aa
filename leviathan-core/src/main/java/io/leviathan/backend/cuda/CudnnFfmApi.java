package io.leviathan.backend.cuda;

import io.leviathan.bindings.cuda.CuDnn;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * {@link CudnnBackendApi} over the loaded cuDNN: each call goes to its binding and its status is checked, the
 * exception naming the call with its descriptor type or attribute id so a failure says which step of a graph
 * it was. Use it from one thread at a time (the out-parameters are reused).
 */
final class CudnnFfmApi implements CudnnBackendApi, AutoCloseable {
    private final CuDnn cudnn;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment descriptorOut = arena.allocate(ValueLayout.ADDRESS);
    private final MemorySegment countOut = arena.allocate(ValueLayout.JAVA_LONG);

    CudnnFfmApi(CuDnn cudnn) {
        this.cudnn = cudnn;
    }

    @Override
    public synchronized long create(int descriptorType) {
        cudnn.check("cudnnBackendCreateDescriptor(type " + descriptorType + ")",
                cudnn.cudnnBackendCreateDescriptor(descriptorType, descriptorOut));
        return descriptorOut.get(ValueLayout.ADDRESS, 0).address();
    }

    @Override
    public void setAttribute(long descriptor, int name, int type, long count, MemorySegment values) {
        cudnn.check("cudnnBackendSetAttribute(attribute " + name + ", type " + type + ", " + count + " elements)",
                cudnn.cudnnBackendSetAttribute(MemorySegment.ofAddress(descriptor), name, type, count, values));
    }

    @Override
    public synchronized long getAttribute(long descriptor, int name, int type, long requested, MemorySegment values) {
        cudnn.check("cudnnBackendGetAttribute(attribute " + name + ", type " + type + ")",
                cudnn.cudnnBackendGetAttribute(MemorySegment.ofAddress(descriptor), name, type, requested, countOut,
                        values));
        return countOut.get(ValueLayout.JAVA_LONG, 0);
    }

    @Override
    public void finalizeDescriptor(long descriptor) {
        cudnn.check("cudnnBackendFinalize", cudnn.cudnnBackendFinalize(MemorySegment.ofAddress(descriptor)));
    }

    @Override
    public void execute(long handle, long plan, long variantPack) {
        cudnn.check("cudnnBackendExecute", cudnn.cudnnBackendExecute(MemorySegment.ofAddress(handle),
                MemorySegment.ofAddress(plan), MemorySegment.ofAddress(variantPack)));
    }

    @Override
    public void destroy(long descriptor) {
        cudnn.check("cudnnBackendDestroyDescriptor", cudnn.cudnnBackendDestroyDescriptor(MemorySegment.ofAddress(descriptor)));
    }

    @Override
    public void close() {
        arena.close();
    }
}
