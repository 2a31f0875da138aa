package io.leviathan.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.leviathan.tensor.NativeMemory;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/** Fails a test that leaves native memory allocated: the accounting must return to where it started. */
final class NativeMemoryCheck implements BeforeEachCallback, AfterEachCallback {
    private static final ExtensionContext.Namespace NS = ExtensionContext.Namespace.create(NativeMemoryCheck.class);

    @Override
    public void beforeEach(ExtensionContext context) {
        context.getStore(NS).put("before", NativeMemory.allocatedBytes());
    }

    @Override
    public void afterEach(ExtensionContext context) {
        long before = context.getStore(NS).get("before", Long.class);
        assertEquals(before, NativeMemory.allocatedBytes(), "native memory accounting back to baseline after "
                + context.getDisplayName());
    }
}
