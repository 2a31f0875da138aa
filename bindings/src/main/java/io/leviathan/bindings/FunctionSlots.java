package io.leviathan.bindings;

import java.lang.invoke.MethodHandle;
import java.util.List;

/**
 * The downcall handles of one binding class: slot {@code i} holds the handle of {@code functions.get(i)},
 * linked on first use. A binding method names its slot and its {@link NativeFunction}, and the two must
 * agree, so a method calling through the wrong table entry fails at its first call instead of passing the
 * wrong arguments to C.
 */
public final class FunctionSlots {
    private final LinkedLibrary library;
    private final List<NativeFunction> functions;
    private final MethodHandle[] handles;

    public FunctionSlots(LinkedLibrary library, List<NativeFunction> functions) {
        this.library = library;
        this.functions = functions;
        this.handles = new MethodHandle[functions.size()];
    }

    /** The handle of {@code f}, which must be the function in slot {@code index}. */
    public MethodHandle handle(int index, NativeFunction f) {
        MethodHandle h = handles[index]; // a benign race: every thread links the same handle
        if (h == null) {
            if (functions.get(index) != f) {
                throw new IllegalStateException("binding slot " + index + " is " + functions.get(index).symbol()
                        + ", not " + f.symbol() + ": FUNCTIONS and the methods disagree");
            }
            h = library.handle(f);
            handles[index] = h;
        }
        return h;
    }

    /**
     * What a binding method throws when its downcall threw {@code t}: a runtime exception as is, an error
     * rethrown, anything else (a checked throwable, which a downcall does not raise) wrapped with the symbol.
     */
    public static RuntimeException rethrow(NativeFunction f, Throwable t) {
        if (t instanceof RuntimeException r) {
            return r;
        }
        if (t instanceof Error e) {
            throw e;
        }
        return new IllegalStateException(f.symbol() + " failed: " + t, t);
    }
}
