package io.leviathan.bindings;

import java.lang.foreign.FunctionDescriptor;

/**
 * One C function a binding class calls: its exported symbol and its signature. Binding classes list theirs
 * in a {@code FUNCTIONS} constant so tests can check every signature against the C declarations.
 *
 * @param symbol the symbol as exported (for CUDA 13 the versioned one, {@code cuMemAlloc_v2})
 * @param descriptor the FFM signature
 * @param declaration the C prototype as the header declares it, for messages and the header check
 */
public record NativeFunction(String symbol, FunctionDescriptor descriptor, String declaration) {}
